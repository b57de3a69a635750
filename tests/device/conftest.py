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
from sshd_server import SSHServer, fresh_sshd, ssh_transport, sshd, _no_ssh_agent  # noqa: E402,F401

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


@pytest.fixture(params=["local", "ssh"])
def device(request, tmp_path):
    if request.param == "local":
        transport = LocalTransport()
    else:
        transport = ssh_transport(request.getfixturevalue("sshd"))
    yield Device(transport, str(tmp_path / "device-home" / ".edgetrt"))
    transport.close()
