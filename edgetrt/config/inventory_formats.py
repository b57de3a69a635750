"""Ansible inventory files, INI and YAML → :class:`Inventory` (vars dirs: inventory_vars.py).

Each reader follows what Ansible's own ``ini`` and ``yaml`` inventory plugins do with the same
text (tests compare every test inventory with ``ansible-inventory --list``), with two differences
on purpose: what Ansible skips with a warning (an unknown key in a YAML group, a group that is not
a mapping) is an error here, and nothing is ever run, templated or decrypted.

Files are opened without blocking and read only when they are regular files of at most
:data:`MAX_BYTES`, so a FIFO, a device or a runaway file is one error line, never a hang.
"""

from __future__ import annotations

import ast
import difflib
import os
import re
import shlex
import stat
import warnings
from pathlib import Path
from typing import Any

import yaml

from edgetrt.config.host_patterns import expand_ranges, split_address
from edgetrt.config.inventory_model import UNGROUPED, Encrypted, Inventory
from edgetrt.errors import ConfigError

MAX_BYTES = 8 << 20
_YAML_SUFFIXES = (".yml", ".yaml", ".json")
_GROUP_KEYS = ("hosts", "vars", "children")
VAULT_HEADER = "$ANSIBLE_VAULT;"
_EXPORT_HINT = "export it as a YAML inventory: ansible-inventory -i SOURCE --list --yaml --output fleet.yml"


