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
from sshd_server import SSHServer, fresh_sshd, sshd, _no_ssh_agent  # noqa: E402,F401
from deploy_cli import Deployer  # noqa: E402


@pytest.fixture
def deployer(tmp_path):
    return Deployer(tmp_path / "host")
