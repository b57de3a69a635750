"""Parse the power-mode files: /etc/nvpmodel.conf (the modes) and /var/lib/nvpmodel/status (the one set).

nvpmodel.conf declares ``< POWER_MODEL ID=0 NAME=MAXN >`` per mode and ``< PM_CONFIG DEFAULT=0 >``;
the status file holds ``pmode:0001`` (newer releases add `` fmode:...``).
"""

import re

_MODEL = re.compile(r"<\s*POWER_MODEL\s+ID=(?P<id>\d+)\s+NAME=(?P<name>[^\s>]+)")
_DEFAULT = re.compile(r"<\s*PM_CONFIG\s+DEFAULT=(?P<id>\d+)")
_STATUS = re.compile(r"pmode:\s*(?P<id>\d+)")


def parse_nvpmodel_conf(text):
    """Return {'modes': {id: name}, 'default_id': int or None}."""
    modes = {}
    for match in _MODEL.finditer(text):
        modes[int(match.group("id"))] = match.group("name")
    default = _DEFAULT.search(text)
    return {"modes": modes, "default_id": int(default.group("id")) if default else None}


def parse_nvpmodel_status(text):
    """'pmode:0001 fmode:quiet' -> 1; None when the text has no pmode."""
    match = _STATUS.search(text)
    return int(match.group("id")) if match else None
