"""known_hosts read the way OpenSSH reads it (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"), by us.

paramiko's own parser raises on an ``@revoked`` or ``@cert-authority`` line (it base64-decodes
the host pattern) and ignores markers altogether. Here every line is
``[@marker] patterns keytype base64 [comment]``: markers are understood, hashed names
(``|1|salt|hmac``), ``[host]:port``, ``*``/``?`` wildcards and ``!`` negation match as in
OpenSSH's match_hostname(), and a line that cannot be read is skipped (as OpenSSH does), never
fatal. Keys are compared as their wire blobs, so a key type paramiko cannot load (``sk-*``) still
counts as a known key of that host.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass, field
from pathlib import Path

from edgetrt.config.files import SSH_FILE_LIMIT, read_text_capped
from edgetrt.errors import HostKeyError

REVOKED = "@revoked"
CERT_AUTHORITY = "@cert-authority"
_MARKERS = (REVOKED, CERT_AUTHORITY)


@dataclass(frozen=True)
class KnownKey:
    """One usable line of a known_hosts file."""

    path: Path
    line: int
    marker: str | None
    patterns: str
    key_type: str
    blob: bytes

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"

    @property
    def fingerprint(self) -> str:
        return blob_fingerprint(self.blob)


@dataclass
class HostKeys:
    """What the known_hosts files say about one host name."""

    keys: list[KnownKey] = field(default_factory=list)        # plain lines: accepted keys
    revoked: list[KnownKey] = field(default_factory=list)     # @revoked: never accepted
    authorities: list[KnownKey] = field(default_factory=list)  # @cert-authority: not supported

    @property
    def key_types(self) -> set[str]:
        return {k.key_type for k in self.keys}


def blob_fingerprint(blob: bytes) -> str:
    """OpenSSH-style ``SHA256:<base64, no padding>`` of a key blob."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def parse(path: Path, text: str) -> list[KnownKey]:
    """Every readable line of a known_hosts file; unreadable ones are skipped."""
    found = []
    for number, raw in enumerate(text.splitlines(), 1):
        fields = raw.split()
        if not fields or fields[0].startswith("#"):
            continue
        marker = None
        if fields[0].startswith("@"):
            marker = fields.pop(0)
            if marker not in _MARKERS:
                continue  # OpenSSH: an unknown marker makes the line invalid
        if len(fields) < 3:
            continue
        patterns, key_type, encoded = fields[:3]
        try:
            blob = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            continue
        if not blob:
            continue
        found.append(KnownKey(path, number, marker, patterns, key_type, blob))
    return found


def load(paths: list[Path]) -> list[KnownKey]:
    """All lines of the existing files among ``paths`` (a FIFO or a huge file: one error line)."""
    lines = []
    for path in paths:
        if path.exists():
            lines += parse(path, read_text_capped(path, SSH_FILE_LIMIT, "the known_hosts file"))
    return lines


def lookup(lines: list[KnownKey], name: str) -> HostKeys:
    """The lines whose host patterns match ``name`` (``host`` or ``[host]:port``)."""
    result = HostKeys()
    for line in lines:
        if not host_matches(line.patterns, name):
            continue
        if line.marker == REVOKED:
            result.revoked.append(line)
        elif line.marker == CERT_AUTHORITY:
            result.authorities.append(line)
        else:
            result.keys.append(line)
    return result


def host_matches(patterns: str, name: str) -> bool:
    """OpenSSH's match_hostname(): a hashed entry, or a pattern list where a negation wins."""
    name = name.lower()
    if patterns.startswith("|1|"):
        return _hashed_match(patterns, name)
    matched = False
    for pattern in patterns.split(","):
        negated = pattern.startswith("!")
        if negated:
            pattern = pattern[1:]
        if pattern and wildcard_match(pattern.lower(), name):
            if negated:
                return False
            matched = True
    return matched


def _hashed_match(entry: str, name: str) -> bool:
    parts = entry.split("|")  # "", "1", salt, hash
    if len(parts) != 4:
        return False
    try:
        salt, expected = base64.b64decode(parts[2], validate=True), base64.b64decode(parts[3], validate=True)
    except (binascii.Error, ValueError):
        return False
    actual = hmac.new(salt, name.encode(), hashlib.sha1).digest()
    return hmac.compare_digest(actual, expected)


def wildcard_match(pattern: str, text: str) -> bool:
    """``*`` and ``?`` glob match (OpenSSH patterns have no character classes).

    The classic two-pointer walk that backtracks only to the last ``*``: O(len(pattern) *
    len(text)) at worst, where a regular expression of many ``.*`` can take exponential time on a
    hostile line.
    """
    p = t = 0
    star, mark = -1, 0
    while t < len(text):
        if p < len(pattern) and pattern[p] in ("?", text[t]):
            p += 1
            t += 1
        elif p < len(pattern) and pattern[p] == "*":
            star, mark = p, t
            p += 1
        elif star >= 0:
            p = star + 1
            mark += 1
            t = mark
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


def check(known: HostKeys, name: str, key_type: str, blob: bytes, *, trust_new_host: bool,
          user_file: Path) -> str:
    """The verdict on the key a server presented: "known", "new" (record it) or HostKeyError.

    As strict as OpenSSH in StrictHostKeyChecking=yes, except that ``trust_new_host`` accepts a
    host that has no key at all: revoked → refused; one of the host's keys → known; any other key,
    of the same type or not → CHANGED (a tool that runs unattended does not ask).
    """
    presented = blob_fingerprint(blob)
    for line in known.revoked:
        if line.blob == blob:
            raise HostKeyError(
                f"host key for {name} is REVOKED ({line.where} marks it @revoked): {key_type} "
                f"{presented}; refusing to connect",
                hint="the device offers a key that was withdrawn: re-key the device, then "
                     "remove its old entries with ssh-keygen -R")
    if any(line.blob == blob for line in known.keys):
        return "known"
    if known.keys:
        same = [k for k in known.keys if k.key_type == key_type] or known.keys
        expected = same[0]
        raise HostKeyError(
            f"host key for {name} has CHANGED: expected {expected.key_type} {expected.fingerprint} "
            f"({expected.where}), got {key_type} {presented}; someone may be intercepting the connection",
            hint=f"if the device was reinstalled, remove its old entry: ssh-keygen -R '{name}' -f {user_file}")
    note = ""
    if known.authorities:
        note = (f"; {known.authorities[0].where} trusts a certificate authority for it, but "
                "edgetrt does not check host certificates")
    if not trust_new_host:
        raise HostKeyError(
            f"host key for {name} is not known: {key_type} {presented}{note}",
            hint="check the fingerprint on the device (ssh-keygen -lf /etc/ssh/ssh_host_*.pub), "
                 "then rerun with --trust-new-host to record it")
    return "new"


def record_line(name: str, key_type: str, key_base64: str) -> str:
    return f"{name} {key_type} {key_base64}\n"
