"""CPU, GPU and EMC clocks from sysfs: current, minimum and maximum, and whether they are pinned.

Every file read is listed in FILES and read under ``root`` (a test passes a sysroot). Units as the
kernel writes them: cpufreq in kHz, devfreq and EMC rates in Hz; everything returned is MHz.

"Pinned" is what ``jetson_clocks`` does: it raises each clock's minimum to its maximum, so a
pinned clock has min == max == current (at the power mode's maximum, which nvpmodel sets). The
EMC rates live in debugfs, readable by root only: as a normal user they are "not readable", and
``jetson_clocks --show`` (through ``sudo -n``, where that needs no password) is the other source.
"""

import glob
import os
import subprocess

from ..parsers import jetson_clocks
from ..programs import find_program

# The GPU's devfreq node per SoC: Nano (T210), TX2 (T186), Xavier (T194), Orin (T234, JetPack 5
# and 6). The same names jetson_clocks uses; /sys/class/devfreq/<node> links to the device.
GPU_DEVFREQ_NODES = ("57000000.gpu", "17000000.gp10b", "17000000.gv11b", "17000000.ga10b", "17000000.gpu")

# Every file read, in one place: (domain, key, path pattern under root, Hz per unit).
FILES = (
    ("cpu", "cur", "/sys/devices/system/cpu/cpu[0-9]*/cpufreq/scaling_cur_freq", 1e3),
    ("cpu", "min", "/sys/devices/system/cpu/cpu[0-9]*/cpufreq/scaling_min_freq", 1e3),
    ("cpu", "max", "/sys/devices/system/cpu/cpu[0-9]*/cpufreq/scaling_max_freq", 1e3),
    ("cpu", "hw_max", "/sys/devices/system/cpu/cpu[0-9]*/cpufreq/cpuinfo_max_freq", 1e3),
    ("gpu", "cur", "/sys/class/devfreq/{node}/cur_freq", 1.0),
    ("gpu", "min", "/sys/class/devfreq/{node}/min_freq", 1.0),
    ("gpu", "max", "/sys/class/devfreq/{node}/max_freq", 1.0),
    ("gpu", "available", "/sys/class/devfreq/{node}/available_frequencies", 1.0),
    # T186/T194/T234 (bpmp) and T210: the paths jetson_clocks itself reads
    ("emc", "cur", "/sys/kernel/debug/bpmp/debug/clk/emc/rate", 1.0),
    ("emc", "min", "/sys/kernel/debug/bpmp/debug/clk/emc/min_rate", 1.0),
    ("emc", "max", "/sys/kernel/debug/bpmp/debug/clk/emc/max_rate", 1.0),
    ("emc", "cur", "/sys/kernel/debug/clk/override.emc/clk_rate", 1.0),
    ("emc", "min", "/sys/kernel/debug/tegra_bwmgr/emc_min_rate", 1.0),
    ("emc", "max", "/sys/kernel/debug/tegra_bwmgr/emc_max_rate", 1.0),
)
JETSON_CLOCKS_PATHS = ("/usr/bin/jetson_clocks",)
_TIMEOUT_S = 20


def _read_number(path):
    try:
        with open(path) as fh:
            text = fh.read().split()
    except (IOError, OSError):
        return None
    try:
        return [int(t) for t in text] if len(text) > 1 else int(text[0])
    except (ValueError, IndexError):
        return None


def _under(root, pattern):
    return os.path.join(root, pattern.lstrip("/"))


def _gpu_node(root):
    for node in GPU_DEVFREQ_NODES:
        if os.path.isdir(_under(root, "/sys/class/devfreq/" + node)):
            return node
    return None


