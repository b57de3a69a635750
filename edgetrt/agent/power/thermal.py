"""Thermal zones from sysfs: each zone's type, temperature and trip points (read under ``root``).

A ``passive`` trip point is where the kernel starts throttling that zone's clocks (the L4T power
management guides: thermal management overrides cpufreq/devfreq targets above it), so a run whose
sensor reached its zone's passive trip has reached a thermal cap. tegrastats names sensors by the
zone type's first word ("CPU-therm" -> CPU@, "cpu-thermal" -> cpu@, "Tboard_tegra" -> Tboard@),
which is how the two are matched (``sensor_key``).
"""

import glob
import os
import re

ZONES = "/sys/class/thermal/thermal_zone[0-9]*"
# Per zone, relative to it: the files read.
ZONE_FILES = ("type", "temp", "trip_point_*_type", "trip_point_*_temp")
# Readings that mean "no sensor" (tegrastats prints -256C for them; sysfs may give -40000 or less).
_ABSENT_BELOW_C = -40.0
# Zones whose reading is not a measured temperature (see parsers/tegrastats.NOT_TEMPERATURES).
NOT_TEMPERATURE_KEYS = ("pmic",)


def sensor_key(name):
    """'CPU-therm' -> 'cpu', 'thermal-fan-est' -> 'thermal', 'Tboard_tegra' -> 'tboard', 'GPU' -> 'gpu'."""
    return re.split(r"[-_]", name.strip().lower(), 1)[0]


def _read(path):
    try:
        with open(path) as fh:
            return fh.read().strip()
    except (IOError, OSError):
        return None


def _celsius(text):
    try:
        value = int(text) / 1000.0
    except (TypeError, ValueError):
        return None
    return None if value <= _ABSENT_BELOW_C else value


def read_zones(root="/"):
    """[{"zone", "type", "temp_c", "trips": [{"type", "temp_c"}]}] in zone order; [] off Linux thermal."""
    zones = []
    for directory in sorted(glob.glob(os.path.join(root, ZONES.lstrip("/"))),
                            key=lambda d: int(re.sub(r"\D", "", os.path.basename(d)) or 0)):
        kind = _read(os.path.join(directory, "type"))
        if not kind:
            continue
        trips = []
        for type_path in sorted(glob.glob(os.path.join(directory, "trip_point_*_type"))):
            trip_type = _read(type_path)
            temp = _celsius(_read(type_path[:-len("type")] + "temp"))
            if trip_type and temp is not None:
                trips.append({"type": trip_type, "temp_c": temp})
        zones.append({"zone": os.path.basename(directory), "type": kind,
                      "temp_c": _celsius(_read(os.path.join(directory, "temp"))), "trips": trips})
    return zones


def passive_caps(zones):
    """{sensor key: lowest passive trip in C} for zones that have one."""
    caps = {}
    for zone in zones:
        passive = [t["temp_c"] for t in zone["trips"] if t["type"] == "passive"]
        key = sensor_key(zone["type"])
        if passive and key not in NOT_TEMPERATURE_KEYS:
            caps[key] = min(passive + ([caps[key]] if key in caps else []))
    return caps


def board_temperature(root="/"):
    """(hottest real sensor in C, its zone type), or (None, reason): what --rigorous watches."""
    zones = [z for z in read_zones(root)
             if z["temp_c"] is not None and sensor_key(z["type"]) not in NOT_TEMPERATURE_KEYS]
    if not zones:
        return None, "no readable thermal zone under {}".format(os.path.join(root, ZONES.lstrip("/")))
    hottest = max(zones, key=lambda z: z["temp_c"])
    return hottest["temp_c"], hottest["type"]
