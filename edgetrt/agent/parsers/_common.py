"""Small helpers shared by the parsers (Python 3.6, standard library only)."""

import re

# trtexec prefixes every log line with "[MM/DD/YYYY-HH:MM:SS] [I] " (or [W], [E], [V]).
_LOG_PREFIX = re.compile(r"^\[\d\d/\d\d/\d{4}-\d\d:\d\d:\d\d\]\s*")
_SEVERITY = re.compile(r"^\[([IWEVF])\]\s?")


def to_number(text):
    """'12' -> 12, '1.5' -> 1.5, anything else -> None."""
    try:
        if re.match(r"^-?\d+$", text):
            return int(text)
        return float(text)
    except (TypeError, ValueError):
        return None


def strip_log_prefix(line):
    """Split a trtexec log line into (severity letter or None, message)."""
    rest = _LOG_PREFIX.sub("", line.rstrip("\r\n"))
    match = _SEVERITY.match(rest)
    if match:
        return match.group(1), rest[match.end():]
    return None, rest
