"""Parse tegrastats lines (Nano, TX2, AGX Xavier, Orin) and summarise a run of them.

One line looks like (Nano)::

    RAM 1501/3956MB (lfb 332x4MB) SWAP 0/1982MB (cached 0MB) IRAM 0/252kB(lfb 252kB)
    CPU [16%@1479,13%@1479,off,4%@1479] EMC_FREQ 4%@1600 GR3D_FREQ 28%@76 NVDEC 716
    VIC_FREQ 0%@140 APE 25 PLL@39C CPU@44C GPU@41.5C POM_5V_IN 4122/3107 POM_5V_GPU 109/85

Orin prints a timestamp first, ``GR3D_FREQ 0%@[0,0]`` (one frequency per GPC) and rails as
``VDD_IN 5678mW/5678mW``; AGX Xavier on JetPack 4.2 prints ``EMC_FREQ 0%`` without a frequency and
rails without the ``VDD_`` prefix (``GPU 463/463``). A rail pair is current/average in mW. A sensor
tegrastats reports as -256C is absent and becomes None.
"""

import re

_TIMESTAMP = re.compile(r"^(?P<ts>\d\d-\d\d-\d{4} \d\d:\d\d:\d\d)\s+")
_RAM = re.compile(r"\bRAM (?P<used>\d+)/(?P<total>\d+)MB(?: \(lfb (?P<blocks>\d+)x(?P<size>\d+)MB\))?")
_SWAP = re.compile(r"\bSWAP (?P<used>\d+)/(?P<total>\d+)MB(?: \(cached (?P<cached>\d+)MB\))?")
_IRAM = re.compile(r"\bIRAM (?P<used>\d+)/(?P<total>\d+)kB")
_CPU = re.compile(r"\bCPU \[(?P<cores>[^\]]*)\]")
_CORE = re.compile(r"^(?P<load>\d+)%(?:@(?P<freq>\d+))?$")
_LOAD_FREQ = re.compile(r"\b(?P<name>EMC_FREQ|GR3D_FREQ|VIC_FREQ|NVENC_FREQ|NVDEC_FREQ|NVJPG_FREQ|OFA_FREQ)"
                        r" (?:(?P<load>\d+)%)?(?:@?(?P<freq>\d+|\[[\d,]*\]))?")
_FIXED_FREQ = re.compile(r"\b(?P<name>NVDEC|NVENC|NVJPG|NVJPG1|APE|MSENC|VIC)(?P<one> \d+)(?=\s|$)")
_TEMPERATURE = re.compile(r"\b(?P<name>[A-Za-z][A-Za-z0-9_]*)@(?P<value>-?\d+(?:\.\d+)?)C\b")
_RAIL = re.compile(r"(?:^|\s)(?P<name>[A-Z][A-Z0-9_]*) (?P<now>\d+)(?:mW)?/(?P<avg>\d+)(?:mW)?(?=\s|$)")

# What each power rail measures, by the names each board family gives them (INA3221 monitors;
# the L4T Development Guide's power-monitoring tables and the captures in tests/fixtures/logs):
# Nano POM_5V_IN/_GPU/_CPU; TX2 and Xavier NX VDD_IN, VDD_GPU or VDD_SYS_GPU, VDD_CPU or
# VDD_SYS_CPU; AGX Xavier (JetPack 4.2) GPU, CPU, SOC, CV, VDDRQ, SYS5V and no input rail;
# AGX Orin VIN_SYS_5V0, VDD_GPU_SOC (GPU with SOC), VDD_CPU_CV (CPU with CV); Orin Nano/NX
# VDD_IN and VDD_CPU_GPU_CV (CPU, GPU and CV on one rail).
# Rails that carry the board's total input power, where tegrastats reports one.
INPUT_RAILS = ("POM_5V_IN", "VDD_IN", "VIN_SYS_5V0")
GPU_RAILS = ("POM_5V_GPU", "VDD_GPU", "VDD_SYS_GPU", "GPU", "VDD_GPU_SOC", "VDD_CPU_GPU_CV")
CPU_RAILS = ("POM_5V_CPU", "VDD_CPU", "VDD_SYS_CPU", "CPU", "VDD_CPU_CV", "VDD_CPU_GPU_CV")
# Rails that measure more than their first word says: named so a report never calls them "GPU".
SHARED_RAILS = {"VDD_GPU_SOC": "GPU and SOC", "VDD_CPU_CV": "CPU and CV",
                "VDD_CPU_GPU_CV": "CPU, GPU and CV"}
# Sensors whose reading is not a measured temperature: PMIC-Die reports fixed steps (PMIC@100C
# at every line of C10, C12, C13 while the other sensors read 30-48 C; PMIC@50C in C11), so it
# never counts as the board's peak (jetson-stats leaves it out too).
NOT_TEMPERATURES = ("PMIC",)
_NOT_RAILS = ("RAM", "SWAP", "IRAM")
_SENSOR_ABSENT_C = -256.0

_ENGINE_NAMES = {"EMC_FREQ": "emc", "GR3D_FREQ": "gpu"}


