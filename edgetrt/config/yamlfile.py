"""YAML files read safely, with file:line in every error and a "did you mean" for unknown keys."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml

from edgetrt.errors import ConfigError


@dataclass
class YamlDoc:
    path: Path
    data: Any
    #: line (1-based) of each mapping key, by key path: ("connection", "host") -> 7
    lines: dict[tuple, int] = field(default_factory=dict)

    def where(self, *keys) -> str:
        line = self.lines.get(tuple(keys))
        while line is None and keys:
            keys = keys[:-1]
            line = self.lines.get(tuple(keys))
        return f"{self.path}:{line}" if line else str(self.path)


def _record_lines(node, prefix, lines):
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            path = prefix + (key,)
            lines[path] = key_node.start_mark.line + 1
            _record_lines(value_node, path, lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            path = prefix + (i,)
            lines[path] = item.start_mark.line + 1
            _record_lines(item, path, lines)


def load_yaml(path: Path) -> YamlDoc:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from exc
    try:
        data = yaml.safe_load(text)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(f"{where}: YAML syntax error: {problem}",
                          hint="fix the file's syntax (indentation, colons, quotes)") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from exc
    lines: dict[tuple, int] = {}
    if node is not None:
        _record_lines(node, (), lines)
    return YamlDoc(path, data, lines)


def require_mapping(doc: YamlDoc, value: Any, *keys) -> dict:
    if not isinstance(value, dict):
        what = ".".join(map(str, keys)) or "the document"
        raise ConfigError(f"{doc.where(*keys)}: {what} must be a mapping of key: value")
    return value


def check_keys(doc: YamlDoc, mapping: dict, allowed: Iterable[str], *keys) -> None:
    allowed = list(allowed)
    for key in mapping:
        if key not in allowed:
            guess = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f"did you mean {guess[0]!r}?" if guess else "allowed keys: " + ", ".join(allowed)
            raise ConfigError(f"{doc.where(*keys, key)}: unknown key {key!r}", hint=hint)


def expect_type(doc: YamlDoc, mapping: dict, key: str, types, *keys, required=False):
    if key not in mapping:
        if required:
            raise ConfigError(f"{doc.where(*keys)}: missing required key {key!r}")
        return None
    value = mapping[key]
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in _as_tuple(types)):
        names = "/".join(t.__name__ for t in _as_tuple(types))
        raise ConfigError(f"{doc.where(*keys, key)}: {key!r} must be {names}, not {value!r}")
    return value


def _as_tuple(types):
    return types if isinstance(types, tuple) else (types,)
