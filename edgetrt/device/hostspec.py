"""``--host`` values → :class:`SSHTarget`, resolved through the user's OpenSSH client config.

Accepted forms: an ``~/.ssh/config`` Host alias (``jetson``), ``addr``, ``user@addr``,
``user@addr:port``, ``[v6addr]:port`` and ``user@[v6addr]:port``. As with ``ssh``, the config is
applied to the host part (HostName, Port, User, IdentityFile, ProxyJump, ProxyCommand,
UserKnownHostsFile) and anything written explicitly in the value wins over it. Every part is
bounded (a 5,000-character value is one error line, not a UnicodeError from the resolver).
"""

from __future__ import annotations

import getpass
import os
import re
from dataclasses import dataclass
from pathlib import Path

from edgetrt.errors import ConfigError, UsageError

DEFAULT_SSH_CONFIG = Path("~/.ssh/config")
_MAX_JUMPS = 8
_HOST_CHARS = re.compile(r"[A-Za-z0-9._%:-]+")
_USER_CHARS = re.compile(r"[A-Za-z0-9._-][A-Za-z0-9._$-]*")
# DNS: a name is at most 253 characters, a label at most 63 (socket's IDNA codec raises
# UnicodeError past that); Linux user names are at most 32, OpenSSH allows more.
MAX_HOST_VALUE = 512
MAX_HOST = 253
MAX_LABEL = 63
MAX_USER = 64


@dataclass(frozen=True)
class SSHTarget:
    """Where and as whom to connect; ``proxy_jump`` is the hop to go through first."""

    host: str
    port: int = 22
    user: str = ""
    key_files: tuple[Path, ...] = ()
    proxy_jump: "SSHTarget | None" = None
    alias: str | None = None
    known_hosts_files: tuple[Path, ...] = ()
    #: ssh config ProxyCommand (run with /bin/sh, as ssh does); None when there is none
    proxy_command: str | None = None

    @property
    def known_hosts_name(self) -> str:
        """The name OpenSSH writes in known_hosts: ``host`` on port 22, else ``[host]:port``."""
        return self.host if self.port == 22 else f"[{self.host}]:{self.port}"

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.user}@{host}:{self.port}"


