"""Devices by many names: device files, Ansible inventory hosts and groups, and ``--limit``.

``resolve_devices("nano1,@orins", inventory=Path("fleet.ini"), limit="!orin-broken")`` is what
``--device``, ``--inventory`` and ``--limit`` mean on ``deploy``, ``bench`` and ``doctor device``:

- ``names`` is a comma-separated list; each item is an inventory host, a device file
  (``data/devices/NAME.yaml``, ``~/.config/edgetrt/devices/NAME.yaml``), or ``@GROUP`` for every host
  of an inventory group (``@all`` for all of them). With an inventory, its host wins over a device
  file of the same name.
- ``limit`` is an Ansible host pattern applied to that selection: globs (``nano*``), ``:`` or
  ``,`` unions, ``&`` intersections, ``!`` exclusions, ``~regex``; a term that matches nothing
  anywhere is an error, not a silent no-op.
- The result keeps the order of ``names``; a group's hosts come in inventory order (the order the
  file first names them); a device named twice is kept once. An unknown name or an empty result is
  a UsageError that names what exists.

Inventory hosts become :class:`DeviceSpec` s from their variables (group vars inherited, host vars
winning, as Ansible merges them): ``ansible_host`` (else the host's name), ``ansible_port``,
``ansible_user``, ``ansible_ssh_private_key_file``, ``ansible_connection`` (``ssh``, or ``local``
for this machine) and ``edgetrt_profile`` (required: a profile decides the expected TensorRT,
compute capability and INT8 support, so a wrong default would mislabel every report),
``edgetrt_remote_root``, ``edgetrt_python``. Other variables are Ansible's business and ignored;
passwords are never read.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from edgetrt.config.devices import Connection, DeviceSpec, device_files, load_device
from edgetrt.config.host_patterns import match_pattern
from edgetrt.config.inventory_model import ALL, Encrypted, HostVar, Inventory
from edgetrt.config.profiles import load_profiles
from edgetrt.errors import ConfigError, UsageError

__all__ = ["resolve_devices", "read_inventory", "inventory_device", "Inventory"]

#: the variables edgetrt reads; each tuple lists Ansible's spellings of one setting
_ADDRESS = ("ansible_host", "ansible_ssh_host")
_PORT = ("ansible_port", "ansible_ssh_port")
_USER = ("ansible_user", "ansible_ssh_user")
_KEY_FILE = ("ansible_ssh_private_key_file", "ansible_private_key_file")
_EDGETRT_VARS = ("edgetrt_profile", "edgetrt_remote_root", "edgetrt_python", "edgetrt_description")
_SSH_CONNECTIONS = ("ssh", "smart", "paramiko", "paramiko_ssh", "ansible.builtin.ssh",
                    "ansible.builtin.paramiko_ssh")
_LOCAL_CONNECTIONS = ("local", "ansible.builtin.local")
_PATTERN_CHARACTERS = set("*?[]!&~:")


def read_inventory(path: Path | str) -> Inventory:
    """An Ansible INI or YAML inventory file (and its group_vars/, host_vars/), checked."""
    # PyYAML with them: only a command given an inventory reads one
    from edgetrt.config.inventory_formats import parse_inventory_file
    from edgetrt.config.inventory_vars import read_vars_dirs

    inventory = parse_inventory_file(Path(path))
    read_vars_dirs(inventory)
    return inventory.finish()


def resolve_devices(names: str, inventory: Path | str | None = None,
                    limit: str | None = None) -> list[DeviceSpec]:
    """The devices ``--device NAMES [--inventory FILE] [--limit PATTERN]`` selects (module docstring)."""
    fleet = read_inventory(inventory) if inventory is not None else None
    files = device_files()
    items = [item.strip() for item in (names or "").split(",") if item.strip()]
    if not items:
        raise UsageError("--device: no device named", hint="e.g. --device nano, --device a,b or "
                         "--device @GROUP --inventory FILE")
    chosen: dict[str, str] = {}  # name → "inventory" | "file", in selection order
    for item in items:
        if item.startswith("@"):
            for host in _group_hosts(item[1:], fleet, inventory):
                chosen.setdefault(host, "inventory")
            continue
        if _PATTERN_CHARACTERS & set(item):
            raise UsageError(f"--device {item!r}: names and @GROUP only",
                             hint=f"patterns go in --limit: --device @all --limit '{item}'")
        if fleet is not None and item in fleet.hosts:
            chosen.setdefault(item, "inventory")
        elif item in files:
            chosen.setdefault(item, "file")
        else:
            raise _unknown_device(item, fleet, inventory, files)
    if limit is not None:
        chosen = _apply_limit(chosen, limit, fleet)
    profiles = load_profiles()
    return [inventory_device(fleet, name, profiles) if kind == "inventory" else load_device(name)
            for name, kind in chosen.items()]


def _group_hosts(group: str, fleet: Inventory | None, inventory) -> list[str]:
    if fleet is None:
        raise UsageError(f"--device @{group}: a group needs an inventory",
                         hint="add --inventory FILE (an Ansible INI or YAML inventory)")
    if group not in fleet.groups:
        guess = difflib.get_close_matches(group, list(fleet.groups), n=3)
        raise UsageError(f"--device @{group}: no group {group!r} in {inventory}",
                         hint=(f"did you mean {', '.join('@' + g for g in guess)}? " if guess else "") +
                         "groups: " + ", ".join(fleet.groups))
    hosts = fleet.hosts_of(group)
    if not hosts:
        raise UsageError(f"--device @{group}: group {group!r} in {inventory} has no hosts")
    return hosts


def _unknown_device(item: str, fleet: Inventory | None, inventory, files: dict) -> UsageError:
    known = list(fleet.hosts) + list(files) if fleet is not None else list(files)
    guess = difflib.get_close_matches(item, known, n=3)
    where = f"in {inventory} or the device files" if fleet is not None else "among the device files"
    listed = (f"inventory hosts: {', '.join(list(fleet.hosts)[:20])}; " if fleet is not None else "")
    return UsageError(f"unknown device {item!r} (not {where})",
                      hint=(f"did you mean {', '.join(guess)}? " if guess else "") + listed +
                      "device files: " + ", ".join(files) +
                      ("" if fleet is not None else "; for inventory hosts add --inventory FILE"))


def _apply_limit(chosen: dict[str, str], limit: str, fleet: Inventory | None) -> dict[str, str]:
    # The pattern sees the whole inventory (so `!broken` may name a host outside the selection)
    # plus the chosen device files, which belong to no group but `all`.
    groups: dict[str, list[str]] = {}
    hosts: list[str] = []
    if fleet is not None:
        groups = {name: fleet.hosts_of(name) for name in fleet.groups}
        hosts = list(fleet.hosts)
    extra = [name for name, kind in chosen.items() if kind == "file" and name not in hosts]
    groups[ALL] = groups.get(ALL, []) + extra
    matched = match_pattern(limit, groups, hosts + extra)
    kept = {name: kind for name, kind in chosen.items() if name in matched}
    if not kept:
        raise UsageError(f"--limit {limit!r} leaves none of the {len(chosen)} selected devices",
                         hint="selected: " + ", ".join(list(chosen)[:20]))
    return kept


def inventory_device(fleet: Inventory, host: str, profiles: dict | None = None) -> DeviceSpec:
    """One inventory host as a DeviceSpec; bad variables are ConfigErrors naming file:line."""
    profiles = profiles if profiles is not None else load_profiles()
    variables = fleet.host_vars(host)
    source = f"{fleet.hosts[host].where} (host {host})"
    for key in variables:
        if key.startswith("edgetrt_") and key not in _EDGETRT_VARS:
            guess = difflib.get_close_matches(key, _EDGETRT_VARS, n=1)
            raise ConfigError(f"{variables[key].where}: unknown variable {key!r} for host {host}",
                              hint=f"did you mean {guess[0]!r}?" if guess else
                              "edgetrt reads " + ", ".join(_EDGETRT_VARS))
    if "edgetrt_profile" not in variables:
        raise ConfigError(f"{source}: host {host} has no edgetrt_profile",
                          hint="set it for the host or its group, e.g. [nanos:vars] edgetrt_profile=nano; "
                               "profiles: " + ", ".join(profiles))
    profile = _text(variables, "edgetrt_profile", host)
    if profile not in profiles:
        guess = difflib.get_close_matches(profile, list(profiles), n=1)
        raise ConfigError(f"{variables['edgetrt_profile'].where}: unknown profile {profile!r} for host {host}",
                          hint=f"did you mean {guess[0]!r}?" if guess else "profiles: " + ", ".join(profiles))
    groups = sorted(fleet.groups_of(host) - {ALL, "ungrouped"})
    return DeviceSpec(
        name=host, profile=profile, facts=dict(profiles[profile]),
        description=_text(variables, "edgetrt_description", host) or
        (f"inventory host in {', '.join(groups)}" if groups else "inventory host"),
        connection=_connection(variables, host),
        remote_root=_text(variables, "edgetrt_remote_root", host) or "~/.edgetrt",
        python=_text(variables, "edgetrt_python", host) or "python3",
        source=source,
    )


def _connection(variables: dict[str, HostVar], host: str) -> Connection | None:
    kind = _text(variables, "ansible_connection", host) or "ssh"
    if kind in _LOCAL_CONNECTIONS:
        return None
    if kind not in _SSH_CONNECTIONS:
        raise ConfigError(f"{variables['ansible_connection'].where}: host {host} has "
                          f"ansible_connection={kind}; edgetrt reaches devices over SSH (or local)")
    port = _one_of(variables, _PORT, host)
    if port is not None:
        if isinstance(port, str) and port.strip().isdigit():
            port = int(port)
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise ConfigError(f"{_where(variables, _PORT)}: ansible_port {port!r} for host {host} "
                              "is not a port number (1 to 65535)")
    address = _one_of(variables, _ADDRESS, host, text=True) or host
    if any(c.isspace() for c in address) or address.startswith("-"):
        raise ConfigError(f"{_where(variables, _ADDRESS)}: ansible_host {address!r} for host {host} "
                          "is not an address")
    return Connection(host=address, port=port, user=_one_of(variables, _USER, host, text=True),
                      key_file=_one_of(variables, _KEY_FILE, host, text=True))


def _one_of(variables: dict[str, HostVar], spellings: tuple, host: str, text: bool = False) -> Any:
    """A setting Ansible spells several ways; two spellings that disagree are refused, not ranked."""
    present = {key: variables[key].value for key in spellings if key in variables}
    if len({repr(v) for v in present.values()}) > 1:
        first, second = list(present)[:2]
        raise ConfigError(f"{variables[second].where}: host {host} sets both {first} and {second}, "
                          "to different values", hint=f"keep {spellings[0]} only")
    if not present:
        return None
    key = next(iter(present))
    return _text(variables, key, host) if text else _checked(variables, key, host)


def _where(variables: dict[str, HostVar], spellings: tuple) -> str:
    return next(variables[k].where for k in spellings if k in variables)


def _checked(variables: dict[str, HostVar], key: str, host: str) -> Any:
    value = variables[key].value
    if isinstance(value, Encrypted):
        raise ConfigError(f"{variables[key].where}: {key} for host {host} is vault-encrypted; "
                          "edgetrt does not decrypt", hint=f"give {key} in plain text")
    if isinstance(value, str) and ("{{" in value or "{%" in value):
        raise ConfigError(f"{variables[key].where}: {key} for host {host} is a Jinja template "
                          f"({value!r}); edgetrt does not evaluate templates",
                          hint=f"write {key}'s value out")
    return value


def _text(variables: dict[str, HostVar], key: str, host: str) -> str | None:
    if key not in variables:
        return None
    value = _checked(variables, key, host)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{variables[key].where}: {key} for host {host} must be a non-empty "
                          f"string, not {value!r}")
    return value
