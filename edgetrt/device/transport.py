"""The seam between the host and a device: run a command, move bytes, rename atomically.

Two implementations: :class:`LocalTransport` (the host is the device) and the SSH one in
``edgetrt.device.ssh``. Everything above this layer (the content-addressed store, deploy, bench)
is written once against :class:`Transport`, so ``--device local`` exercises the same path as a
real Jetson.
"""

from __future__ import annotations

import abc
import errno
import os
import select
import selectors
import shutil
import stat
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
    #: the command wrote more than ``max_stdout`` bytes: it was stopped and stdout cut there
    stdout_truncated: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def stderr_tail(self, lines: int = 5) -> str:
        text = self.stderr.decode("utf-8", "replace").strip().splitlines()
        return "\n".join(text[-lines:])


class LineTooLong(TransportError):
    """A device wrote more than RemoteProcess.MAX_LINE bytes without a newline."""


class RemoteProcess(abc.ABC):
    """A command started on the device whose output is read while it runs (see Transport.start)."""

    argv: tuple[str, ...] = ()
    #: the longest line readline() takes: a device that writes without a newline cannot exhaust
    #: this host (the agent's longest line, a run document, is bounded well under it)
    MAX_LINE = 1 << 24

    @abc.abstractmethod
    def readline(self, timeout: float) -> bytes:
        """The next line of stdout (without its newline); b"" once output ended without one."""

    @abc.abstractmethod
    def wait(self, timeout: float | None = None, max_stdout: int | None = None) -> CommandResult:
        """Collect the rest of the output and the exit status (what readline() took included);
        past ``max_stdout`` bytes of the rest, stop reading and the command (stdout_truncated)."""

    def write(self, data: bytes) -> None:
        """More input, for a command started with ``hold_stdin`` (a session's next request)."""
        raise NotImplementedError

    #: what one read of a file sent on stdin takes: one buffer, refilled (a new object per read
    #: would fault its pages in again)
    SEND_BLOCK = 1 << 20

    def send_file(self, local: Path, offset: int, count: int, progress: ProgressCallback | None = None,
                  stall: float = 60.0) -> int:
        """Send ``count`` bytes of ``local`` from ``offset`` as input (``hold_stdin``): the bytes sent.
        A device that takes nothing for ``stall`` seconds fails it, as a lost connection does."""
        view = memoryview(bytearray(self.SEND_BLOCK))
        sent = 0
        with open(local, "rb", buffering=0) as src:
            src.seek(offset)
            while sent < count:
                got = src.readinto(view[:min(self.SEND_BLOCK, count - sent)])
                if not got:
                    raise TransportError(f"{local} ended after {offset + sent} bytes while it was sent")
                self._send(view[:got], stall)
                sent += got
                if progress:
                    progress(got)
        return sent

    def _send(self, view: memoryview, stall: float) -> None:
        raise NotImplementedError

    def unread(self, result: CommandResult) -> bytes:
        """What ``result`` (this process's wait()) holds of stdout beyond the lines readline() took."""
        return result.stdout[len(self._taken):]

    @abc.abstractmethod
    def close(self) -> None:
        """Stop listening. The device process sees its stdout closed (and may stop by itself)."""

    def _line(self, buffer: bytearray) -> bytes | None:
        i = buffer.find(b"\n")
        if i < 0:
            return None
        line = bytes(buffer[:i])
        del buffer[:i + 1]
        self._taken += line + b"\n"
        return line

    _taken = b""


