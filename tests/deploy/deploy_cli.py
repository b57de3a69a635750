"""Running `edgetrt deploy` against a loopback sshd, and checking what reached the device.

Imported by tests/deploy/conftest.py and the tests (not named conftest: see tests/device).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from sshd_server import SSHServer, keygen

REPO = Path(__file__).resolve().parents[2]
DEVICE = "loopback"


@dataclass
class Deploy:
    """One `python -m edgetrt deploy ...` run: the process, its JSON report (if any), wall time."""

    argv: list
    proc: subprocess.CompletedProcess
    seconds: float
    report: dict | None = None

    @property
    def ok(self) -> bool:
        """Every run ended ok (exit 0)."""
        return self.proc.returncode == 0

    @property
    def reported(self) -> bool:
        """The command finished its report (exit 0, or 1 when a run did not end ok)."""
        return self.proc.returncode in (0, 1) and self.report is not None

    def error_line(self) -> str:
        """The single `error:` line of a failed run (asserts there is exactly one, no traceback)."""
        assert self.proc.returncode != 0, f"expected a failure, got a report: {self.proc.stdout[-500:]}"
        text = self.proc.stderr + self.proc.stdout
        assert "Traceback" not in text, self.proc.stderr[-3000:]
        lines = [line for line in self.proc.stderr.splitlines() if line.startswith("error:")]
        assert len(lines) == 1, self.proc.stderr[-3000:]
        return lines[0]

    def describe(self) -> str:
        return f"exit {self.proc.returncode}; stderr: {self.proc.stderr[-3000:]}"


@dataclass
class Deployer:
    """Writes the device file and ssh config into a private $XDG_CONFIG_HOME and runs the CLI."""

    home: Path
    python: str = sys.executable
    env: dict = field(default_factory=dict)

    def __post_init__(self):
        self.config_home = self.home / "config"
        (self.config_home / "edgetrt" / "devices").mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env.pop("SSH_AUTH_SOCK", None)
        env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
        env["XDG_CONFIG_HOME"] = str(self.config_home)
        # EDGETRT_CACHE stays the session's (tests/conftest.py): mobilenet_v2 converts once.
        env["TF_CPP_MIN_LOG_LEVEL"] = "2"
        env.update(self.env)
        self.env = env

    def device_file(self, server: SSHServer, name: str = DEVICE, profile: str = "x86-gpu") -> Path:
        path = self.config_home / "edgetrt" / "devices" / f"{name}.yaml"
        path.write_text(
            f"name: {name}\nprofile: {profile}\n"
            f"description: this machine through sshd on 127.0.0.1:{server.port}\n"
            f"connection:\n  host: 127.0.0.1\n  port: {server.port}\n  user: {server.user}\n"
            f"python: {json.dumps(self.python)}\n")
        return path

    def ssh_config(self, key: Path, name: str = "ssh_config") -> Path:
        path = self.home / name
        path.write_text(f"Host 127.0.0.1\n  IdentityFile {key}\n  IdentitiesOnly yes\n")
        return path

    def run(self, model: str, server: SSHServer | None = None, *, remote_root: str | Path | None,
            host: str | None = None, known_hosts: Path | None = None, key: Path | None = None,
            extra: tuple = (), json_out: bool = True, timeout: float = 900,
            ssh_config: Path | None = None) -> Deploy:
        """Deploy ``model`` to ``server`` (its address, known_hosts and client key by default)."""
        if server is not None:
            self.device_file(server)
        host = host or server.address
        known_hosts = known_hosts or server.known_hosts
        ssh_config = ssh_config or self.ssh_config(key or server.client_key)
        argv = [sys.executable, "-m", "edgetrt", "deploy", model, "--device", DEVICE,
                "--host", host, "--known-hosts", str(known_hosts), "--ssh-config", str(ssh_config),
                *(("--remote-root", str(remote_root)) if remote_root is not None else ()), *extra]
        if json_out:
            argv.append("--json")
        started = time.monotonic()
        proc = subprocess.run(argv, capture_output=True, text=True, env=self.env, timeout=timeout,
                              cwd=REPO)
        result = Deploy(argv, proc, time.monotonic() - started)
        if proc.returncode in (0, 1) and json_out and proc.stdout.lstrip().startswith("{"):
            result.report = json.loads(proc.stdout)
        return result


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_store(root: Path) -> list[Path]:
    """Every file under ``root/store`` hashes to its own name; returns them."""
    files = sorted((root / "store").iterdir()) if (root / "store").is_dir() else []
    for path in files:
        assert path.is_file() and not path.is_symlink(), path
        assert sha256_of(path) == path.name, f"{path} does not hash to its name"
    return files


def tree(path: Path) -> dict[str, tuple]:
    """Everything under ``path`` (no symlink following): relative name → (kind, size)."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            full = Path(dirpath) / name
            st = full.lstat()
            kind = "link" if full.is_symlink() else "dir" if full.is_dir() else "file"
            found[str(full.relative_to(path))] = (kind, st.st_size if kind == "file" else 0)
    return found


def wait_for_sessions_to_end(server: SSHServer, timeout: float = 60.0, root: Path | None = None) -> None:
    """A dropped client's sshd session may still be writing what it had received; with ``root``,
    also until no part file under root/tmp is still locked by its device-side writer (only an
    unlocked part is resumed). A loaded machine reaps them late."""
    import fcntl

    deadline = time.monotonic() + timeout
    for part in sorted((Path(root) / "tmp").glob("*.part")) if root else []:
        while time.monotonic() < deadline:
            with open(part, "rb") as fh:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    fcntl.flock(fh, fcntl.LOCK_UN)
                    break
                except BlockingIOError:
                    time.sleep(0.05)
    while server._session_pids() and time.monotonic() < deadline:
        time.sleep(0.05)


def keygen_stranger(tmp_path: Path) -> Path:
    return keygen(tmp_path / "stranger_ed25519")


def fingerprint_of(key: Path) -> str:
    out = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", f"{key}.pub"],
                         check=True, capture_output=True, text=True).stdout
    return out.split()[1]


def tiny_onnx(path: Path) -> Path:
    """A real two-node ONNX model (MatMul + Relu, dynamic batch), written with onnx.helper."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.random.RandomState(0).randn(16, 8).astype("float32"), "W")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["h"]), helper.make_node("Relu", ["h"], ["y"])],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 8])],
        initializer=[weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path