def read_clocks(root="/"):
    """{"cpu", "gpu", "emc": {cur_mhz, min_mhz, max_mhz, ..., pinned}, "pinned", "files", "not_readable"}.

    A domain whose files are absent is {"pinned": None, "why": ...}; ``pinned`` overall is True
    when every readable domain is pinned and all three were read, False when any is not, else None."""
    node = _gpu_node(root)
    found = {"cpu": {}, "gpu": {}, "emc": {}}
    files, unreadable = [], []
    for domain, key, pattern, per_unit in FILES:
        if "{node}" in pattern:
            if node is None:
                continue
            pattern = pattern.format(node=node)
        for path in sorted(glob.glob(_under(root, pattern))):
            value = _read_number(path)
            shown = "/" + os.path.relpath(path, root)  # the device's own path, whatever the root
            if value is None:
                if os.path.exists(path):
                    unreadable.append(shown)
                continue
            files.append(shown)
            mhz = [v / 1e6 * per_unit for v in value] if isinstance(value, list) else value / 1e6 * per_unit
            if domain == "cpu":
                found["cpu"].setdefault(key, []).append(round(mhz, 1))
            elif key not in found[domain]:
                found[domain][key] = [round(v, 1) for v in mhz] if isinstance(mhz, list) else round(mhz, 1)
    result = {"cpu": _cpu(found["cpu"]), "gpu": _single(found["gpu"], "GPU devfreq", node),
              "emc": _single(found["emc"], "EMC (debugfs)", None), "files": files}
    if unreadable:
        result["not_readable"] = unreadable
    result["pinned"] = _overall([result[d].get("pinned") for d in ("cpu", "gpu", "emc")])
    return result


def _cpu(values):
    if not values.get("cur"):
        return {"pinned": None, "why": "no cpufreq files (not a Linux cpufreq system, or no permission)"}
    cores = {"cur_mhz": values.get("cur"), "min_mhz": values.get("min"), "max_mhz": values.get("max"),
             "hw_max_mhz": values.get("hw_max")}
    if values.get("min") and values.get("max") and len(values["min"]) == len(values["cur"]):
        cores["pinned"] = all(lo == hi == cur for lo, hi, cur in zip(values["min"], values["max"], values["cur"]))
    else:
        cores["pinned"] = None
        cores["why"] = "scaling_min_freq/scaling_max_freq not readable"
    return cores


def _single(values, what, node):
    if not values.get("cur"):
        return {"pinned": None, "why": "{} not readable (EMC rates are in debugfs: root only; no GPU "
                                       "devfreq node off a Jetson)".format(what)}
    out = {"cur_mhz": values.get("cur"), "min_mhz": values.get("min"), "max_mhz": values.get("max")}
    if node:
        out["node"] = node
    if isinstance(values.get("available"), list) and values["available"]:
        out["available_max_mhz"] = max(values["available"])
    if values.get("min") is not None and values.get("max") is not None:
        out["pinned"] = values["min"] == values["max"] == values["cur"]
    else:
        out["pinned"] = None
        out["why"] = "{}: minimum or maximum not readable".format(what)
    return out


def _overall(flags):
    if any(flag is False for flag in flags):
        return False
    if all(flag is True for flag in flags):
        return True
    return None


def find_jetson_clocks():
    return find_program("jetson_clocks", JETSON_CLOCKS_PATHS)


def jetson_clocks_show():
    """``sudo -n jetson_clocks --show`` parsed, or {"why": reason} (no jetson_clocks, no
    passwordless sudo, a failure). It never asks for a password."""
    program = find_jetson_clocks()
    if program is None:
        return {"why": "no jetson_clocks on this machine (not a Jetson)"}
    try:
        proc = subprocess.Popen(["sudo", "-n", program, "--show"], stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = proc.communicate(timeout=_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return {"why": "jetson_clocks --show did not finish in {} s".format(_TIMEOUT_S)}
    except OSError as exc:
        return {"why": "could not run sudo: {}".format(exc)}
    if proc.returncode != 0:
        text = err.decode("utf-8", "replace").strip().splitlines()
        return {"why": "sudo -n jetson_clocks --show exited {}: {}".format(
            proc.returncode, text[-1][:200] if text else "no output")}
    parsed = jetson_clocks.parse_show(out.decode("utf-8", "replace"))
    parsed["source"] = "sudo -n {} --show".format(program)
    return parsed
