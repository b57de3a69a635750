"""``--host`` values → :class:`SSHTarget`, resolved through the user's OpenSSH client config.

Accepted forms: an ``~/.ssh/config`` Host alias (``jetson``), ``addr``, ``user@addr``,
``user@addr:port``, ``[v6addr]:port`` and ``user@[v6addr]:port``. As with ``ssh``, the config is
applied to the host part (HostName, Port, User, IdentityFile, ProxyJump, UserKnownHostsFile) and
anything written explicitly in the value wins over it.
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
    if any(c.isspace() or ord(c) < 32 for c in value):
        raise UsageError(f"--host {value!r} contains whitespace or control characters")
    user = None
    if "@" in value:
        user, value = value.rsplit("@", 1)
        if not _USER_CHARS.fullmatch(user):
            raise UsageError(f"--host: invalid user name {user!r}")
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
    if not host or not _HOST_CHARS.fullmatch(host) or host.startswith("-"):
        raise UsageError(f"--host: invalid address {host!r}")
    port = _parse_port(port_text, f"--host {value!r}") if port_text is not None else None
    return user, host, port


def _parse_port(text: str, where: str) -> int:
    if not str(text).isdigit() or not 0 < int(text) < 65536:
        raise UsageError(f"{where}: port {text!r} is not a number from 1 to 65535")
    return int(text)


def load_ssh_config(path: Path | str | None = None):
    """A ``paramiko.SSHConfig``; a missing file is an empty config."""
    import paramiko

    path = Path(os.path.expanduser(str(path or DEFAULT_SSH_CONFIG)))
    if not path.exists():
        return paramiko.SSHConfig.from_text("")
    try:
        return paramiko.SSHConfig.from_path(str(path))
    except (OSError, paramiko.ssh_exception.ConfigParseError, ValueError) as exc:
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
    if chain and chain.lower() != "none":
        if _depth >= _MAX_JUMPS:
            raise ConfigError(f"ProxyJump for {name!r} nests more than {_MAX_JUMPS} hops (a loop?)")
        # "a,b": connect to a, then b through a, then the target through b.
        for hop in chain.split(","):
            hop_target = resolve_host(hop.strip(), _config=config, _depth=_depth + 1)
            if jump is not None:
                hop_target = _with_jump(hop_target, jump)
            jump = hop_target
    return SSHTarget(host, port, user, key_files, jump, alias, known_hosts)


def _with_jump(target: SSHTarget, jump: SSHTarget) -> SSHTarget:
    from dataclasses import replace

    return replace(target, proxy_jump=jump)
