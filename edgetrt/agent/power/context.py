"""A run's power and thermal figures from the tegrastats samples taken while it ran (pure).

A sample belongs to the timed phase when its line was read between the phase's start and end
(measure.py writes both as wall-clock times into the result's ``timed_window``). From the timed
samples: GPU / EMC / CPU frequencies, the mean of every power rail, the mean input power, energy
per inference; from all samples: every sensor's peak temperature. Then the verdict:

``throttled`` is True when the GPU clock was below 75 % of its maximum in more than 5 % of the
timed samples in which the GPU was busy (nvbench's rule, NVIDIA/nvbench #231; an idle GPU's low
clock is not throttling), or when a sensor reached its zone's passive trip point (a thermal cap);
False when neither happened and the GPU clock was seen; None (with the reason) when it could not
be told. A figure that could not be measured is None, and ``not_measured`` says why.
"""

from ..parsers import tegrastats
from ..parsers.tegrastats import CPU_RAILS, GPU_RAILS, INPUT_RAILS, NOT_TEMPERATURES, SHARED_RAILS
from .thermal import sensor_key

CLOCK_FLOOR = 0.75         # nvbench: a sample below 75 % of the maximum clock is throttled
THROTTLED_SHARE = 0.05     # more than 5 % of the timed samples
ATTRIBUTION = ("a tegrastats sample belongs to the timed phase when its line was read between "
               "the phase's start and end")


def _stats(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"min": min(values), "mean": sum(values) / float(len(values)), "max": max(values)}


def _mean(values):
    values = [v for v in values if v is not None]
    return sum(values) / float(len(values)) if values else None


def summarise_run(samples, window, inferences_per_s=None, batch=1, gpu_max=None, caps=None):
    """The run's ``power`` block. ``samples``: [(unix time, tegrastats line)]; ``window``:
    {"start", "end"} or None; ``gpu_max``: (MHz, where it was read) or None; ``caps``: {sensor
    key: passive trip C} from thermal.passive_caps, or None when no trip point was readable."""
    parsed = [(t, tegrastats.parse_tegrastats_line(line)) for t, line in samples]
    parsed = [(t, s) for t, s in parsed if "ram_used_mb" in s]
    block = {"source": "tegrastats", "samples": len(parsed), "attribution": ATTRIBUTION,
             "not_measured": {}, "power_mean_w": None, "energy_mj": None, "temperature_peak_c": None}
    missing = block["not_measured"]
    if not parsed:
        for name in ("power_mean_w", "energy_mj", "temperature_peak_c", "throttled"):
            missing[name] = "tegrastats printed no sample while the run lasted"
        return _verdict(block, None, None)
    timed = []
    if window and window.get("start") is not None and window.get("end") is not None:
        timed = [s for t, s in parsed if window["start"] <= t <= window["end"]]
        block["timed_s"] = window["end"] - window["start"]
    block["timed_samples"] = len(timed)
    _temperatures(block, parsed, timed, caps)
    if not timed:
        why = ("the run ended before its timed phase finished" if not window else
               "no tegrastats sample fell inside the {:.2f} s timed phase".format(block.get("timed_s", 0.0)))
        for name in ("power_mean_w", "energy_mj"):
            missing[name] = why
        return _verdict(block, None, why)
    _frequencies(block, timed)
    _rails(block, timed, inferences_per_s, batch)
    gpu_rule = _gpu_clock_rule(block, timed, gpu_max)
    return _verdict(block, gpu_rule, None)


def _frequencies(block, timed):
    block["gpu_freq_mhz"] = _stats([s.get("gpu_freq_mhz") for s in timed])
    block["emc_freq_mhz"] = _stats([s.get("emc_freq_mhz") for s in timed])
    block["cpu_freq_mhz"] = _stats([_mean([c["freq_mhz"] for c in s.get("cpu", []) if c["online"]])
                                    for s in timed])
    block["gpu_load_pct"] = _stats([s.get("gpu_load_pct") for s in timed])


def _temperatures(block, parsed, timed, caps):
    sensors = {}
    for _, sample in parsed:
        for name, value in (sample.get("temperatures_c") or {}).items():
            if value is not None:
                sensors.setdefault(name, []).append(value)
    block["temperatures_c"] = dict((name, {"first": v[0], "peak": max(v), "last": v[-1]})
                                   for name, v in sorted(sensors.items()))
    real = dict((name, v["peak"]) for name, v in block["temperatures_c"].items() if name not in NOT_TEMPERATURES)
    if real:
        hottest = max(real, key=lambda n: real[n])
        block["temperature_peak_c"], block["temperature_peak_sensor"] = real[hottest], hottest
    else:
        block["temperature_peak_c"] = None
        block["not_measured"]["temperature_peak_c"] = "tegrastats named no temperature sensor"
    if caps is None:
        block["thermal_caps_c"] = None
        block["not_measured"]["thermal_caps_c"] = "no passive trip point readable under /sys/class/thermal"
        return
    block["thermal_caps_c"] = {}
    reached = []
    checked = timed or [sample for _, sample in parsed]  # the timed phase, else the whole run
    for name in sorted(sensors):
        cap = caps.get(sensor_key(name))
        if cap is None or name in NOT_TEMPERATURES:
            continue
        block["thermal_caps_c"][name] = cap
        values = [(s.get("temperatures_c") or {}).get(name) for s in checked]
        peak = max([v for v in values if v is not None] or [None], key=lambda v: -1e9 if v is None else v)
        if peak is not None and peak >= cap:
            reached.append("{} reached {:.1f} C, its passive trip point ({:.1f} C)".format(name, peak, cap))
    block["caps_reached"] = reached


