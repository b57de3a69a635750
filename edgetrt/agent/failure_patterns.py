"""The failure-text table (data/failure_patterns.json), read once for the agent and the host.

The agent's run classification (outcome.py) and the host's log classifier
(edgetrt/diagnose/log_classifier.py) both read the table through this module, so a wording
learnt from a real log changes both at once. Standard library only, Python 3.6: it ships in the
agent's zipapp and is read with pkgutil, which works from inside a zip.
"""

import collections
import json
import re

TABLE_FILE = "data/failure_patterns.json"
PATTERN_FLAGS = re.IGNORECASE | re.MULTILINE

FailureKind = collections.namedtuple("FailureKind", "code run_status explains requires patterns sources")
FailureKind.__doc__ = """One finding of the table: its code, the run status it implies (or None),
the codes it can cause, an optional regex the whole text must contain, its compiled patterns and
the table's raw entries for them (regex, example, source)."""

_cache = {}


class FailureTableError(Exception):
    """The table shipped with the agent is missing or malformed: a packaging bug, not a user error."""


def load_failure_kinds():
    """The table's findings in rank order (cause before effect), compiled; cached."""
    if "kinds" not in _cache:
        _cache["kinds"] = tuple(_compile(entry) for entry in _read_table()["findings"])
    return _cache["kinds"]


def kinds_implying(status):
    """The findings whose text makes a run end with ``status`` (``oom``, ``incompatible``)."""
    return tuple(kind for kind in load_failure_kinds() if kind.run_status == status)


def matching_lines(kind, text):
    """The lines of ``text`` that are evidence of ``kind``; empty when it does not apply."""
    text = text or ""
    if kind.requires is not None and not kind.requires.search(text):
        return []
    return [line for line in text.splitlines() if any(pattern.search(line) for pattern in kind.patterns)]


def text_shows(kind, text):
    return bool(matching_lines(kind, text))


def _read_table():
    try:
        import pkgutil  # ~5 ms to import: only when the table is read

        data = pkgutil.get_data(__package__ or __name__, TABLE_FILE)
    except (IOError, OSError, ImportError) as error:
        raise FailureTableError("cannot read the agent's {}: {}".format(TABLE_FILE, error))
    if not data:
        raise FailureTableError("the agent's {} is missing".format(TABLE_FILE))
    try:
        table = json.loads(data.decode("utf-8"))
    except ValueError as error:
        raise FailureTableError("the agent's {} is not valid JSON: {}".format(TABLE_FILE, error))
    if not isinstance(table, dict) or not isinstance(table.get("findings"), list):
        raise FailureTableError("the agent's {} has no 'findings' list".format(TABLE_FILE))
    return table


def _compile(entry):
    try:
        patterns = tuple(re.compile(item["regex"], PATTERN_FLAGS) for item in entry["patterns"])
        requires = re.compile(entry["requires"], PATTERN_FLAGS) if entry.get("requires") else None
        return FailureKind(
            code=entry["code"],
            run_status=entry.get("run_status"),
            explains=tuple(entry.get("explains") or ()),
            requires=requires,
            patterns=patterns,
            sources=tuple(entry["patterns"]),
        )
    except (KeyError, TypeError, re.error) as error:
        raise FailureTableError("bad entry {!r} in the agent's {}: {}".format(
            entry.get("code") if isinstance(entry, dict) else entry, TABLE_FILE, error))
