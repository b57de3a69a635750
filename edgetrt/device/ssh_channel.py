"""Commands on one SSH channel: run to the end (``collect``) or read while they run.

Split from ssh.py, which connects and moves files; both use these.
"""

from __future__ import annotations

import select
import socket
import time

import paramiko

from edgetrt.device.transport import CommandResult, LineTooLong, RemoteProcess
from edgetrt.errors import TransportError


def wait_readable(chan: paramiko.Channel, timeout: float) -> None:
    """Wait until ``chan`` has something to read, at most ``timeout`` seconds. The device may close
    the channel in between (paramiko then closes the pipe select() waits on: EBADF): that is an
    answer too, which the caller's next look at the channel reads."""
    try:
        select.select([chan], [], [], timeout)
    except (OSError, ValueError):
        if not chan.closed:
            raise


def collect(chan: paramiko.Channel, deadline: float | None, max_stdout: int | None = None):
    """(stdout, stderr, truncated) once the command ends; (None, None, False) past ``deadline``.

    Output beyond ``max_stdout`` is not read: the caller closes the channel and the answer is
    marked truncated, so a device that writes without end cannot exhaust this host. stderr is kept
    to its first MiB (it only feeds error lines)."""
    out, err = bytearray(), bytearray()
    while True:
        while chan.recv_ready():
            out += chan.recv(1 << 20)
            if max_stdout is not None and len(out) > max_stdout:
                return bytes(out[:max_stdout]), bytes(err), True
        while chan.recv_stderr_ready():
            chunk = chan.recv_stderr(1 << 20)
            if len(err) < (1 << 20):
                err += chunk
        if chan.exit_status_ready() and not chan.recv_ready() and not chan.recv_stderr_ready():
            if chan.eof_received or chan.closed:
                return bytes(out), bytes(err), False
        if chan.closed and not chan.exit_status_ready():
            # Closed by this host (an interrupt) or a dropped connection: no exit status will come.
            raise EOFError("the connection closed before the command ended")
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            return None, None, False
        wait = 1.0 if remaining is None else min(remaining, 1.0)
        if chan.eof_received or chan.closed:
            chan.status_event.wait(wait)  # output done; only the exit status is missing
        else:
            wait_readable(chan, wait)


class ChannelProcess(RemoteProcess):
    """A command on an SSH channel, read while it runs (SSHTransport.start)."""

    def __init__(self, device: str, argv: tuple[str, ...], chan: paramiko.Channel):
        self.argv = argv
        self._device = device
        self._chan = chan
        self._started = time.monotonic()
        self._out, self._err = bytearray(), bytearray()

    def _failed(self, exc) -> TransportError:
        return TransportError(f"running {self.argv[0]} on {self._device} failed: "
                              f"{exc or type(exc).__name__}")

    def readline(self, timeout: float) -> bytes:
        chan, deadline = self._chan, time.monotonic() + timeout
        try:
            while b"\n" not in self._out:
                if len(self._out) > self.MAX_LINE:
                    raise LineTooLong(f"{self.argv[0]} on {self._device} wrote a line longer than "
                                      f"{self.MAX_LINE >> 20} MiB")
                if chan.recv_ready():
                    self._out += chan.recv(1 << 16)
                elif chan.recv_stderr_ready():
                    self._err += chan.recv_stderr(1 << 16)
                elif chan.eof_received or chan.closed:
                    line, self._out[:] = bytes(self._out), b""
                    self._taken += line
                    return line
                elif time.monotonic() >= deadline:
                    raise TransportError(f"{self.argv[0]} on {self._device} said nothing "
                                         f"within {timeout:g} s")
                else:
                    wait_readable(chan, 0.05)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise self._failed(exc) from exc
        return self._line(self._out)

    def write(self, data: bytes) -> None:
        try:
            self._chan.sendall(data)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise self._failed(exc) from exc

    def _send(self, view, stall):
        # Channel.send takes what the device's window allows and returns the count; sendall would
        # re-slice the rest of a large bytes object for every 32 KiB packet.
        chan = self._chan
        chan.settimeout(stall)  # a device that takes nothing for this long is gone
        try:
            while len(view):
                n = chan.send(view)
                if not n:
                    raise EOFError("the device closed the command's input")
                view = view[n:]
        except socket.timeout:
            # said whole: the upload's error line carries it as its reason
            raise TransportError(f"the connection was lost (the device took no data for {stall:g} s)") from None
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise self._failed(exc) from exc
        finally:
            chan.settimeout(None)

    def wait(self, timeout: float | None = None, max_stdout: int | None = None) -> CommandResult:
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            out, err, truncated = collect(self._chan, deadline, max_stdout)
            if out is None:
                raise TransportError(f"{self.argv[0]} on {self._device} did not finish "
                                     f"within {timeout:g} s")
            code = -1 if truncated else self._chan.recv_exit_status()
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise self._failed(exc) from exc
        if truncated:
            self.close()
        return CommandResult(self.argv, code, self._taken + bytes(self._out) + out,
                             bytes(self._err) + err, time.monotonic() - self._started,
                             stdout_truncated=truncated)

    def close(self) -> None:
        try:
            self._chan.close()
        except Exception:  # the connection may be gone already: nothing left to release
            pass
