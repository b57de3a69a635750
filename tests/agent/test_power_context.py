"""A run's power and thermal figures (agent/power/context.py) from the REAL tegrastats captures of
Nano (C10, C11), AGX Xavier (C12), TX2 (C13) and AGX Orin (C15).

The captures are replayed as samples with times written here (one per 100 ms, as the sampler's
``--interval 100`` would read them); every value asserted is read off the capture lines. Where a
run needs a GPU clock that drops, the lines are the capture's own, reordered (C10's first line is
a real 76 MHz sample taken while the GPU ramped up; its other lines run at 921 MHz).
"""

import pytest

from edgetrt.agent.parsers import tegrastats
from edgetrt.agent.power import context

from .test_parsers import tegrastats_lines


def samples(lines, start=1000.0, step=0.1):
    return [(start + i * step, line) for i, line in enumerate(lines)]


def whole(lines, start=1000.0, step=0.1):
    return {"start": start, "end": start + step * len(lines)}


def test_nano_capture_gives_clocks_temperatures_rails_and_power():
    lines = tegrastats_lines("C10")
    block = context.summarise_run(samples(lines), whole(lines), inferences_per_s=100.0)
    assert block["timed_samples"] == 4
    assert block["gpu_freq_mhz"] == {"min": 76, "mean": (76 + 921 * 3) / 4.0, "max": 921}
    assert block["emc_freq_mhz"]["max"] == 1600 and block["cpu_freq_mhz"]["mean"] == 1479.0
    assert set(block["temperatures_c"]) == {"PLL", "CPU", "PMIC", "GPU", "AO", "thermal"}
    assert block["temperatures_c"]["GPU"] == {"first": 41.5, "peak": 43.0, "last": 43.0}
    # PMIC reads a fixed 100 C: never the board's peak; AO@48C is the hottest real sensor.
    assert block["temperature_peak_c"] == 48.0 and block["temperature_peak_sensor"] == "AO"
    assert block["input_rail"] == "POM_5V_IN"
    assert block["power_mean_w"] == pytest.approx((4122 + 4531 + 4523 + 4531) / 4.0 / 1e3)
    assert block["gpu_rail"] == "POM_5V_GPU" and block["cpu_rail"] == "POM_5V_CPU"
    assert block["rails_mw"]["POM_5V_GPU"]["max"] == 1256
    # 4.42675 W at 100 inferences/s: 44.27 mJ per inference
    assert block["energy_mj"] == pytest.approx(block["power_mean_w"] / 100.0 * 1e3)


def test_tx2_capture_names_its_rails_vdd():
    lines = tegrastats_lines("C13")
    block = context.summarise_run(samples(lines), whole(lines), inferences_per_s=10.0, batch=2)
    assert block["input_rail"] == "VDD_IN" and block["gpu_rail"] == "VDD_GPU" and block["cpu_rail"] == "VDD_CPU"
    assert block["power_mean_w"] == pytest.approx((1931 + 1776) / 2.0 / 1e3)
    assert block["energy_mj_per_item"] == pytest.approx(block["energy_mj"] / 2)
    assert block["temperatures_c"]["BCPU"]["peak"] == 41.0 and block["temperatures_c"]["Tdiode"]["peak"] == 37.25
    assert block["emc_freq_mhz"] == {"min": 102, "mean": (1866 + 102) / 2.0, "max": 1866}


def test_agx_orin_capture_has_vin_sys_5v0_and_combined_rails():
    lines = tegrastats_lines("C15")
    block = context.summarise_run(samples(lines), whole(lines), inferences_per_s=50.0)
    assert block["input_rail"] == "VIN_SYS_5V0" and block["power_mean_w"] == pytest.approx(4.025)
    assert block["gpu_rail"] == "VDD_GPU_SOC" and block["gpu_rail_measures"] == "GPU and SOC"
    assert block["cpu_rail"] == "VDD_CPU_CV" and block["cpu_rail_measures"] == "CPU and CV"
    assert "GPU" not in block["temperatures_c"]  # -256C: no sensor
    assert block["temperature_peak_c"] == 44.562 and block["temperature_peak_sensor"] == "CPU"
    # GR3D_FREQ 0%@[0,0]: an idle GPU says nothing about throttling
    assert block["throttled"] is None and "idle" in block["not_measured"]["throttled"]


def test_agx_xavier_jetpack_4_2_has_no_input_rail_so_no_power_figure():
    lines = tegrastats_lines("C12")
    block = context.summarise_run(samples(lines), whole(lines), inferences_per_s=50.0)
    assert block["power_mean_w"] is None and block["energy_mj"] is None
    why = block["not_measured"]["power_mean_w"]
    assert "names no input rail" in why and "SYS5V" in why and "GPU" in why
    assert block["gpu_rail"] == "GPU" and block["gpu_power_mean_w"] == pytest.approx(0.463)
    assert block["temperatures_c"]["Tboard"]["peak"] == 31.0


def test_nano_with_swap_capture():
    lines = tegrastats_lines("C11")
    block = context.summarise_run(samples(lines), whole(lines), inferences_per_s=1.0)
    assert block["power_mean_w"] == pytest.approx((2746 + 2980) / 2.0 / 1e3)
    assert block["temperatures_c"]["PMIC"]["peak"] == 50.0 and block["temperature_peak_sensor"] == "AO"


# ---- the timed phase ---------------------------------------------------------------------------

