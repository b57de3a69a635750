"""The seam between the host and a device: run a command, move bytes, rename atomically.

Two implementations: :class:`LocalTransport` (the host is the device) and the SSH one in
``edgetrt.device.ssh``. Everything above this layer (the content-addressed store, deploy, bench)
is written once against :class:`Transport`, so ``--device local`` exercises the same path as a
real Jetson.
"""

from __future__ import annotations

import abc
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from edgetrt.errors import TransportError

ProgressCallback = Callable[[int], None]
"""Called with the number of bytes just written."""


@dataclass(frozen=True)
class CommandResult:
    """What a command on the device did. A value, not an exception: callers decide."""

    argv: tuple[str, ...]
    exit_code: int
    stdout: bytes
    stderr: bytes
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def stderr_tail(self, lines: int = 5) -> str:
        text = self.stderr.decode("utf-8", "replace").strip().splitlines()
        return "\n".join(text[-lines:])


class Transport(abc.ABC):
    """Operations on one device. Paths are device paths (absolute, POSIX)."""

    #: a short name for messages: "local", "jetson@192.168.1.20:22"
    name: str = "device"

    @abc.abstractmethod
    def run(self, argv: Sequence[str], *, stdin: bytes | None = None,
            timeout: float | None = None) -> CommandResult:
        """Run ``argv`` on the device without a shell interpreting it (SSH quotes every word)."""

    @abc.abstractmethod
    def home(self) -> str:
        """The login user's home directory on the device."""

    @abc.abstractmethod
    def write_file(self, local: Path, remote: str, *, offset: int = 0,
                   progress: ProgressCallback | None = None) -> int:
        """Copy ``local[offset:]`` to ``remote`` starting at ``offset`` (resume); return bytes sent."""

    @abc.abstractmethod
    def write_bytes(self, data: bytes, remote: str) -> None:
        """Create or replace ``remote`` with ``data`` (small files: manifests, job specs)."""

    @abc.abstractmethod
    def read_bytes(self, remote: str) -> bytes:
        """Read a small file from the device."""

    @abc.abstractmethod
    def size(self, remote: str) -> int | None:
        """Size of a regular file, or None when it does not exist."""

    @abc.abstractmethod
    def rename(self, src: str, dst: str) -> None:
        """Atomically replace ``dst`` with ``src`` (same filesystem)."""

    @abc.abstractmethod
    def makedirs(self, remote: str) -> None:
        """mkdir -p."""

    @abc.abstractmethod
    def remove(self, remote: str) -> None:
        """Remove a file if it exists."""

    @abc.abstractmethod
    def symlink(self, target: str, link: str) -> None:
        """Create ``link`` pointing at ``target`` (replacing nothing: the link must not exist)."""

    def close(self) -> None:
        """Release the connection (no-op for local)."""

    def __enter__(self) -> "Transport":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class LocalTransport(Transport):
    """The host itself as the device: the same operations on the local filesystem."""

    name = "local"

    def run(self, argv, *, stdin=None, timeout=None):
        started = time.monotonic()
        try:
            proc = subprocess.run(list(argv), input=stdin, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, timeout=timeout)
        except FileNotFoundError as exc:
            raise TransportError(f"cannot run {argv[0]!r} on the local device: {exc.strerror}") from exc
        except subprocess.TimeoutExpired as exc:
            raise TransportError(f"{argv[0]} on the local device did not finish within {timeout:.0f} s") from exc
        return CommandResult(tuple(argv), proc.returncode, proc.stdout, proc.stderr,
                             time.monotonic() - started)

    def home(self):
        return str(Path.home())

    def write_file(self, local, remote, *, offset=0, progress=None):
        sent = 0
        mode = "r+b" if offset and os.path.exists(remote) else "wb"
        with open(local, "rb") as src, open(remote, mode) as dst:
            src.seek(offset)
            dst.seek(offset)
            dst.truncate()
            while True:
                chunk = src.read(1 << 20)
                if not chunk:
                    break
                dst.write(chunk)
                sent += len(chunk)
                if progress:
                    progress(len(chunk))
            dst.flush()
            os.fsync(dst.fileno())
        return sent

    def write_bytes(self, data, remote):
        with open(remote, "wb") as fh:
            fh.write(data)

    def read_bytes(self, remote):
        with open(remote, "rb") as fh:
            return fh.read()

    def size(self, remote):
        try:
            st = os.stat(remote)
        except FileNotFoundError:
            return None
        return st.st_size

    def rename(self, src, dst):
        os.replace(src, dst)

    def makedirs(self, remote):
        os.makedirs(remote, exist_ok=True)

    def remove(self, remote):
        try:
            os.remove(remote)
        except FileNotFoundError:
            pass
        except IsADirectoryError:
            shutil.rmtree(remote)

    def symlink(self, target, link):
        os.symlink(target, link)