def parse_tegrastats_line(line):
    """Parse one tegrastats line into a dict; keys for what the line does not show are left out."""
    result = {}
    text = line.strip()
    stamp = _TIMESTAMP.match(text)
    if stamp:
        result["timestamp"] = stamp.group("ts")
        text = text[stamp.end():]

    ram = _RAM.search(text)
    if ram:
        result["ram_used_mb"] = int(ram.group("used"))
        result["ram_total_mb"] = int(ram.group("total"))
        if ram.group("blocks"):
            result["ram_lfb_blocks"] = int(ram.group("blocks"))
            result["ram_lfb_block_mb"] = int(ram.group("size"))
    swap = _SWAP.search(text)
    if swap:
        result["swap_used_mb"] = int(swap.group("used"))
        result["swap_total_mb"] = int(swap.group("total"))
        if swap.group("cached"):
            result["swap_cached_mb"] = int(swap.group("cached"))
    iram = _IRAM.search(text)
    if iram:
        result["iram_used_kb"] = int(iram.group("used"))
        result["iram_total_kb"] = int(iram.group("total"))

    cpu = _CPU.search(text)
    if cpu:
        result["cpu"] = [_parse_core(core) for core in cpu.group("cores").split(",") if core.strip()]

    engines = {}
    for match in _LOAD_FREQ.finditer(text):
        name = match.group("name")
        load = int(match.group("load")) if match.group("load") is not None else None
        freq, per_gpc = _parse_freq(match.group("freq"))
        if load is None and freq is None:
            continue
        # "VIC_FREQ 729" (Orin) is a frequency alone; "VIC_FREQ 0%@140" is load and frequency.
        if name in _ENGINE_NAMES:
            prefix = _ENGINE_NAMES[name]
            result[prefix + "_load_pct"] = load
            result[prefix + "_freq_mhz"] = freq
            if per_gpc is not None:
                result[prefix + "_gpc_freq_mhz"] = per_gpc
        else:
            engines[name.replace("_FREQ", "")] = {"load_pct": load, "freq_mhz": freq}
    for match in _FIXED_FREQ.finditer(text):
        engines.setdefault(match.group("name"), {"load_pct": None, "freq_mhz": int(match.group("one"))})
    if engines:
        result["engines"] = engines

    temperatures = {}
    for match in _TEMPERATURE.finditer(text):
        value = float(match.group("value"))
        temperatures[match.group("name")] = None if value == _SENSOR_ABSENT_C else value
    if temperatures:
        result["temperatures_c"] = temperatures

    rails = {}
    for match in _RAIL.finditer(text):
        name = match.group("name")
        # "NC" marks a monitor channel that is not connected (AGX Orin prints it twice).
        if name in _NOT_RAILS or name == "NC":
            continue
        rails[name] = {"current_mw": int(match.group("now")), "average_mw": int(match.group("avg"))}
    if rails:
        result["power_mw"] = rails
        for name in INPUT_RAILS:
            if name in rails:
                result["power_in_mw"] = rails[name]["current_mw"]
                break
    return result


def _parse_core(text):
    text = text.strip()
    match = _CORE.match(text)
    if not match:  # "off" for a parked core, or something this parser does not know
        return {"load_pct": None, "freq_mhz": None, "online": text != "off"}
    freq = match.group("freq")
    return {"load_pct": int(match.group("load")), "freq_mhz": int(freq) if freq else None, "online": True}


def _parse_freq(text):
    """'921' -> (921, None); '[0,612]' -> (612, [0, 612]); None -> (None, None)."""
    if text is None:
        return None, None
    if text.startswith("["):
        values = [int(part) for part in text.strip("[]").split(",") if part.strip().isdigit()]
        return (max(values) if values else None), values
    return int(text), None


def summarise(lines):
    """Summarise tegrastats lines: peak RAM/swap, mean and peak GPU load, input power.

    Lines without a RAM reading (blank, a prompt, a comment) are not samples. Means are over the
    samples that report the value; a value no sample reports is None.
    """
    samples = [parse_tegrastats_line(line) for line in lines]
    samples = [sample for sample in samples if "ram_used_mb" in sample]
    gpu = [s["gpu_load_pct"] for s in samples if s.get("gpu_load_pct") is not None]
    gpu_freq = [s["gpu_freq_mhz"] for s in samples if s.get("gpu_freq_mhz") is not None]
    swap = [s["swap_used_mb"] for s in samples if "swap_used_mb" in s]
    power = [s["power_in_mw"] for s in samples if "power_in_mw" in s]
    cores = [core["load_pct"] for s in samples for core in s.get("cpu", []) if core["load_pct"] is not None]
    return {
        "samples": len(samples),
        "ram_total_mb": samples[0]["ram_total_mb"] if samples else None,
        "ram_used_peak_mb": max(s["ram_used_mb"] for s in samples) if samples else None,
        "swap_used_peak_mb": max(swap) if swap else None,
        "gpu_load_mean_pct": _mean(gpu),
        "gpu_load_peak_pct": max(gpu) if gpu else None,
        "gpu_freq_peak_mhz": max(gpu_freq) if gpu_freq else None,
        "cpu_load_mean_pct": _mean(cores),
        "power_in_mean_mw": _mean(power),
        "power_in_peak_mw": max(power) if power else None,
    }


def _mean(values):
    return (sum(values) / float(len(values))) if values else None