class Transport(abc.ABC):
    """Operations on one device. Paths are device paths (absolute, POSIX)."""

    #: a short name for messages: "local", "jetson@192.168.1.20:22"
    name: str = "device"

    @abc.abstractmethod
    def run(self, argv: Sequence[str], *, stdin: bytes | None = None,
            timeout: float | None = None, max_stdout: int | None = None,
            hold_stdin: bool = False) -> CommandResult:
        """Run ``argv`` on the device without a shell interpreting it (SSH quotes every word).

        ``max_stdout``: stop reading (and stop the command) past this many bytes of output, so a
        device that answers without end cannot exhaust the host. ``hold_stdin``: keep the
        command's standard input open until it ends, so the command sees end-of-file the moment
        this host goes away (the agent stops its measurements then).
        """

    @abc.abstractmethod
    def start(self, argv: Sequence[str], stdin: bytes | None = None, hold_stdin: bool = False) -> RemoteProcess:
        """Start ``argv`` and return at once; its output is read while it runs. ``stdin`` is all
        its standard input (then end-of-file); with ``hold_stdin`` its first input, more following
        by RemoteProcess.write, and end-of-file only when the process is closed or this host goes."""

    @abc.abstractmethod
    def home(self) -> str:
        """The login user's home directory on the device."""

    @abc.abstractmethod
    def write_bytes(self, data: bytes, remote: str) -> None:
        """Create or replace ``remote`` with ``data`` (small files); refuses a symbolic link."""

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

    def __init__(self):
        self._running: set = set()  # commands now running, stopped by close()

    def run(self, argv, *, stdin=None, timeout=None, max_stdout=None, hold_stdin=False):
        started = time.monotonic()
        try:
            proc = subprocess.Popen(list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE)
        except FileNotFoundError as exc:
            raise TransportError(f"cannot run {argv[0]!r} on the local device: {exc.strerror}") from exc
        self._running.add(proc)
        try:
            out, err, truncated = _collect_process(proc, stdin, timeout, max_stdout, hold_stdin)
        except BaseException:
            # Ctrl-C or an error here: the command must not outlive this host's interest in it.
            _stop(proc)
            raise
        finally:
            self._running.discard(proc)
        if out is None:
            _stop(proc)
            raise TransportError(f"{argv[0]} on the local device did not finish within {timeout:.0f} s")
        return CommandResult(tuple(argv), proc.returncode, out, err, time.monotonic() - started,
                             stdout_truncated=truncated)

    def close(self):
        """Stop what still runs (an interrupted host: the agent sees its stdin close and stops)."""
        for proc in list(self._running):
            _stop(proc)

    def start(self, argv, stdin=None, hold_stdin=False):
        try:
            return _LocalProcess(list(argv), stdin, hold_stdin, self._running)
        except FileNotFoundError as exc:
            raise TransportError(f"cannot run {argv[0]!r} on the local device: {exc.strerror}") from exc

    def home(self):
        return str(Path.home())

    def _open_for_writing(self, remote: str, flags: int) -> int:
        try:
            return os.open(remote, flags | os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise TransportError(f"refusing to write {remote} on the local device: it is a "
                                     "symbolic link") from exc
            raise TransportError(f"cannot write {remote} on the local device: {exc.strerror}") from exc

    def write_bytes(self, data, remote):
        with os.fdopen(self._open_for_writing(remote, os.O_CREAT | os.O_TRUNC), "wb") as fh:
            fh.write(data)

    def read_bytes(self, remote):
        with open(remote, "rb") as fh:
            return fh.read()

    def size(self, remote):
        try:
            st = os.stat(remote)
        except FileNotFoundError:
            return None
        return st.st_size if stat.S_ISREG(st.st_mode) else None  # as SSHTransport.size

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


def _stop(proc: subprocess.Popen) -> None:
    """Close the command's stdin (the agent's cue to stop its runs), then make sure it ends."""
    for stream in (proc.stdin,):
        try:
            if stream:
                stream.close()
        except OSError:
            pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _collect_process(proc, stdin, timeout, max_stdout, hold_stdin):
    """(stdout, stderr, truncated) of a running process, reading both pipes as they fill;
    (None, None, False) when ``timeout`` passes first."""
    import threading

    out, err = bytearray(), bytearray()
    truncated = threading.Event()

    def drain(stream, sink, cap):
        for chunk in iter(lambda: stream.read1(1 << 16) if hasattr(stream, "read1") else stream.read(1 << 16), b""):
            if cap is not None and len(sink) + len(chunk) > cap:
                sink += chunk[:cap - len(sink)]
                truncated.set()
                proc.kill()
                break
            sink += chunk
        stream.close()

    readers = [threading.Thread(target=drain, args=(proc.stdout, out, max_stdout), daemon=True),
               threading.Thread(target=drain, args=(proc.stderr, err, 1 << 20), daemon=True)]
    for reader in readers:
        reader.start()
    try:
        if stdin:
            proc.stdin.write(stdin)
            proc.stdin.flush()
    except BrokenPipeError:
        pass
    if not hold_stdin:
        proc.stdin.close()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, None, False
    for reader in readers:
        reader.join(5)
    if proc.stdin and not proc.stdin.closed:
        proc.stdin.close()
    return bytes(out), bytes(err), truncated.is_set()


class _LocalProcess(RemoteProcess):
    def __init__(self, argv: list[str], stdin: bytes | None = None, hold_stdin: bool = False,
                 running: set | None = None):
        self.argv = tuple(argv)
        self._started = time.monotonic()
        piped = stdin is not None or hold_stdin
        self._proc = subprocess.Popen(argv, stdin=subprocess.PIPE if piped else subprocess.DEVNULL,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # the transport's close() (Ctrl-C) stops it like any command of run()
        self._running = running if running is not None else set()
        self._running.add(self._proc)
        if stdin:
            # Small (a request document) and read whole by the command before it writes: no deadlock.
            self.write(stdin)
        if piped and not hold_stdin:
            self._proc.stdin.close()
        self._out, self._err = bytearray(), bytearray()
        self._open = {self._proc.stdout.fileno(): self._out, self._proc.stderr.fileno(): self._err}
        self._selector = selectors.DefaultSelector()
        for fd in self._open:
            self._selector.register(fd, selectors.EVENT_READ)
        self._truncated = False

    def write(self, data):
        try:
            self._proc.stdin.write(data)
            self._proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass  # it exited (or was closed) first: its output says why

    def _send(self, view, stall):
        fd = self._proc.stdin.fileno()
        while len(view):
            if not select.select([], [fd], [], stall)[1]:
                raise TransportError(f"the connection was lost ({self.argv[0]} took no data for {stall:g} s)")
            try:
                n = os.write(fd, view)
            except BrokenPipeError as exc:
                raise TransportError(f"{self.argv[0]} on the local device stopped reading its input") from exc
            view = view[n:]

    def _pump(self, deadline: float | None, want_line: bool, cap: int | None = None) -> bool:
        """Read what is ready until a line (want_line) or both pipes end; False on the deadline.
        Past ``cap`` bytes of stdout the command is killed and the rest not kept."""
        while self._open and not (want_line and b"\n" in self._out):
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return False
            for key, _ in self._selector.select(remaining):
                data = os.read(key.fd, 1 << 16)
                if not data:
                    self._selector.unregister(key.fd)
                    del self._open[key.fd]
                    continue
                sink = self._open[key.fd]
                limit = (cap if cap is not None else 1 << 62) if sink is self._out else 1 << 20
                if len(sink) + len(data) > limit:
                    if sink is self._out:
                        sink += data[:max(0, limit - len(sink))]
                        self._truncated = True
                        self._proc.kill()
                        return True
                    continue  # stderr past its first MiB: dropped (it only feeds error lines)
                sink += data
        return True

    def readline(self, timeout):
        if not self._pump(time.monotonic() + timeout, True, self.MAX_LINE):
            raise TransportError(f"{self.argv[0]} on the local device said nothing within {timeout:g} s")
        if self._truncated:
            raise LineTooLong(f"{self.argv[0]} on the local device wrote a line longer than "
                              f"{self.MAX_LINE >> 20} MiB")
        line = self._line(self._out)
        if line is None:
            line, self._out[:] = bytes(self._out), b""
            self._taken += line
        return line

    def wait(self, timeout=None, max_stdout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self._pump(deadline, False, None if max_stdout is None else len(self._out) + max_stdout):
            raise TransportError(f"{self.argv[0]} on the local device did not finish within {timeout:g} s")
        code = self._proc.wait()
        self._running.discard(self._proc)
        return CommandResult(self.argv, code, self._taken + bytes(self._out), bytes(self._err),
                             time.monotonic() - self._started, stdout_truncated=self._truncated)

    def close(self):
        self._selector.close()
        for pipe in (self._proc.stdin, self._proc.stdout, self._proc.stderr):
            try:
                if pipe:
                    pipe.close()
            except OSError:
                pass
        try:
            self._proc.wait(timeout=10)  # it notices the closed pipes (store_ops polls for them)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._running.discard(self._proc)
