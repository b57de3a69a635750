"""Fixtures for `edgetrt deploy` over SSH: real sshd on loopback, a device file, the real CLI.

The sshd runs on this machine as the current user, so the "device" is this machine: the device
file's ``python:`` names this interpreter (it has numpy, onnxruntime and tensorflow), and tests
check what arrived under the remote root with plain ``os`` calls, independently of edgetrt.
The SSH server code is tests/device/sshd_server.py, imported here, not copied.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent / "device"), str(HERE)]
from sshd_server import SSHServer, sshd_missing_reason  # noqa: E402
from deploy_cli import Deployer  # noqa: E402


def _require_sshd():
    reason = sshd_missing_reason()
    if reason:
        pytest.skip(f"deploy-over-SSH tests need a real OpenSSH server: {reason}")


@pytest.fixture(autouse=True)
def _no_ssh_agent(monkeypatch):
    # Tests offer exactly the keys they name; a developer's agent must not change outcomes.
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)


@pytest.fixture(scope="session")
def sshd(tmp_path_factory):
    """One sshd for the whole session (read-only use: do not stop it or edit its files)."""
    _require_sshd()
    server = SSHServer.start(tmp_path_factory.mktemp("deploy-sshd"))
    yield server
    server.stop()


@pytest.fixture
def fresh_sshd(tmp_path):
    """sshd servers of this test's own, free to stop or re-key; all stopped afterwards."""
    _require_sshd()
    servers = []

    def start(**kwargs):
        server = SSHServer.start(tmp_path / f"sshd{len(servers)}", **kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def deployer(tmp_path):
    return Deployer(tmp_path / "host")
