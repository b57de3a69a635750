"""Parse /etc/nv_tegra_release, the one line that names the L4T release.

``# R32 (release), REVISION: 7.6, GCID: 38171779, BOARD: t210ref, EABI: aarch64, DATE: Tue Nov  5
07:46:14 UTC 2024`` -> ``{"l4t": "32.7.6", "release": "32", "revision": "7.6", "board": "t210ref",
...}``. BOARD is t186ref on TX2, Xavier and Orin alike, so it does not identify the module on its own.
"""

import re

_RELEASE = re.compile(r"#\s*R(?P<release>\d+)\s*\(release\),\s*REVISION:\s*(?P<revision>\d+(?:\.\d+)*)(?P<rest>[^\n]*)")
_FIELD = re.compile(r",\s*(?P<key>[A-Z_]+):\s*(?P<value>[^,]*)")


def parse_nv_tegra_release(text):
    """Return {'l4t', 'release', 'revision', 'gcid', 'board', 'eabi', 'date'}; {} when no release line."""
    match = _RELEASE.search(text)
    if not match:
        return {}
    revision = match.group("revision")
    parts = revision.split(".")
    if len(parts) == 1:
        parts.append("0")
    result = {
        "l4t": ".".join([match.group("release")] + parts),
        "release": match.group("release"),
        "revision": revision,
    }
    for field in _FIELD.finditer(match.group("rest")):
        result[field.group("key").lower()] = field.group("value").strip()
    return result
