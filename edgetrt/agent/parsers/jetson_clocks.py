"""Parse ``jetson_clocks --show`` and the state file ``jetson_clocks --store FILE`` writes.

--show prints, per L4T release (the lines jetson-stats' jtop/core/jetson_clocks.py parses)::

    cpu0: Online=1 Governor=schedutil MinFreq=102000 MaxFreq=1479000 CurrentFreq=1479000 IdleStates: WFI=1 c7=1
    GPU MinFreq=76800000 MaxFreq=921600000 CurrentFreq=921600000
    EMC MinFreq=204000000 MaxFreq=1600000000 CurrentFreq=1600000000 FreqOverride=1
    NV Power Mode: MAXN

CPU frequencies are kHz, GPU and EMC Hz. --store writes one ``/sys/path:value`` line per setting.
"""

import re

_CPU = re.compile(r"^cpu(?P<index>\d+):\s+Online=(?P<online>\d)\s+Governor=(?P<governor>\S+)\s+"
                  r"MinFreq=(?P<min>\d+)\s+MaxFreq=(?P<max>\d+)\s+CurrentFreq=(?P<cur>\d+)")
_GPU = re.compile(r"^GPU MinFreq=(?P<min>\d+) MaxFreq=(?P<max>\d+) CurrentFreq=(?P<cur>\d+)")
_EMC = re.compile(r"^EMC MinFreq=(?P<min>\d+) MaxFreq=(?P<max>\d+) CurrentFreq=(?P<cur>\d+)"
                  r"(?: FreqOverride=(?P<override>\d))?")
_MODE = re.compile(r"^NV Power Mode: (?P<name>\S.*?)\s*$")


def _mhz(value, per_mhz):
    return round(int(value) / float(per_mhz), 1)


def parse_show(text):
    """{"cpu": [{index, online, governor, min_mhz, max_mhz, cur_mhz}], "gpu": {...}, "emc": {...},
    "power_mode": name}; parts the text does not show are absent."""
    result = {}
    cpus = []
    for raw in text.splitlines():
        line = raw.strip()
        match = _CPU.match(line)
        if match:
            cpus.append({"index": int(match.group("index")), "online": match.group("online") == "1",
                         "governor": match.group("governor"),
                         "min_mhz": _mhz(match.group("min"), 1e3), "max_mhz": _mhz(match.group("max"), 1e3),
                         "cur_mhz": _mhz(match.group("cur"), 1e3)})
            continue
        for key, pattern in (("gpu", _GPU), ("emc", _EMC)):
            match = pattern.match(line)
            if match:
                result[key] = {"min_mhz": _mhz(match.group("min"), 1e6), "max_mhz": _mhz(match.group("max"), 1e6),
                               "cur_mhz": _mhz(match.group("cur"), 1e6)}
                if key == "emc" and match.group("override") is not None:
                    result[key]["override"] = match.group("override") == "1"
        match = _MODE.match(line)
        if match:
            result["power_mode"] = match.group("name")
    if cpus:
        result["cpu"] = cpus
    return result


def parse_store(text):
    """{sysfs path: value} from a --store file ("path:value" per line; other lines ignored)."""
    settings = {}
    for line in text.splitlines():
        path, sep, value = line.strip().rpartition(":")
        if sep and path.startswith("/"):
            settings[path] = value
    return settings
