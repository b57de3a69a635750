"""Fixtures for device tests: a ``device`` under test over each transport, and real sshd servers.

The SSH servers run on this machine as the current user, so the "device" filesystem is the local
one: tests check what arrived with plain ``os`` calls, independently of the transport under test.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from sshd_server import SSHServer, ssh_transport, sshd_missing_reason  # noqa: E402

from edgetrt.device.transport import LocalTransport, Transport  # noqa: E402


@dataclass
class Device:
    """A transport plus direct (non-transport) access to what it wrote."""

    transport: Transport
    root: str

    def read(self, path: str) -> bytes:
        return Path(path).read_bytes()

    def write(self, path: str, data: bytes) -> None:
        Path(path).write_bytes(data)

    def exists(self, path: str) -> bool:
        return os.path.lexists(path)

    def listdir(self, path: str) -> list[str]:
        return sorted(os.listdir(path))

    def readlink(self, path: str) -> str:
        return os.readlink(path)


def _require_sshd():
    reason = sshd_missing_reason()
    if reason:
        pytest.skip(f"SSH tests need a real OpenSSH server: {reason}")


@pytest.fixture(autouse=True)
def _no_ssh_agent(monkeypatch):
    # Tests offer exactly the keys they name; a developer's agent must not change outcomes.
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)


@pytest.fixture(scope="session")
def sshd(tmp_path_factory):
    """One sshd for the whole session (read-only use: do not stop it or edit its files)."""
    _require_sshd()
    server = SSHServer.start(tmp_path_factory.mktemp("sshd"))
    yield server
    server.stop()


@pytest.fixture
def fresh_sshd(tmp_path):
    """An sshd of this test's own, free to stop, restart or re-key."""
    _require_sshd()
    servers = []

    def start(**kwargs):
        server = SSHServer.start(tmp_path / f"sshd{len(servers)}", **kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(params=["local", "ssh"])
def device(request, tmp_path):
    if request.param == "local":
        transport = LocalTransport()
    else:
        transport = ssh_transport(request.getfixturevalue("sshd"))
    yield Device(transport, str(tmp_path / "device-home" / ".edgetrt"))
    transport.close()