def split_host_value(value: str) -> tuple[str | None, str, int | None]:
    """``user@addr:port`` → (user, addr, port); missing parts are None. Pure, no config."""
    if not isinstance(value, str) or not value:
        raise UsageError("empty --host value", hint="use an ssh config alias or user@address[:port]")
    if len(value) > MAX_HOST_VALUE:
        raise UsageError(f"--host is {len(value)} characters long (at most {MAX_HOST_VALUE}): "
                         f"{value[:40]!r}...", hint="use an ssh config alias or user@address[:port]")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 0x7f for c in value):
        raise UsageError(f"--host {value!r} contains whitespace or control characters")
    user = None
    if "@" in value:
        user, value = value.rsplit("@", 1)
        if not _USER_CHARS.fullmatch(user) or len(user) > MAX_USER:
            raise UsageError(f"--host: invalid user name {_cut(user)!r}",
                             hint=f"letters, digits, '.', '_', '-' (at most {MAX_USER})")
    port_text = None
    if value.startswith("["):
        host, sep, rest = value[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise UsageError(f"--host {value!r}: expected [address]:port")
        port_text = rest[1:] if rest else None
    elif value.count(":") == 1:
        host, port_text = value.split(":")
    else:
        host = value  # a name, an IPv4 address, or a bare IPv6 address (no port possible)
    check_host_name(host, "--host")
    port = _parse_port(port_text, f"--host {value!r}") if port_text is not None else None
    return user, host, port


def check_host_name(host: str, what: str) -> str:
    """A host name or address that sockets and known_hosts can take, else one UsageError."""
    if not host or not _HOST_CHARS.fullmatch(host) or host.startswith("-"):
        raise UsageError(f"{what}: invalid address {_cut(host)!r}")
    if ":" not in host and (len(host) > MAX_HOST or any(len(label) > MAX_LABEL for label in host.split("."))):
        raise UsageError(f"{what}: host name {_cut(host)!r} is too long (DNS allows {MAX_HOST} "
                         f"characters, {MAX_LABEL} between dots)")
    if ":" in host and len(host) > 64:  # the longest IPv6 address with a zone is well below this
        raise UsageError(f"{what}: address {_cut(host)!r} is too long")
    return host


def _cut(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _parse_port(text: str, where: str) -> int:
    if not str(text).isdigit() or not 0 < int(text) < 65536:
        raise UsageError(f"{where}: port {text!r} is not a number from 1 to 65535")
    return int(text)


def load_ssh_config(path: Path | str | None = None):
    """A ``paramiko.SSHConfig``; a missing file is an empty config."""
    import paramiko

    from edgetrt.config.files import SSH_FILE_LIMIT, read_text_capped

    path = Path(os.path.expanduser(str(path or DEFAULT_SSH_CONFIG)))
    if not os.path.lexists(path):
        return paramiko.SSHConfig.from_text("")
    text = read_text_capped(path, SSH_FILE_LIMIT, "the ssh config file")  # a FIFO: a line, not a hang
    try:
        return paramiko.SSHConfig.from_text(text)
    except (paramiko.ssh_exception.ConfigParseError, ValueError) as exc:
        raise ConfigError(f"cannot read ssh config {path}: {exc}") from exc


def resolve_host(value: str, ssh_config: Path | str | None = None, *, _config=None,
                 _depth: int = 0) -> SSHTarget:
    """Parse a ``--host`` value and apply the ssh config to it."""
    config = _config if _config is not None else load_ssh_config(ssh_config)
    user, name, port = split_host_value(value)
    try:
        entry = config.lookup(name)
    except Exception as exc:  # paramiko raises assorted errors for Match/token problems
        raise ConfigError(f"ssh config entry for {name!r} cannot be used: {exc}") from exc

    host = entry.get("hostname", name)
    if host != name:
        check_host_name(host, f"ssh config HostName for {_cut(name)}")
    if port is None:
        port = _parse_port(entry["port"], f"ssh config Port for {name}") if "port" in entry else 22
    user = user or entry.get("user") or getpass.getuser()
    # paramiko expands most %-tokens; the port and remote user are only final here
    key_files = tuple(Path(os.path.expanduser(p.replace("%p", str(port)).replace("%r", user)))
                      for p in entry.get("identityfile", []))
    known_hosts = tuple(Path(os.path.expanduser(p))
                        for p in str(entry.get("userknownhostsfile", "")).split() if p != "none")
    alias = name if host != name or len(entry) > 1 else None

    jump = None
    chain = entry.get("proxyjump", "none")
    proxy_command = entry.get("proxycommand")  # paramiko turns "none" into None
    if proxy_command and chain and chain.lower() != "none":
        raise ConfigError(f"ssh config for {name!r} sets both ProxyCommand and ProxyJump",
                          hint="ssh uses whichever comes first in the file; keep only that one")
    if chain and chain.lower() != "none":
        if _depth >= _MAX_JUMPS:
            raise ConfigError(f"ProxyJump for {name!r} nests more than {_MAX_JUMPS} hops (a loop?)")
        # "a,b": connect to a, then b through a, then the target through b.
        for hop in chain.split(","):
            hop_target = resolve_host(hop.strip(), _config=config, _depth=_depth + 1)
            if jump is not None:
                hop_target = _with_jump(hop_target, jump)
            jump = hop_target
    # paramiko expanded %h/%p/%r in ProxyCommand with the config's own values (an explicit
    # user@host:port on --host changes the connection, not those expansions)
    return SSHTarget(host, port, user, key_files, jump, alias, known_hosts, proxy_command or None)


def _with_jump(target: SSHTarget, jump: SSHTarget) -> SSHTarget:
    from dataclasses import replace

    return replace(target, proxy_jump=jump)
