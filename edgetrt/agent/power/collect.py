"""What the supervisor reads around one run for its power context (files and commands; the
figures themselves are computed by context.py, a pure module).

Before the child starts: the power mode (the probe's nvpmodel files), the clocks from sysfs and
``jetson_clocks --show`` (clocks.py), the thermal zones' passive trip points (thermal.py). After
it ends: the tegrastats samples the sampler kept, attributed to the timed phase the child wrote.
"""

from . import clocks, context, thermal


def before_run(root="/"):
    """The context read before the measuring child starts."""
    from ..probe import power_mode_fact

    state = {"power_mode": power_mode_fact(root), "clocks": clocks.read_clocks(root)}
    shown = clocks.jetson_clocks_show()
    state["jetson_clocks"] = shown
    zones = thermal.read_zones(root)
    caps = thermal.passive_caps(zones)
    state["thermal_caps"] = caps or None
    state["thermal_zones"] = len(zones)
    return state


def gpu_maximum(state):
    """(MHz, source) of the GPU's maximum clock in this power mode, or None."""
    gpu = (state.get("clocks") or {}).get("gpu") or {}
    if gpu.get("max_mhz"):
        return gpu["max_mhz"], "sysfs /sys/class/devfreq/{}/max_freq (the power mode's cap)".format(gpu.get("node"))
    shown = (state.get("jetson_clocks") or {}).get("gpu") or {}
    if shown.get("max_mhz"):
        return shown["max_mhz"], "jetson_clocks --show GPU MaxFreq"
    return None


def inference_rate(result):
    """Inferences per second in the timed phase: trtexec's throughput, else iterations over the
    timed phase's wall time; None when neither is known."""
    steady = result.get("steady") or {}
    if steady.get("throughput_qps"):
        return float(steady["throughput_qps"])
    window = result.get("timed_window") or {}
    if steady.get("iterations") and window.get("start") is not None and window.get("end") is not None:
        span = window["end"] - window["start"]
        return steady["iterations"] / span if span > 0 else None
    return None


def attach(result, state, samples, program):
    """Put the run's power block and its top-level figures into ``result``."""
    if program is None:
        block = context.not_measured("no tegrastats on this machine (not a Jetson)")
    else:
        block = context.summarise_run(samples, result.get("timed_window"), inference_rate(result),
                                      int(result.get("batch") or 1), gpu_maximum(state),
                                      state.get("thermal_caps"))
        block["program"] = program
    for key in ("power_mode", "clocks", "jetson_clocks"):
        block[key] = state.get(key)
    if state.get("thermal_caps") is None:
        block.setdefault("not_measured", {}).setdefault(
            "thermal_caps_c", "no passive trip point readable under /sys/class/thermal ({} zones)".format(
                state.get("thermal_zones", 0)))
    result["power"] = block
    for key in context.TOP_LEVEL:
        result[key] = block.get(key)
    return result
