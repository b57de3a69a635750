"""Throwaway OpenSSH servers on 127.0.0.1 for tests and benchmarks.

``SSHServer.start(workdir)`` writes host keys, a client key, authorized_keys, a known_hosts file
and an sshd_config into ``workdir``, then runs ``/usr/sbin/sshd -D -e -f <config>`` as the current
user on a free loopback port. Key authentication only; no passwords exist anywhere.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SSHD = Path("/usr/sbin/sshd")
LOOPBACK = "127.0.0.1"


def sshd_missing_reason() -> str | None:
    """Why SSH tests cannot run here, or None when they can."""
    if not SSHD.exists():
        return f"{SSHD} not found (install openssh-server)"
    if shutil.which("ssh-keygen") is None:
        return "ssh-keygen not found (install openssh-client)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def keygen(path: Path, kind: str = "ed25519") -> Path:
    """A new unencrypted key pair at ``path`` / ``path.pub`` (test keys only)."""
    if path.exists():
        return path
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", "edgetrt-test", "-f", str(path)],
                   check=True, stdout=subprocess.DEVNULL)
    return path


def public_line(key_path: Path) -> str:
    """``<type> <base64>`` of a key pair's public half."""
    kind, blob = Path(str(key_path) + ".pub").read_text().split()[:2]
    return f"{kind} {blob}"


@dataclass
class SSHServer:
    workdir: Path
    port: int
    host_key: Path
    client_key: Path
    known_hosts: Path
    user: str = field(default_factory=getpass.getuser)
    process: subprocess.Popen | None = None
    log: Path | None = None

    @classmethod
    def start(cls, workdir: Path, *, port: int | None = None, host_key: Path | None = None,
              client_key: Path | None = None, extra_config: str = "") -> "SSHServer":
        reason = sshd_missing_reason()
        if reason:
            raise RuntimeError(reason)
        workdir = Path(workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        host_key = keygen(host_key or workdir / "host_ed25519")
        client_key = keygen(client_key or workdir / "client_ed25519")
        (workdir / "authorized_keys").write_text(public_line(client_key) + "\n")
        server = cls(workdir, port or free_port(), host_key, client_key, workdir / "known_hosts")
        server.known_hosts.write_text(f"{server.known_hosts_name} {public_line(host_key)}\n")
        config = workdir / "sshd_config"
        config.write_text("\n".join([
            f"ListenAddress {LOOPBACK}:{server.port}",
            f"HostKey {host_key}",
            f"PidFile {workdir / 'sshd.pid'}",
            f"AuthorizedKeysFile {workdir / 'authorized_keys'}",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PermitRootLogin prohibit-password",
            "StrictModes no",
            "UsePAM no",
            "UseDNS no",
            "Subsystem sftp internal-sftp",
            extra_config,
            "",
        ]))
        if os.geteuid() == 0:
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # privilege separation dir
        server.log = workdir / "sshd.log"
        with open(server.log, "ab") as log:
            server.process = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(config)],
                                              stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        server._wait_listening()
        return server

    @property
    def known_hosts_name(self) -> str:
        return f"[{LOOPBACK}]:{self.port}"

    @property
    def address(self) -> str:
        return f"{self.user}@{LOOPBACK}:{self.port}"

    def _wait_listening(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"sshd exited ({self.process.returncode}): {self.log.read_text()[-2000:]}")
            try:
                with socket.create_connection((LOOPBACK, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"sshd did not listen on {LOOPBACK}:{self.port} within {timeout} s")

    def _session_pids(self) -> list[int]:
        """Per-connection sshd children (they call setsid, so no process group catches them)."""
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.process.pid:
                    pids.append(int(entry.name))
        return pids

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            for pid in self._session_pids():
                try:
                    os.kill(pid, 15)
                except ProcessLookupError:
                    pass
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def __enter__(self) -> "SSHServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


# ---- edgetrt clients for a server (imported lazily: the server part needs no edgetrt) -------

def ssh_target(server, key=None, **overrides):
    from edgetrt.device.hostspec import SSHTarget

    fields = dict(host="127.0.0.1", port=server.port, user=server.user,
                  key_files=(Path(key or server.client_key),))
    fields.update(overrides)
    return SSHTarget(**fields)


def ssh_transport(server, key=None, **kwargs):
    from edgetrt.device.ssh import SSHTransport

    kwargs.setdefault("known_hosts", server.known_hosts)
    kwargs.setdefault("system_known_hosts", None)
    kwargs.setdefault("connect_timeout", 5)
    return SSHTransport(ssh_target(server, key), **kwargs)


# ---- pytest fixtures, imported by tests/device/conftest.py and tests/deploy/conftest.py ----------

def require_sshd():
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
    require_sshd()
    server = SSHServer.start(tmp_path_factory.mktemp("sshd"))
    yield server
    server.stop()


@pytest.fixture
def fresh_sshd(tmp_path):
    """sshd servers of this test's own, free to stop, restart or re-key; all stopped afterwards."""
    require_sshd()
    servers = []

    def start(**kwargs):
        server = SSHServer.start(tmp_path / f"sshd{len(servers)}", **kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