def test_only_samples_inside_the_timed_phase_count():
    steady = tegrastats_lines("C10")[1:]   # three 921 MHz lines, 4523-4531 mW
    ramp = tegrastats_lines("C10")[0]      # the 76 MHz line, 4122 mW
    lines = [ramp] * 5 + steady * 4        # warm-up on the ramp line, then the timed phase
    timed = {"start": 1000.0 + 0.45, "end": 1000.0 + 0.1 * len(lines)}
    block = context.summarise_run(samples(lines), timed, inferences_per_s=10.0)
    assert block["samples"] == len(lines) and block["timed_samples"] == 12
    assert block["gpu_freq_mhz"]["min"] == 921
    assert block["power_mean_w"] == pytest.approx((4531 + 4523 + 4531) / 3.0 / 1e3)
    assert block["throttled"] is False


def test_no_sample_inside_a_short_timed_phase_is_said():
    lines = tegrastats_lines("C10")
    block = context.summarise_run(samples(lines), {"start": 2000.0, "end": 2000.05}, inferences_per_s=10.0)
    assert block["timed_samples"] == 0 and block["power_mean_w"] is None
    assert "no tegrastats sample fell inside the 0.05 s timed phase" in block["not_measured"]["power_mean_w"]
    assert block["temperature_peak_c"] == 48.0  # the run's temperatures are still its own


def test_a_killed_run_has_no_timed_phase():
    lines = tegrastats_lines("C10")
    block = context.summarise_run(samples(lines), None)
    assert block["power_mean_w"] is None
    assert "ended before its timed phase finished" in block["not_measured"]["power_mean_w"]


# ---- the verdict --------------------------------------------------------------------------------

def drop_lines():
    """C10's 921 MHz lines, then its real 76 MHz line: the GPU clock drops mid-run."""
    steady, low = tegrastats_lines("C10")[1:], tegrastats_lines("C10")[0]
    return steady * 4 + [low] * 4


def test_gpu_clock_below_75_percent_in_more_than_5_percent_is_throttled():
    lines = drop_lines()
    block = context.summarise_run(samples(lines), whole(lines), 10.0, gpu_max=(921.6, "sysfs max_freq"))
    assert block["throttled"] is True
    assert block["gpu_below_floor_share"] == pytest.approx(4 / 16.0)
    assert block["throttle_reasons"] == ["GPU clock below 75 % of 922 MHz in 25 % of 16 busy timed samples"]
    assert block["gpu_max_from"] == "sysfs max_freq"


def test_one_low_sample_in_twenty_is_not_throttled():
    steady, low = tegrastats_lines("C10")[1:], tegrastats_lines("C10")[0]
    lines = steady * 7 + [low]  # 1 of 22 samples: 4.5 % <= 5 %
    block = context.summarise_run(samples(lines), whole(lines), 10.0, gpu_max=(921.6, "sysfs"))
    assert block["throttled"] is False and block["gpu_below_floor_share"] == pytest.approx(1 / 22.0)


def test_steady_clocks_without_trip_points_say_what_was_not_checked():
    lines = tegrastats_lines("C10")[1:] * 5
    block = context.summarise_run(samples(lines), whole(lines), 10.0)
    assert block["throttled"] is False
    assert "thermal caps not checked (no trip points readable)" in block["throttle_reasons"]
    assert block["gpu_max_from"].startswith("the highest GPU clock in the run's own samples")


def test_a_sensor_at_its_passive_trip_point_is_a_thermal_cap():
    lines = tegrastats_lines("C10")[1:] * 5
    caps = {"gpu": 43.0, "cpu": 97.0, "pmic": 90.0}  # written here; GPU@43C in the capture
    block = context.summarise_run(samples(lines), whole(lines), 10.0, gpu_max=(921.6, "sysfs"), caps=caps)
    assert block["throttled"] is True
    assert block["caps_reached"] == ["GPU reached 43.0 C, its passive trip point (43.0 C)"]
    assert "PMIC" not in block["thermal_caps_c"]  # a fixed reading is never a cap


def test_nothing_sampled_is_not_measured_with_the_reason():
    block = context.summarise_run([], {"start": 0, "end": 1})
    assert block["throttled"] is None and block["power_mean_w"] is None
    assert block["not_measured"]["throttled"] == "tegrastats printed no sample while the run lasted"
    off = context.not_measured("no tegrastats on this machine (not a Jetson)")
    assert set(context.TOP_LEVEL) <= set(off) and all(off[k] is None for k in context.TOP_LEVEL)


def test_rail_tables_name_only_rails_the_captures_print():
    seen = set()
    for prefix in ("C10", "C11", "C12", "C13", "C15"):
        for line in tegrastats_lines(prefix):
            seen.update(tegrastats.parse_tegrastats_line(line).get("power_mw", {}))
    documented = set(tegrastats.INPUT_RAILS + tegrastats.GPU_RAILS + tegrastats.CPU_RAILS)
    # every input rail but one is in a capture (Orin Nano/NX's VDD_CPU_GPU_CV and TX2's VDD_SYS_*
    # come from the L4T power-monitoring tables, not from a capture here)
    assert {"POM_5V_IN", "VDD_IN", "VIN_SYS_5V0"} <= seen
    assert documented & seen == {"POM_5V_IN", "VDD_IN", "VIN_SYS_5V0", "POM_5V_GPU", "VDD_GPU", "GPU",
                                 "VDD_GPU_SOC", "POM_5V_CPU", "VDD_CPU", "CPU", "VDD_CPU_CV"}
