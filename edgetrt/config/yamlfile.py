"""YAML files read safely, with file:line in every error and a "did you mean" for unknown keys.

What a file parsed to is kept in the host cache by its text (see _cached): importing PyYAML and
parsing cost ~15 ms of every command that reads a device file, a recipe or the profiles, and the
files rarely change. PyYAML is imported only when a text is parsed.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from edgetrt.config.files import CONFIG_FILE_LIMIT, read_text_capped
from edgetrt.config.homes import save_record
from edgetrt.errors import ConfigError

#: the host cache's part holding parsed texts
CACHE_PART = "parsed"


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


#: deepest nesting of [ ] / { } / indentation a config file may use (ours use 3)
MAX_DEPTH = 64
#: nodes after alias expansion: a recipe has ~40; a billion laughs has 10**9
MAX_NODES = 20_000
#: characters in one scalar (a description is a sentence; Python's int() refuses 4300 digits)
MAX_SCALAR = 4096

def _loader():
    import yaml

    try:  # libyaml: the same YAML, parsed about 20x faster than the pure-Python parser
        return yaml.CSafeLoader
    except AttributeError:  # pragma: no cover - PyYAML built without libyaml
        return yaml.SafeLoader


def _check_events(text: str, path: Path) -> None:
    """Bound nesting and alias expansion from the event stream, before anything is composed.

    The event parser keeps its own stack (no recursion), so 50,000 ``[`` cost 65 events here;
    composing them would recurse once per level. Aliases are counted with the size of what they
    name, so ``&a [*b, *b, ...]`` chains are refused after MAX_NODES, in linear time, and an alias
    used inside its own anchor (``&n [*n]``) is refused as recursive.
    """
    import yaml

    stack: list[list] = []  # open collections: [anchor, expanded size so far]
    open_anchors: dict[str, int] = {}
    sizes: dict[str, int] = {}
    expanded = 0

    def where(event) -> str:
        return f"{path}:{event.start_mark.line + 1}"

    def add(size: int, event) -> None:
        nonlocal expanded
        expanded += size
        if stack:
            stack[-1][1] += size
        if expanded > MAX_NODES:
            raise ConfigError(f"{where(event)}: more than {MAX_NODES} YAML values (after expanding "
                              "aliases); a configuration file is never this large",
                              hint="aliases that repeat aliases grow exponentially (a YAML bomb)")

    for event in yaml.parse(text, Loader=_loader()):
        if isinstance(event, yaml.ScalarEvent):
            if len(event.value) > MAX_SCALAR:
                raise ConfigError(f"{where(event)}: a value of {len(event.value)} characters "
                                  f"(at most {MAX_SCALAR})")
            if event.anchor is not None:
                sizes[event.anchor] = 1
            add(1, event)
        elif isinstance(event, yaml.AliasEvent):
            if event.anchor in open_anchors:
                raise ConfigError(f"{where(event)}: alias *{event.anchor} is used inside its own "
                                  f"anchor &{event.anchor} (line {open_anchors[event.anchor]}): "
                                  "a recursive structure", hint="a configuration value cannot contain itself")
            add(sizes.get(event.anchor, 1), event)  # an unknown alias is the composer's error
        elif isinstance(event, yaml.CollectionStartEvent):
            if len(stack) >= MAX_DEPTH:
                raise ConfigError(f"{where(event)}: nested more than {MAX_DEPTH} levels deep")
            add(1, event)
            stack.append([event.anchor, 1])
            if event.anchor is not None:
                open_anchors[event.anchor] = event.start_mark.line + 1
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, size = stack.pop()
            if anchor is not None:
                open_anchors.pop(anchor, None)
                sizes[anchor] = size


def _record_lines(node, prefix, lines, path, seen):
    """Line of every key and item; duplicate and non-text keys refused. Depth is bounded above."""
    import yaml

    if id(node) in seen:  # an alias: its lines were recorded where it was defined
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first: dict[tuple, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise ConfigError(f"{path}:{line}: a key must be plain text, not a "
                                  f"{'list' if isinstance(key_node, yaml.SequenceNode) else 'mapping'}")
            ident = (key_node.tag, key_node.value)
            if key_node.tag == "tag:yaml.org,2002:merge":
                _record_lines(value_node, prefix, lines, path, seen)
                continue
            if ident in first:
                raise ConfigError(f"{path}:{line}: duplicate key {key_node.value!r} (first at line "
                                  f"{first[ident]})", hint="remove one of them: YAML would keep the last silently")
            first[ident] = line
            key_path = prefix + (key_node.value,)
            lines[key_path] = line
            _record_lines(value_node, key_path, lines, path, seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            item_path = prefix + (i,)
            lines[item_path] = item.start_mark.line + 1
            _record_lines(item, item_path, lines, path, seen)


def load_yaml(path: Path, limit: int = CONFIG_FILE_LIMIT) -> YamlDoc:
    """Read and parse one YAML file; every failure is one ConfigError naming ``path:line``."""
    path = Path(path)
    text = read_text_capped(path, limit, "the YAML file")
    record = _record_path(text)
    kept = _cached(record)
    if kept is not None:
        return YamlDoc(path, *kept)
    doc = _parse(path, text)
    save_record(str(record), (doc.data, doc.lines))  # none for a value marshal cannot hold
    return doc


# ---- parsed texts, kept by content ----------------------------------------------------------
# A record is named by the SHA-256 of the text and of what parsing it depends on: the record's
# format, this Python (marshal's), this module and PyYAML's files as they are now (size and
# mtime). So an edited file is another text, and a changed parser another name; nothing is ever
# trusted by a file's stat alone. Only what parsed without error is kept; a record that cannot be
# read or unmarshalled is parsed anew, a cache that cannot be written is skipped. marshal, written as the
# help cache's records are (homes.save_record): what is kept is plain data, in the user's own cache.

#: bumped when a record's layout changes
RECORD_FORMAT = 1
_SIGNATURE: list[bytes] = []


def _signature() -> bytes:
    if not _SIGNATURE:
        import importlib.util
        import sys

        parts = [str(RECORD_FORMAT), sys.version]
        spec = importlib.util.find_spec("yaml")
        for file in (__file__, spec.origin if spec and spec.origin else None):
            try:
                st = os.stat(file) if file else None
            except OSError:
                st = None
            parts.append(f"{file}:{st.st_size}:{st.st_mtime_ns}" if st else f"{file}:-")
        _SIGNATURE.append("\0".join(parts).encode())
    return _SIGNATURE[0]


def _record_path(text: str) -> Path:
    import hashlib

    from edgetrt.config import paths

    digest = hashlib.sha256(_signature() + b"\0" + text.encode("utf-8", "surrogatepass")).hexdigest()
    return paths.cache_home() / CACHE_PART / f"{digest[:40]}.marshal"


def _cached(record: Path) -> tuple | None:
    import marshal

    try:
        data, lines = marshal.loads(record.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return None
    return (data, lines) if isinstance(lines, dict) else None


def _parse(path: Path, text: str) -> YamlDoc:
    import yaml

    lines: dict[tuple, int] = {}
    try:
        _check_events(text, path)
        loader = _loader()(text)
        try:
            node = loader.get_single_node()
            if node is not None:
                _record_lines(node, (), lines, path, set())
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(f"{where}: YAML syntax error: {problem}",
                          hint="fix the file's syntax (indentation, colons, quotes)") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {' '.join(str(exc).split())}") from exc
    except (ValueError, TypeError, OverflowError) as exc:  # a scalar no constructor could convert
        raise ConfigError(f"{path}: invalid value: {exc}") from exc
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
    if not _is_instance(value, types):
        names = _type_names(types)
        raise ConfigError(f"{doc.where(*keys, key)}: {key!r} must be {names}, not {_show(value)}")
    return value


def expect_list(doc: YamlDoc, mapping: dict, key: str, item_types, *keys) -> list | None:
    """``mapping[key]`` as a list whose every item is of ``item_types``; each wrong item is
    refused with its own line (``input_sizes: [big]`` → ``file:9: input_sizes[0] must be int``)."""
    items = expect_type(doc, mapping, key, list, *keys)
    if items is None:
        return None
    names = _type_names(item_types)
    for i, item in enumerate(items):
        if not _is_instance(item, item_types):
            raise ConfigError(f"{doc.where(*keys, key, i)}: {key}[{i}] must be {names}, not "
                              f"{_show(item)}")
    return items


def _is_instance(value, types) -> bool:
    # YAML's true/false are bool, a subclass of int: never accepted where a number is asked for
    if isinstance(value, bool) and bool not in _as_tuple(types):
        return False
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return False  # .nan / .inf are floats no setting means
    return isinstance(value, types)


def _type_names(types) -> str:
    types = _as_tuple(types)
    if set(types) == {int, float}:
        return "a number"
    return " or ".join(_type_name(t) for t in types)


def _type_name(t) -> str:
    return {int: "an integer", float: "a number", str: "text", list: "a list", dict: "a mapping",
            bool: "true or false"}.get(t, t.__name__)


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _as_tuple(types):
    return types if isinstance(types, tuple) else (types,)