def read_text(path: Path, what: str = "inventory") -> str:
    """A small regular text file, or one ConfigError saying why not."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such {what} file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the {what}: {exc.strerror}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        if stat.S_ISDIR(mode):
            raise ConfigError(f"{path}: is a directory, not an {what} file",
                              hint="name one INI or YAML inventory file")
        raise ConfigError(f"{path}: is not a regular file (a FIFO, socket or device)")
    with os.fdopen(fd, "rb") as fh:
        data = fh.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ConfigError(f"{path}: {what} file is larger than {MAX_BYTES >> 20} MiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: not UTF-8 text") from None
    if "\0" in text:
        raise ConfigError(f"{path}:{text[:text.index(chr(0))].count(chr(10)) + 1}: binary data in an {what} file")
    return text


def parse_inventory_file(path: Path) -> Inventory:
    """``path`` parsed as INI or YAML, as Ansible would pick (not yet finished: vars dirs come next)."""
    path = Path(path)
    text = read_text(path)
    if text.startswith(VAULT_HEADER):
        raise ConfigError(f"{path}:1: the inventory is encrypted with ansible-vault; edgetrt does not decrypt",
                          hint="decrypt a copy: ansible-vault decrypt --output plain.yml " + path.name)
    suffix = path.suffix.lower()
    if suffix == ".toml":
        raise ConfigError(f"{path}: TOML inventories are not read", hint=_EXPORT_HINT)
    if suffix in _YAML_SUFFIXES:
        inventory = parse_yaml(text, Inventory(path))
    elif suffix:
        inventory = parse_ini(text, Inventory(path))
    else:
        # No suffix: Ansible tries YAML first and falls back to INI; so does this.
        try:
            inventory = parse_yaml(text, Inventory(path))
        except ConfigError as yaml_error:
            try:
                inventory = parse_ini(text, Inventory(path))
            except ConfigError as ini_error:
                raise ConfigError(ini_error.message, hint=f"read as INI; as YAML: {yaml_error.message}") from None
    return inventory


# ---- INI ---------------------------------------------------------------------------------------
_SECTION = re.compile(r"\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?")
_CHILD = re.compile(r"([^:\]\s]+)\s*(?:#.*)?")


def parse_ini(text: str, inventory: Inventory) -> Inventory:
    pending: dict[str, dict] = {}   # groups named before their own section, as Ansible tracks them
    group, state = UNGROUPED, "hosts"
    for number, raw in enumerate(text.splitlines(), 1):
        where = f"{inventory.path}:{number}"
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        header = _SECTION.fullmatch(line)
        if header:
            group, state = header.group(1), header.group(2) or "hosts"
            if state not in ("hosts", "children", "vars"):
                raise ConfigError(f"{where}: section [{group}:{state}] has an unknown type {state!r}",
                                  hint="sections are [GROUP], [GROUP:vars] and [GROUP:children]")
            if group not in inventory.groups:
                if state == "vars" and group not in pending:
                    pending[group] = {"where": where, "state": "vars", "parents": []}
                inventory.add_group(group, where)
            if group in pending and state != "vars":
                if pending[group]["state"] == "children":
                    _add_pending_children(inventory, group, pending)
                else:
                    del pending[group]
            continue
        if line.startswith("[") and line.endswith("]"):
            raise ConfigError(f"{where}: invalid section {line}",
                              hint="no spaces inside [...]; sections are [GROUP], [GROUP:vars], [GROUP:children]")
        if state == "hosts":
            _ini_host_line(inventory, group, line, where)
        elif state == "vars":
            key, equals, value = line.partition("=")
            if not equals:
                raise ConfigError(f"{where}: expected key=value in [{group}:vars], got {line!r}")
            inventory.set_group_var(group, key.strip(), _ini_value(value.strip(), where), where)
        else:
            child = _CHILD.fullmatch(line)
            if not child:
                raise ConfigError(f"{where}: expected a group name in [{group}:children], got {line!r}")
            child_name = child.group(1)
            if child_name in inventory.groups:
                inventory.add_child(group, child_name, where)
            elif child_name in pending:
                pending[child_name]["parents"].append(group)
            else:
                pending[child_name] = {"where": where, "state": "children", "parents": [group]}
    for name, declared in pending.items():
        if declared["state"] == "vars":
            raise ConfigError(f"{declared['where']}: [{name}:vars] is for a group that is never defined",
                              hint=f"add a [{name}] section or list {name} under some [GROUP:children]")
        raise ConfigError(f"{declared['where']}: [{declared['parents'][-1]}:children] names group {name!r}, "
                          "which is never defined", hint=f"add a [{name}] or [{name}:children] section")
    return inventory


def _add_pending_children(inventory: Inventory, group: str, pending: dict) -> None:
    for parent in pending[group]["parents"]:
        inventory.add_child(parent, group, pending[group]["where"])
        if parent in pending and pending[parent]["state"] == "children":
            _add_pending_children(inventory, parent, pending)
    del pending[group]


def _ini_host_line(inventory: Inventory, group: str, line: str, where: str) -> None:
    try:
        tokens = shlex.split(line, comments=True)
    except ValueError as exc:
        raise ConfigError(f"{where}: cannot split the host line: {exc}") from None
    if not tokens:
        raise ConfigError(f"{where}: expected a host name, got {line!r}")
    entry = tokens[0]
    names, port = host_entry(entry, where)
    if entry.endswith(":") and port is None:
        raise ConfigError(f"{where}: host {entry!r} ends in ':' (reserved for a port)",
                          hint="is this a YAML inventory? name it .yml")
    if entry == "---":
        raise ConfigError(f"{where}: '---' starts a YAML document", hint="name a YAML inventory .yml")
    variables = {}
    for token in tokens[1:]:
        key, equals, value = token.partition("=")
        if not equals:
            raise ConfigError(f"{where}: expected key=value after host {entry!r}, got {token!r}")
        variables[key] = _ini_value(value, where)
    for name in names:
        inventory.add_host(name, group, where, port)
        for key, value in variables.items():
            inventory.set_host_var(name, key, value, where)


def host_entry(entry: str, where: str) -> tuple[list[str], int | None]:
    """An inventory host entry → (names after range expansion, port or None)."""
    address, port = split_address(entry)
    return expand_ranges(address, where), port


def _ini_value(text: str, where: str) -> Any:
    """As Ansible: a Python literal where the text is one (``22`` → 22, ``True``), else the text."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError):
        return text
    except (MemoryError, RecursionError):
        raise ConfigError(f"{where}: value {text[:40]!r}... is nested too deeply") from None
    return _plain(value)


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="surrogateescape")
    if value is ...:
        return "..."
    if isinstance(value, complex):
        return str(value)
    return value


# ---- YAML --------------------------------------------------------------------------------------
class _InventoryLoader(yaml.SafeLoader):
    """safe_load's loader, plus the two tags Ansible's YAML has: ``!vault`` and ``!unsafe``."""


def _construct_unsafe(loader, node):
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


_InventoryLoader.add_constructor("!vault", lambda loader, node: Encrypted(str(loader.construct_scalar(node))))
_InventoryLoader.add_constructor("!unsafe", _construct_unsafe)


def compose_yaml(text: str, path: Path) -> tuple[_InventoryLoader, Any]:
    """(loader, root node): values are constructed from nodes later, so every key keeps its line."""
    loader = _InventoryLoader(text)
    try:
        return loader, loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(f"{where}: YAML syntax error: {exc.problem or exc.context or 'invalid YAML'}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: YAML nested too deeply") from None


