"""Per-inference parts on the TensorRT Python path (H2D, GPU compute, D2H, enqueue: trtexec's
definitions) and --no-transfers, against the RECORDING DOUBLE of TensorRT with the PyCUDA double
and the DOUBLE libcudart (their events read the host clock: the figures here are host time, never
GPU time); the timed phase's wall-clock window; --rigorous's warm-up to a steady temperature
(power/warmup.py with a temperature and a clock written here) and its p90 interval."""

import json

import pytest

from edgetrt.agent import measure
from edgetrt.agent.backends.tensorrt import trtexec
from edgetrt.agent.power import warmup

from . import trt_recording_double as double
from .test_trt_runner import artifact  # noqa: F401  (fixture)


def spec_for(artifact_dir, tmp_path, **extra):
    return dict({"backend": "tensorrt", "precision": "fp32", "batch": 2, "artifact_dir": str(artifact_dir),
                 "warmup_ms": 1, "min_iterations": 8, "min_seconds": 0,
                 "options": {"engine_cache_dir": str(tmp_path / "engines")}}, **extra)


def test_the_timed_loop_splits_each_inference_as_trtexec_does(monkeypatch, artifact, tmp_path):  # noqa: F811
    state = double.install(monkeypatch, "8.6.1.6")
    result = measure.measure(spec_for(artifact, tmp_path), measure.PhaseFile(None))
    steady = result["steady"]
    n = steady["iterations"]
    for key in ("h2d_ms", "gpu_compute_ms", "d2h_ms", "enqueue_ms"):
        assert set(steady[key]) == {"median", "mean", "min", "max", "p90", "p95", "p99"}, key
        assert steady[key]["min"] >= 0
    assert steady["breakdown"]["measured"] is True
    assert steady["breakdown"]["source"] == "CUDA events on the inference stream (pycuda)"
    assert "H2D latency" in steady["breakdown"]["definitions"]["h2d_ms"]
    assert steady["no_transfers"] is False
    # four events recorded per timed inference; every timed inference copied its input
    assert state.calls.count("cuda.Event.record") == 4 * n
    assert state.calls.count("cuda.memcpy_htod_async") >= n + 1


def test_no_transfers_copies_once_and_times_compute_alone(monkeypatch, artifact, tmp_path):  # noqa: F811
    state = double.install(monkeypatch, "8.6.1.6")
    result = measure.measure(spec_for(artifact, tmp_path, no_transfers=True), measure.PhaseFile(None))
    steady = result["steady"]
    assert steady["no_transfers"] is True
    assert "gpu_compute_ms" in steady and "enqueue_ms" in steady
    assert "h2d_ms" not in steady and "d2h_ms" not in steady
    assert steady["breakdown"]["not_measured"]["h2d_ms"] == "not measured: --no-transfers (no copies in the timed loop)"
    timed_start = state.calls.index("cuda.Event")  # the events are made when the timed loop begins
    after = state.calls[timed_start:]
    assert after.count("cuda.memcpy_htod_async") == 1 and after.count("cuda.memcpy_dtoh_async") == 0


def test_the_breakdown_through_the_double_libcudart(monkeypatch, artifact, tmp_path, cudart_double_path):  # noqa: F811
    double.install(monkeypatch, "8.2.1.8", cuda="host-pointers")
    spec = spec_for(artifact, tmp_path)
    spec["options"]["cudart"] = cudart_double_path
    steady = measure.measure(spec, measure.PhaseFile(None))["steady"]
    assert steady["breakdown"]["source"] == "CUDA events on the inference stream (libcudart (ctypes))"
    assert steady["gpu_compute_ms"]["max"] >= steady["gpu_compute_ms"]["min"] >= 0


def test_backends_without_parts_say_so_and_ignore_no_transfers():
    result = measure.measure({"backend": "noop", "batch": 1, "warmup_ms": 1, "min_iterations": 5, "min_seconds": 0,
                              "no_transfers": True}, measure.PhaseFile(None))
    steady = result["steady"]
    assert steady["no_transfers"] is False and steady["breakdown"]["measured"] is False
    assert "--no-transfers does not apply" in steady["breakdown"]["why"]
    window = result["timed_window"]
    assert window["end"] >= window["start"] > 1.6e9


