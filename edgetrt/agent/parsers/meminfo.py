"""Parse /proc/meminfo (values in kB) into MB."""

import re

_LINE = re.compile(r"^(?P<key>[A-Za-z0-9_()]+):\s+(?P<value>\d+)(?:\s+kB)?\s*$")
_KEYS = (
    ("MemTotal", "mem_total_mb"),
    ("MemFree", "mem_free_mb"),
    ("MemAvailable", "mem_available_mb"),
    ("SwapTotal", "swap_total_mb"),
    ("SwapFree", "swap_free_mb"),
)


def parse_meminfo(text):
    """Return the keys of _KEYS that the text has, in MB rounded to 0.1 (1 MB = 1024 kB)."""
    values = {}
    for line in text.splitlines():
        match = _LINE.match(line.strip())
        if match:
            values[match.group("key")] = int(match.group("value"))
    result = {}
    for key, name in _KEYS:
        if key in values:
            result[name] = round(values[key] / 1024.0, 1)
    return result
