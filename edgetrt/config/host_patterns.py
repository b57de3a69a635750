"""Ansible's host names and host patterns, as pure functions.

- :func:`split_address`: ``name:port`` / ``[v6addr]:port`` in an inventory host entry;
- :func:`expand_ranges`: ``jetson[01:20]``, ``node[a:f]``, ``rack[1:9:2]-[a:b]`` → the names;
- :func:`match_pattern`: a ``--limit`` pattern (``nano*``, ``jetsons:!broken``, ``a,b``,
  ``lab:&orins``, ``~regex``) → the set of host names it selects.

Each follows Ansible's documented and observed behaviour (tests compare them with
``ansible --list-hosts``); what Ansible leaves to its own host order (``group[0]`` subscripts)
is refused rather than guessed.
"""

from __future__ import annotations

import difflib
import fnmatch
import ipaddress
import re
import string
from typing import Iterable, Mapping

from edgetrt.errors import ConfigError, UsageError

#: more hosts than any shelf holds: a range past this is a typo, refused before it is expanded
MAX_HOSTS = 100_000

_LABEL = r"(?:\w|\[[^\]]*\])(?:[\w-]|\[[^\]]*\])*(?<![_-])"
_HOSTNAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*", re.UNICODE)
_BRACKETED_PORT = re.compile(r"\[(.+)\]:([0-9]+)")
_PORT = re.compile(r"((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)")
#: ``group[0]``, ``group[-1]``, ``group[1:3]``, ``group[1-3]``: Ansible's subscripts
_SUBSCRIPT = re.compile(r".+\[(?:-?[0-9]+|[0-9]+[:-][0-9]*)\]")
_COLON_SEPARATED = re.compile(r"(?:[^\s:\[\]]|\[[^\]]*\])+")


def split_address(entry: str) -> tuple[str, int | None]:
    """``nano1:2222`` → ("nano1", 2222); an entry that is not a valid address stays whole."""
    address, port = entry, None
    for form in (_BRACKETED_PORT, _PORT):
        found = form.fullmatch(address)
        if found:
            address, port = found.group(1), int(found.group(2))
    if _HOSTNAME.fullmatch(address) or _is_ipv6(address):
        return address, port
    return entry, None


def _is_ipv6(text: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(text), ipaddress.IPv6Address)
    except ValueError:
        return False


def expand_ranges(name: str, where: str) -> list[str]:
    """Every name a ``[begin:end(:step)]`` range in ``name`` stands for (``name`` alone if none)."""
    if "[" not in name:
        return [name]
    total = 1
    for bounds in re.findall(r"\[([^\]]*)\]", name):
        total *= len(_range_items(bounds, name, where))
        if total > MAX_HOSTS:
            raise ConfigError(f"{where}: host range {name!r} stands for more than {MAX_HOSTS} hosts",
                              hint="check the range's begin and end")
    return _expand(name, where)


def _expand(name: str, where: str) -> list[str]:
    head, _, rest = name.partition("[")
    bounds, closed, tail = rest.partition("]")
    if not closed:
        raise ConfigError(f"{where}: host range in {name!r} has no closing ']'")
    names = []
    for item in _range_items(bounds, name, where):
        expanded = head + item + tail
        names.extend(_expand(expanded, where) if "[" in expanded else [expanded])
    return names