def test_trtexec_measures_without_transfers_when_asked():
    shapes = {"input": {"min": [1, 8], "opt": [1, 8], "max": [1, 8]}}
    settings = {"warmup_ms": 200, "min_iterations": 10, "min_seconds": 3, "no_transfers": True}
    assert "--noDataTransfers" in trtexec.benchmark_command("trtexec", "e.plan", shapes, settings)
    assert "--noDataTransfers" not in trtexec.benchmark_command("trtexec", "e.plan", shapes, dict(settings, no_transfers=False))


# ---- --rigorous ----------------------------------------------------------------------------------

class Board(object):
    """A clock and a temperature written here: rises 3 C/min for ``rise_s``, then stays."""

    def __init__(self, rise_s, start_c=40.0, per_min=3.0, tick_s=0.5):
        self.now, self.rise_s, self.start_c, self.per_min, self.tick_s = 0.0, rise_s, start_c, per_min, tick_s

    def clock(self):
        return self.now

    def infer(self, feed):
        self.now += self.tick_s

    def temperature(self):
        return self.start_c + self.per_min * min(self.now, self.rise_s) / 60.0, "GPU-therm"


def test_warm_up_ends_when_the_temperature_is_steady():
    board = Board(rise_s=120)
    record = warmup.warm_until_steady(board.infer, None, board.temperature, cap_s=600, clock=board.clock)
    assert record["settled"] is True and record["sensor"] == "GPU-therm"
    # the window must hold 60 s of flat readings, give or take one reading's lag
    assert 120 + 40 <= record["seconds"] <= 120 + 70
    assert abs(record["slope_c_per_min"]) < 1.0 and record["end_c"] == pytest.approx(46.0)


def test_warm_up_stops_at_its_cap_when_the_board_never_settles():
    board = Board(rise_s=10 ** 6)
    record = warmup.warm_until_steady(board.infer, None, board.temperature, cap_s=90, clock=board.clock)
    assert record["settled"] is False and "time cap of 90 s reached" in record["why"]
    assert record["slope_c_per_min"] == pytest.approx(3.0, rel=0.05)


def test_warm_up_without_a_sensor_runs_nothing_and_says_why():
    calls = []
    record = warmup.warm_until_steady(calls.append, None, lambda: (None, "no readable thermal zone"), cap_s=5)
    assert record == {"settled": None, "why": "no readable thermal zone", "iterations": 0, "seconds": 0.0}
    assert calls == []


def rigorous_noop(monkeypatch, tick_s: float, no_sensor: str) -> dict:
    """A --rigorous no-op measurement on a board with no temperature sensor, its timed loop's
    clock advancing ``tick_s`` per reading (the rule and its arithmetic are the real ones)."""
    ticks = {"t": 0.0}

    def clock():
        ticks["t"] += tick_s
        return ticks["t"]

    monkeypatch.setattr(measure.time, "perf_counter", clock)
    monkeypatch.setattr(measure.thermal, "board_temperature", lambda root="/": (None, no_sensor))
    return measure.measure({"backend": "noop", "batch": 1, "warmup_ms": 0, "rigorous": True},
                           measure.PhaseFile(None))


def test_rigorous_times_at_least_1024_queries_and_60_s_and_gives_the_p90_interval(monkeypatch):
    # 60 s of a no-op would take a minute: time runs 1000x faster for this test (only the
    # timed loop's clocks are patched; the rule and its arithmetic are the real ones)
    result = rigorous_noop(monkeypatch, tick_s=0.001, no_sensor="no readable thermal zone")
    steady = result["steady"]
    # each timed iteration reads the clock twice (2 ms here): 60 s of loop is 30,000 iterations,
    # far past the 1,024-query floor (the latencies themselves sum to half of it: 1 ms each)
    assert steady["iterations"] >= 30000 and steady["total_s"] >= 30.0
    assert steady["warmup"] == {"settled": None, "why": "no readable thermal zone", "iterations": 0, "seconds": 0.0}
    ci = steady["p90_ci_ms"]
    assert ci["confidence"] == 0.95 and ci["low"] <= steady["latency_ms"]["p90"] <= ci["high"]
    assert ci["method"].startswith("distribution-free")


def test_rigorous_never_stops_before_1024_queries(monkeypatch):
    # 200 ms per iteration: 60 s would be only 300 queries
    result = rigorous_noop(monkeypatch, tick_s=0.1, no_sensor="no sensor")
    assert result["steady"]["iterations"] == 1024