class YamlReader:
    def __init__(self, loader: _InventoryLoader, path: Path, inventory: Inventory | None = None):
        self.loader, self.path, self.inventory, self.open_groups = loader, path, inventory, set()

    def where(self, node) -> str:
        return f"{self.path}:{node.start_mark.line + 1}"

    def value(self, node) -> Any:
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{self.where(node)}: {getattr(exc, 'problem', None) or exc}") from None
        except RecursionError:
            raise ConfigError(f"{self.where(node)}: value nested too deeply") from None

    def items(self, node) -> dict:
        """key → (key node, value node), in YAML's order and with YAML's last-duplicate-wins."""
        self.loader.flatten_mapping(node)  # resolves `<<:` merge keys as safe_load does
        found: dict = {}
        for key_node, value_node in node.value:
            key = self.value(key_node)
            try:
                found[key] = (key_node, value_node)
            except TypeError:
                raise ConfigError(f"{self.where(key_node)}: a mapping key must be a plain value") from None
        return found

    def group(self, name: Any, node, where: str) -> str:
        """``node`` is the group's mapping, or None/null for an empty group."""
        if not (node is None or is_null(node) or isinstance(node, yaml.MappingNode)):
            raise ConfigError(f"{where}: group {name!r} must be a mapping of hosts, vars and children (or empty)")
        if not isinstance(name, str):
            raise ConfigError(f"{where}: group name {name!r} must be a string")
        self.inventory.add_group(name, where)
        if node is None or is_null(node):
            return name
        if id(node) in self.open_groups:
            raise ConfigError(f"{where}: group {name!r} contains itself (a YAML alias loop)")
        self.open_groups.add(id(node))
        for key, (key_node, section) in self.items(node).items():
            key_where = self.where(key_node)
            if key not in _GROUP_KEYS:
                guess = difflib.get_close_matches(str(key), _GROUP_KEYS, n=1)
                raise ConfigError(f"{key_where}: unknown key {key!r} in group {name!r}",
                                  hint=f"did you mean {guess[0]!r}?" if guess else "a group has hosts, vars and children")
            if is_null(section):
                continue
            if isinstance(section, yaml.ScalarNode) and section.tag == "tag:yaml.org,2002:str":
                entries = {self.value(section): (section, None)}  # Ansible: `hosts: h1` means {h1: null}
            elif isinstance(section, yaml.MappingNode):
                entries = self.items(section)
            else:
                raise ConfigError(f"{key_where}: {key!r} of group {name!r} must be a mapping")
            for entry, (entry_node, entry_value) in entries.items():
                entry_where = self.where(entry_node)
                if key == "vars":
                    value = None if entry_value is None else self.value(entry_value)
                    self.inventory.set_group_var(name, entry, value, entry_where)
                elif key == "children":
                    child = self.group(entry, entry_value, entry_where)
                    self.inventory.add_child(name, child, entry_where)
                else:
                    self.host(name, entry, entry_value, entry_where)
        self.open_groups.discard(id(node))
        return name

    def host(self, group: str, entry: Any, node, where: str) -> None:
        if not isinstance(entry, str):
            raise ConfigError(f"{where}: host {entry!r} must be a string", hint="quote numbers: '10.0.0.1'")
        names, port = host_entry(entry, where)
        variables = {} if node is None or is_null(node) else None
        if variables is None:
            if not isinstance(node, yaml.MappingNode):
                raise ConfigError(f"{where}: host {entry!r} must map to its variables (key: value) or nothing")
            variables = {key: (self.where(key_node), self.value(value_node))
                         for key, (key_node, value_node) in self.items(node).items()}
        for name in names:
            self.inventory.add_host(name, group, where, port)
            for key, (key_where, value) in variables.items():
                self.inventory.set_host_var(name, key, value, key_where)


def is_null(node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def parse_yaml(text: str, inventory: Inventory) -> Inventory:
    loader, root = compose_yaml(text, inventory.path)
    try:
        if root is None or is_null(root):
            raise ConfigError(f"{inventory.path}: the YAML inventory is empty")
        if not isinstance(root, yaml.MappingNode):
            raise ConfigError(f"{inventory.path}:{root.start_mark.line + 1}: a YAML inventory is a mapping "
                              "of group names (all: {hosts: ..., children: ...})")
        reader = YamlReader(loader, inventory.path, inventory)
        groups = reader.items(root)
        if "plugin" in groups:
            raise ConfigError(f"{reader.where(groups['plugin'][0])}: this is an inventory plugin's "
                              "configuration, which edgetrt does not run", hint=_EXPORT_HINT)
        for name, (key_node, node) in groups.items():
            reader.group(name, node, reader.where(key_node))
    finally:
        loader.dispose()
    return inventory