def _rail_names(rails, names):
    return [n for n in names if n in rails]


def _rails(block, timed, inferences_per_s, batch):
    rails = {}
    for sample in timed:
        for name, values in (sample.get("power_mw") or {}).items():
            rails.setdefault(name, []).append(values["current_mw"])
    block["rails_mw"] = dict((name, {"mean": _mean(v), "max": max(v), "samples": len(v)})
                             for name, v in sorted(rails.items()))
    missing = block["not_measured"]
    inputs = _rail_names(rails, INPUT_RAILS)
    for role, names in (("gpu", GPU_RAILS), ("cpu", CPU_RAILS)):
        found = _rail_names(rails, names)
        if found:
            block[role + "_rail"] = found[0]
            block[role + "_power_mean_w"] = block["rails_mw"][found[0]]["mean"] / 1e3
            if found[0] in SHARED_RAILS:
                block[role + "_rail_measures"] = SHARED_RAILS[found[0]]
    if not inputs:
        block["power_mean_w"] = block["energy_mj"] = None
        why = ("this board's tegrastats names no input rail ({} absent; rails: {})".format(
            " / ".join(INPUT_RAILS), ", ".join(sorted(rails)) or "none"))
        missing["power_mean_w"] = missing["energy_mj"] = why
        return
    block["input_rail"] = inputs[0]
    block["power_mean_w"] = block["rails_mw"][inputs[0]]["mean"] / 1e3
    block["power_includes"] = "the whole board at its input (idle power included)"
    if inferences_per_s:
        # W / (inferences/s) = J per inference
        block["energy_mj"] = block["power_mean_w"] / inferences_per_s * 1e3
        block["energy_mj_per_item"] = block["energy_mj"] / float(batch or 1)
        block["energy_from"] = "mean input power over the timed phase / inferences per second"
    else:
        block["energy_mj"] = None
        missing["energy_mj"] = "the timed phase's inference rate is unknown"


def _gpu_clock_rule(block, timed, gpu_max):
    """(share below the floor, reason) or (None, why not)."""
    busy = [s for s in timed if s.get("gpu_freq_mhz") is not None and (s.get("gpu_load_pct") or 0) > 0]
    seen = [s["gpu_freq_mhz"] for s in timed if s.get("gpu_freq_mhz") is not None]
    if not seen:
        return None, "tegrastats printed no GPU clock (GR3D_FREQ without a frequency)"
    if gpu_max is not None and gpu_max[0]:
        maximum, source = gpu_max
    else:
        maximum, source = max(seen), "the highest GPU clock in the run's own samples (sysfs max_freq not readable)"
    block["gpu_max_mhz"], block["gpu_max_from"] = maximum, source
    if not busy:
        return None, "the GPU was idle (0 % load) in every timed sample: its clock says nothing of throttling"
    below = [f for f in (s["gpu_freq_mhz"] for s in busy) if f < CLOCK_FLOOR * maximum]
    share = len(below) / float(len(busy))
    block["gpu_busy_samples"] = len(busy)
    block["gpu_below_floor_share"] = share
    reason = "GPU clock below {:.0f} % of {:.0f} MHz in {:.0f} % of {} busy timed samples".format(
        CLOCK_FLOOR * 100, maximum, share * 100, len(busy))
    return share, reason


def _verdict(block, gpu_rule, why_no_timed):
    reasons = []
    gpu_throttled = None
    if gpu_rule is not None:
        share, text = gpu_rule
        if share is not None:
            gpu_throttled = share > THROTTLED_SHARE
            reasons.append(text)
        else:
            block["not_measured"]["gpu_clock_rule"] = text
    caps_reached = block.get("caps_reached")
    if caps_reached:
        reasons.extend(caps_reached)
    cap_throttled = bool(caps_reached) if caps_reached is not None else None
    if gpu_throttled or cap_throttled:
        block["throttled"] = True
    elif gpu_throttled is False:
        block["throttled"] = False
        if cap_throttled is None:
            reasons.append("thermal caps not checked (no trip points readable)")
    else:
        block["throttled"] = None
        block["not_measured"]["throttled"] = (why_no_timed or block["not_measured"].get("gpu_clock_rule")
                                              or block["not_measured"].get("throttled")
                                              or "no GPU clock in the timed samples")
    block["throttle_reasons"] = reasons
    return block


def not_measured(reason):
    """The power block of a run where nothing could be sampled (off a Jetson), with the reason."""
    return {"source": None, "samples": 0, "throttled": None, "power_mean_w": None, "energy_mj": None,
            "temperature_peak_c": None,
            "not_measured": dict((name, reason) for name in
                                 ("power_mean_w", "energy_mj", "temperature_peak_c", "throttled"))}


#: the figures a result carries at its top level (report columns), from its power block
TOP_LEVEL = ("throttled", "power_mean_w", "energy_mj", "temperature_peak_c")
