"""The SSH transport: paramiko, strict host keys, key-only auth, fast SFTP uploads.

Connection setup follows OpenSSH's rules so a Jetson reachable with ``ssh jetson`` is reachable
here: known_hosts from the user and the system (hashed entries and ``[host]:port`` names
included), keys from ssh-agent and IdentityFile, ProxyJump through a ``direct-tcpip`` channel.
It never asks for or uses a password.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import shlex
import socket
import stat
import time
from pathlib import Path
from typing import Sequence

import paramiko

from edgetrt.device import known_hosts
from edgetrt.device.hostspec import SSHTarget
from edgetrt.device.ssh_channel import ChannelProcess, collect
from edgetrt.device.transport import CommandResult, RemoteProcess, Transport
from edgetrt.errors import ConfigError, HostKeyError, TransportError

# paramiko logs a traceback from its transport thread for every failed handshake (a server that
# never sends its banner, a dropped connection). Our errors say what happened in one line; a
# handler here keeps Python's last-resort handler from printing paramiko's to stderr. Whoever
# configures logging (--debug) still receives the records through propagation.
logging.getLogger("paramiko").addHandler(logging.NullHandler())

USER_KNOWN_HOSTS = Path("~/.ssh/known_hosts")
SYSTEM_KNOWN_HOSTS = Path("/etc/ssh/ssh_known_hosts")
DEFAULT_KEYS = ("id_ed25519", "id_ecdsa", "id_rsa")

# Measured with benchmarks/transfer.py (see its docstring): AES-GCM needs no separate MAC pass,
# which is the largest single win in paramiko's pure-Python packet loop.
PREFERRED_CIPHERS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com",
                     "aes128-ctr", "aes256-ctr", "aes192-ctr")
WINDOW_SIZE = 64 << 20          # what we let the device send us before it must wait
MAX_PACKET_SIZE = 1 << 15 << 2  # what we accept per packet (the device decides its own)
# RSA host keys are written "ssh-rsa" in known_hosts but negotiated as these signature algorithms
_KEY_ALGORITHMS = {"ssh-rsa": ("rsa-sha2-512", "rsa-sha2-256")}


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH-style ``SHA256:<base64, no padding>``."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def _proxy_exit(sock) -> str:
    """"the ProxyCommand exited 1: <its last stderr line>" when a ProxyCommand died, else ""."""
    process = getattr(sock, "process", None) if isinstance(sock, paramiko.ProxyCommand) else None
    if process is None:
        return ""
    try:
        code = process.wait(timeout=1)
    except Exception:  # still running: it is not why the handshake failed
        return ""
    tail = b""
    if process.stderr is not None:
        import fcntl

        fcntl.fcntl(process.stderr, fcntl.F_SETFL, os.O_NONBLOCK)
        try:
            tail = process.stderr.read(4096) or b""
        except OSError:
            pass
    lines = tail.decode("utf-8", "replace").strip().splitlines()
    return f"the ProxyCommand exited {code}" + (f": {lines[-1][:200]}" if lines else "")


class SSHTransport(Transport):
    """A device reached over SSH. Opens on first use; ``close()`` (or ``with``) releases it."""

    def __init__(self, target: SSHTarget, *, known_hosts: Path | str | None = None,
                 trust_new_host: bool = False, connect_timeout: float = 10.0,
                 use_agent: bool = True, system_known_hosts: Path | str | None = SYSTEM_KNOWN_HOSTS):
        self.target = target
        self.name = str(target)
        if known_hosts is None:
            known_hosts = target.known_hosts_files[0] if target.known_hosts_files else USER_KNOWN_HOSTS
        self.known_hosts = Path(os.path.expanduser(str(known_hosts)))
        self.system_known_hosts = Path(system_known_hosts) if system_known_hosts else None
        self.trust_new_host = trust_new_host
        self.connect_timeout = connect_timeout
        self.use_agent = use_agent
        self._transports: list[paramiko.Transport] = []  # jump hosts first, the device last
        self._sftp: paramiko.SFTPClient | None = None
        self._home: str | None = None

    # ---- connection ------------------------------------------------------------------------
    @property
    def connection(self) -> paramiko.Transport:
        if not self._transports or not self._transports[-1].is_active():
            self.close()
            self._transports = []
            try:
                self._connect(self.target)
            except BaseException:
                self.close()
                raise
        return self._transports[-1]

    @property
    def sftp(self) -> paramiko.SFTPClient:
        transport = self.connection
        if self._sftp is None or self._sftp.sock.closed:
            try:
                self._sftp = paramiko.SFTPClient.from_transport(
                    transport, window_size=WINDOW_SIZE, max_packet_size=MAX_PACKET_SIZE)
            except (paramiko.SSHException, EOFError, OSError) as exc:
                raise TransportError(f"cannot start SFTP on {self.name}: {exc or type(exc).__name__}",
                                     hint="the device's sshd needs an sftp Subsystem") from exc
        return self._sftp

    def _connect(self, target: SSHTarget) -> paramiko.Transport:
        """Open ``target`` (through its jump host, if any) and append it to ``_transports``."""
        where = f"cannot connect to {target}"
        if target.proxy_jump is not None:
            jump = self._connect(target.proxy_jump)
            where += f" via {target.proxy_jump}"
            try:
                sock = jump.open_channel("direct-tcpip", (target.host, target.port), ("127.0.0.1", 0),
                                         timeout=self.connect_timeout)
            except paramiko.ChannelException as exc:
                raise TransportError(f"{where}: the jump host refused ({exc.text})") from exc
            except (paramiko.SSHException, EOFError, OSError) as exc:
                raise TransportError(f"{where}: {exc or type(exc).__name__}") from exc
        elif target.proxy_command:
            where += " via its ProxyCommand"
            sock = self._proxy_command(target, where)
        else:
            sock = self._tcp_connect(target, where)

        transport = paramiko.Transport(sock, default_window_size=WINDOW_SIZE,
                                       default_max_packet_size=MAX_PACKET_SIZE)
        self._transports.append(transport)
        options = transport.get_security_options()
        options.ciphers = [c for c in PREFERRED_CIPHERS if c in options.ciphers] + \
                          [c for c in options.ciphers if c not in PREFERRED_CIPHERS]
        known = self._known_keys(target)
        wanted = {a for t in known.key_types for a in _KEY_ALGORITHMS.get(t, (t,))}
        if wanted:
            # Like OpenSSH: ask for a key type we already know, so a host with several keys
            # is not mistaken for a changed one.
            options.key_types = [k for k in options.key_types if k in wanted] + \
                                [k for k in options.key_types if k not in wanted]
        transport.use_compression(False)
        transport.banner_timeout = transport.handshake_timeout = self.connect_timeout
        try:
            transport.start_client(timeout=self.connect_timeout)
        except (paramiko.SSHException, EOFError, OSError) as exc:
            text = str(exc) or type(exc).__name__
            if "banner" in text.lower() or isinstance(exc, socket.timeout):
                text = f"no SSH greeting within {self.connect_timeout:g} s"
            text = _proxy_exit(sock) or text
            raise TransportError(f"{where}: SSH handshake failed ({text})") from exc
        if transport.host_key is None:  # start_client returns quietly on timeout
            # remote_version is set once the server's banner arrived: name which step it missed
            missing = "answer" if transport.remote_version else "SSH greeting"
            proxy = _proxy_exit(sock)
            raise TransportError(f"{where}: SSH handshake failed (no {missing} within "
                                 f"{self.connect_timeout:g} s{'; ' + proxy if proxy else ''})")
        self._check_host_key(target, transport.get_remote_server_key(), known)
        self._authenticate(transport, target)
        transport.set_keepalive(30)
        return transport

    def _proxy_command(self, target: SSHTarget, where: str) -> paramiko.ProxyCommand:
        # OpenSSH runs ProxyCommand with the user's shell ("exec" + the line): the same here, so
        # pipes and quotes in the user's own config mean what they mean to ssh. paramiko would
        # split the line itself and run it without a shell.
        try:
            sock = paramiko.ProxyCommand(shlex.join(["/bin/sh", "-c", "exec " + target.proxy_command]))
        except (paramiko.ProxyCommandFailure, OSError) as exc:
            raise TransportError(f"{where}: cannot start ProxyCommand {target.proxy_command!r}: {exc}") from exc
        sock.settimeout(self.connect_timeout)
        return sock

    def _tcp_connect(self, target: SSHTarget, where: str) -> socket.socket:
        try:
            sock = socket.create_connection((target.host, target.port), timeout=self.connect_timeout)
        except UnicodeError as exc:  # a name the IDNA codec refuses (a label over 63 characters)
            raise TransportError(f"{where}: {target.host[:60]!r} is not a valid host name") from exc
        except socket.gaierror as exc:
            raise TransportError(f"{where}: cannot resolve host name {target.host!r}",
                                 hint="check --host or the HostName in ~/.ssh/config") from exc
        except ConnectionRefusedError as exc:
            raise TransportError(f"{where}: connection refused",
                                 hint="is sshd running on the device, and is the port right?") from exc
        except (socket.timeout, TimeoutError) as exc:
            raise TransportError(f"{where}: no answer within {self.connect_timeout:g} s",
                                 hint="is the device on and on this network?") from exc
        except OSError as exc:
            raise TransportError(f"{where}: {exc.strerror or exc}") from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    # ---- host keys -------------------------------------------------------------------------
    def _known_files(self) -> list[Path]:
        files = [self.known_hosts]
        if self.system_known_hosts is not None:
            files.append(self.system_known_hosts)
        return files

    def _known_keys(self, target: SSHTarget) -> known_hosts.HostKeys:
        """What every known_hosts file says about ``target`` (read by us: markers understood)."""
        try:
            lines = known_hosts.load(self._known_files())
        except ConfigError as exc:
            raise HostKeyError(exc.message, hint=exc.hint) from exc
        return known_hosts.lookup(lines, target.known_hosts_name)

    def _check_host_key(self, target: SSHTarget, key: paramiko.PKey, known: known_hosts.HostKeys) -> None:
        name = target.known_hosts_name
        if known_hosts.check(known, name, key.get_name(), key.asbytes(), trust_new_host=self.trust_new_host,
                             user_file=self.known_hosts) == "new":
            self._record_host_key(target, key)

    def _record_host_key(self, target: SSHTarget, key: paramiko.PKey) -> None:
        path = self.known_hosts
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        line = known_hosts.record_line(target.known_hosts_name, key.get_name(), key.get_base64())
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size:
                # make sure we start on a new line even if the file lacks a final newline
                with open(path, "rb") as fh:
                    fh.seek(-1, os.SEEK_END)
                    if fh.read(1) != b"\n":
                        line = "\n" + line
            os.write(fd, line.encode())
        finally:
            os.close(fd)

    # ---- authentication --------------------------------------------------------------------
    def _authenticate(self, transport: paramiko.Transport, target: SSHTarget) -> None:
        offered, skipped = 0, []
        agent = paramiko.Agent() if self.use_agent else None
        try:
            candidates: list[paramiko.PKey] = []
            files = list(target.key_files) or [Path.home() / ".ssh" / n for n in DEFAULT_KEYS]
            for path in files:
                if not path.is_file():
                    if target.key_files:
                        skipped.append(f"{path} does not exist")
                    continue
                try:
                    candidates.append(paramiko.PKey.from_path(path))
                except paramiko.PasswordRequiredException:
                    skipped.append(f"{path} is passphrase-protected (load it into ssh-agent)")
                except (paramiko.SSHException, OSError, ValueError) as exc:
                    skipped.append(f"{path} unreadable ({exc})")
            if agent is not None:
                candidates.extend(agent.get_keys())
            for key in candidates:
                offered += 1
                try:
                    transport.auth_publickey(target.user, key)
                except paramiko.AuthenticationException:
                    continue
                except (paramiko.SSHException, EOFError, OSError) as exc:
                    raise TransportError(f"cannot log in to {target}: {exc or type(exc).__name__}") from exc
                if transport.is_authenticated():
                    return
        finally:
            if agent is not None:
                agent.close()
        detail = f"the server accepted none of the {offered} key(s) offered" if offered else "no SSH key to offer"
        if skipped:
            detail += "; " + "; ".join(skipped)
        raise TransportError(f"cannot log in to {target}: {detail}",
                             hint=f"install your public key on the device (ssh-copy-id {target.user}@"
                                  f"{target.host}), or name the key with IdentityFile in ~/.ssh/config")

    # ---- commands --------------------------------------------------------------------------
    def run(self, argv: Sequence[str], *, stdin: bytes | None = None,
            timeout: float | None = None, max_stdout: int | None = None,
            hold_stdin: bool = False) -> CommandResult:
        argv = tuple(argv)
        if not argv:
            raise ValueError("run() needs a command")
        command = shlex.join(argv)  # every word quoted: the remote shell sees literal words
        started = time.monotonic()
        deadline = None if timeout is None else started + timeout
        try:
            chan = self.connection.open_session(timeout=self.connect_timeout)
            try:
                chan.exec_command(command)
                if stdin:
                    chan.sendall(stdin)
                if not hold_stdin:
                    chan.shutdown_write()
                # With hold_stdin the remote command reads end-of-file only when this channel
                # closes: when it ends, or when this host is interrupted or gone.
                out, err, truncated = collect(chan, deadline, max_stdout)
                if out is None:
                    raise TransportError(f"{argv[0]} on {self.name} did not finish within {timeout:g} s")
                code = -1 if truncated else chan.recv_exit_status()
            finally:
                chan.close()
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise TransportError(f"running {argv[0]} on {self.name} failed: "
                                 f"{exc or type(exc).__name__}") from exc
        return CommandResult(argv, code, out, err, time.monotonic() - started, stdout_truncated=truncated)

    def start(self, argv: Sequence[str], stdin: bytes | None = None, hold_stdin: bool = False) -> RemoteProcess:
        argv = tuple(argv)
        try:
            chan = self.connection.open_session(timeout=self.connect_timeout)
            chan.exec_command(shlex.join(argv))
            if stdin:
                chan.sendall(stdin)
            if not hold_stdin:
                chan.shutdown_write()
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise TransportError(f"running {argv[0]} on {self.name} failed: "
                                 f"{exc or type(exc).__name__}") from exc
        return ChannelProcess(self.name, argv, chan)

    def home(self) -> str:
        if self._home is None:
            self._home = self._sftp_call("find the home directory of", "", lambda: self.sftp.normalize("."))
        return self._home

    # ---- files -----------------------------------------------------------------------------
    def _sftp_call(self, what: str, path: str, fn):
        try:
            return fn()
        except (paramiko.SSHException, EOFError, OSError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else (str(exc) or type(exc).__name__)
            raise TransportError(f"cannot {what} {path} on {self.name}: {reason}".replace("  ", " ")) from exc

    def _refuse_link(self, remote: str) -> paramiko.SFTPAttributes | None:
        """lstat ``remote``: None when absent; a symbolic link or a special file is refused.

        SFTP has no O_NOFOLLOW; edgetrt's own part files are created by store_ops.py under
        unpredictable names, and this check closes the rest of the gap a planted link could use.
        """
        st = self._stat(remote, self.sftp.lstat)
        if st is None:
            return None
        mode = st.st_mode or 0
        if stat.S_ISLNK(mode):
            raise TransportError(f"refusing to write {remote} on {self.name}: it is a symbolic link")
        if not stat.S_ISREG(mode):
            raise TransportError(f"refusing to write {remote} on {self.name}: not a regular file")
        return st

    def write_bytes(self, data: bytes, remote: str) -> None:
        self._refuse_link(remote)

        def write():
            with self.sftp.open(remote, "wb") as fh:
                fh.write(data)
        self._sftp_call("write", remote, write)

    def read_bytes(self, remote: str) -> bytes:
        def read():
            with self.sftp.open(remote, "rb") as fh:
                return fh.read()
        return self._sftp_call("read", remote, read)

    def _stat(self, remote: str, how) -> paramiko.SFTPAttributes | None:
        """``how(remote)`` (sftp.stat or sftp.lstat); None when the path does not exist."""
        try:
            return how(remote)
        except FileNotFoundError:
            return None
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise TransportError(f"cannot stat {remote} on {self.name}: {exc}") from exc

    def size(self, remote: str) -> int | None:
        st = self._stat(remote, self.sftp.stat)
        return st.st_size if st is not None and stat.S_ISREG(st.st_mode or 0) else None

    def rename(self, src: str, dst: str) -> None:
        self._sftp_call("rename", f"{src} to {dst}", lambda: self.sftp.posix_rename(src, dst))

    def makedirs(self, remote: str) -> None:
        # one command instead of a stat+mkdir round trip per path component
        result = self.run(["mkdir", "-p", "--", remote])
        if not result.ok:
            raise TransportError(f"cannot create {remote} on {self.name}: {result.stderr_tail(1)}")

    def remove(self, remote: str) -> None:
        def remove():
            try:
                self.sftp.remove(remote)
            except FileNotFoundError:
                pass
        self._sftp_call("remove", remote, remove)

    def symlink(self, target: str, link: str) -> None:
        self._sftp_call("create symlink", link, lambda: self.sftp.symlink(target, link))

    def close(self) -> None:
        if self._sftp is not None:
            try:
                self._sftp.close()
            except Exception:
                pass
            self._sftp = None
        for transport in reversed(self._transports):
            try:
                transport.close()
            except Exception:
                pass
        self._transports = []

    def __enter__(self) -> "SSHTransport":
        return self