def _range_items(bounds: str, name: str, where: str) -> list[str]:
    parts = bounds.split(":")
    if len(parts) not in (2, 3):
        raise ConfigError(f"{where}: host range [{bounds}] in {name!r} must be begin:end or begin:end:step")
    begin, end = parts[0] or "0", parts[1]
    if not end:
        raise ConfigError(f"{where}: host range [{bounds}] in {name!r} has no end")
    try:
        step = int(parts[2]) if len(parts) == 3 else 1
        if step < 1:
            raise ValueError
    except ValueError:
        raise ConfigError(f"{where}: host range [{bounds}] in {name!r}: the step must be a "
                          "positive whole number") from None
    if begin in string.ascii_letters and end in string.ascii_letters:
        first, last = string.ascii_letters.index(begin), string.ascii_letters.index(end)
        if first > last:
            raise ConfigError(f"{where}: host range [{bounds}] in {name!r} ends before it begins")
        return list(string.ascii_letters[first:last + 1:step])
    if not (begin.isdigit() and end.isdigit()):
        raise ConfigError(f"{where}: host range [{bounds}] in {name!r} must be numbers (01:20) or "
                          "single letters (a:f)")
    width = len(begin) if begin.startswith("0") and len(begin) > 1 else 0
    if width and len(end) != width:
        raise ConfigError(f"{where}: host range [{bounds}] in {name!r}: a zero-padded begin needs an "
                          "end of the same width")
    count = max(0, (int(end) - int(begin)) // step + 1)
    if count > MAX_HOSTS:
        raise ConfigError(f"{where}: host range {name!r} stands for more than {MAX_HOSTS} hosts",
                          hint="check the range's begin and end")
    return [str(i).zfill(width) for i in range(int(begin), int(end) + 1, step)]


def split_pattern(pattern: str) -> list[str]:
    """``a,b`` and ``a:b:!c`` → the terms (a lone address such as ``host:22`` stays one term)."""
    if "," in pattern:
        terms = pattern.split(",")
    elif split_address(pattern)[0] != pattern or _HOSTNAME.fullmatch(pattern) or _is_ipv6(pattern):
        terms = [pattern]
    else:
        terms = _COLON_SEPARATED.findall(pattern)
    return [term.strip() for term in terms if term.strip()]


def match_pattern(pattern: str, groups: Mapping[str, Iterable[str]], hosts: Iterable[str],
                  *, what: str = "--limit") -> set[str]:
    """The hosts an Ansible pattern selects from ``groups`` (name → all its hosts) and ``hosts``.

    As Ansible: terms without a prefix are a union, then ``&term`` intersects and ``!term``
    removes, whatever their order; no plain term means ``all``. Unlike Ansible, which warns and
    goes on, a term that matches nothing is an error: a typo in a limit would otherwise change
    which devices are measured.
    """
    hosts = list(hosts)
    terms = split_pattern(pattern)
    if not terms:
        raise UsageError(f"{what}: empty pattern", hint="e.g. 'nanos', 'nano*', 'jetsons:!broken'")
    plain = [t for t in terms if t[0] not in "!&"] or ["all"]
    selected: set[str] = set()
    for term in plain:
        selected |= _match_term(term, groups, hosts, what, plain=True)
    for term in (t for t in terms if t[0] == "&"):
        selected &= _match_term(term[1:], groups, hosts, what)
    for term in (t for t in terms if t[0] == "!"):
        selected -= _match_term(term[1:], groups, hosts, what)
    return selected


def _match_term(term: str, groups: Mapping[str, Iterable[str]], hosts: list[str], what: str,
                plain: bool = False) -> set[str]:
    if not term:
        raise UsageError(f"{what}: '!' or '&' needs a name after it")
    if plain and term in hosts:  # Ansible's shortcut, taken only for terms without '!' or '&'
        return {term}
    if term[0] != "~" and _SUBSCRIPT.fullmatch(term):
        raise UsageError(f"{what}: subscripts such as {term!r} are not supported (they depend on "
                         "Ansible's host order)", hint="name the hosts, or use a glob such as 'nano0*'")
    try:
        matcher = re.compile(term[1:] if term[0] == "~" else fnmatch.translate(term))
    except re.error as exc:
        raise UsageError(f"{what}: {term!r} is not a valid pattern: {exc}") from None
    matched_groups = [g for g in groups if matcher.match(g)]
    found = {h for g in matched_groups for h in groups[g]}
    # As Ansible: hosts are matched too when no group matched or the term is a glob or regex.
    if not matched_groups or term[0] == "~" or any(c in term for c in ".?*["):
        found |= {h for h in hosts if matcher.match(h)}
    if not found and not matched_groups:
        names = list(groups) + hosts
        guess = difflib.get_close_matches(term, names, n=3)
        raise UsageError(f"{what}: {term!r} matches no host or group",
                         hint=(f"did you mean {', '.join(guess)}? " if guess else "") +
                         f"groups: {', '.join(list(groups)[:20])}")
    return found
