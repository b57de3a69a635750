"""Variables from ``group_vars/`` and ``host_vars/`` beside an inventory file, as Ansible finds them.

For a group or host NAME, the first of ``NAME``, ``NAME.yml``, ``NAME.yaml``, ``NAME.json`` that
exists is read; a directory ``NAME/`` means every vars file under it, sorted by name, hidden and
``backup~`` files skipped (Ansible's host_group_vars plugin). A file encrypted with ansible-vault
is skipped: its secrets are not edgetrt's to read (the README says so).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from edgetrt.config.inventory_formats import VAULT_HEADER, YamlReader, compose_yaml, is_null, read_text
from edgetrt.config.inventory_model import Inventory
from edgetrt.errors import ConfigError

_VARS_SUFFIXES = ("", ".yml", ".yaml", ".json")


def read_vars_dirs(inventory: Inventory) -> None:
    """Variables from ``group_vars/NAME`` and ``host_vars/NAME`` files beside the inventory."""
    base = Path(os.path.realpath(inventory.path)).parent
    for kind, entities in (("group_vars", inventory.groups), ("host_vars", inventory.hosts)):
        directory = base / kind
        if not directory.is_dir():
            continue
        for name, entity in entities.items():
            if "/" in name or name in (".", ".."):
                continue  # never a path outside the directory
            for file in _vars_files(directory, name):
                for key, (where, value) in _read_vars_file(file).items():
                    entity.file_vars[key] = value
                    entity.file_var_where[key] = where


def _vars_files(directory: Path, name: str) -> list[Path]:
    for suffix in _VARS_SUFFIXES:
        candidate = directory / (name + suffix)
        if candidate.is_dir():
            return _vars_dir_files(candidate, depth=0)
        if candidate.exists():
            return [candidate]
    return []


def _vars_dir_files(directory: Path, depth: int) -> list[Path]:
    if depth > 8:
        raise ConfigError(f"{directory}: vars directories nested more than 8 deep (a symlink loop?)")
    found = []
    for entry in sorted(os.listdir(directory)):
        if entry.startswith(".") or entry.endswith("~"):
            continue
        path, suffix = directory / entry, os.path.splitext(entry)[1]
        if path.is_dir() and not suffix:
            found.extend(_vars_dir_files(path, depth + 1))
        elif path.is_file() and suffix in _VARS_SUFFIXES:
            found.append(path)
    return found


def _read_vars_file(path: Path) -> dict[str, tuple[str, Any]]:
    text = read_text(path, "vars")
    if text.startswith(VAULT_HEADER):
        return {}
    loader, root = compose_yaml(text, path)
    try:
        if root is None or is_null(root):
            return {}
        if not isinstance(root, yaml.MappingNode):
            raise ConfigError(f"{path}:{root.start_mark.line + 1}: a vars file is a mapping of name: value")
        reader = YamlReader(loader, path)
        found = {}
        for key, (key_node, value_node) in reader.items(root).items():
            if not isinstance(key, str) or not key:
                raise ConfigError(f"{reader.where(key_node)}: variable names must be non-empty strings")
            found[key] = (reader.where(key_node), reader.value(value_node))
        return found
    finally:
        loader.dispose()
