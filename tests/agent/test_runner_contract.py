"""The runner contract (backends/base.py): a context manager whose capabilities are declared on the
class, and measure.py driving every runner through those declarations alone.

The runners below are test doubles passed in by the test (measure.runner_for replaced for one
test); production code selects nothing by a switch."""

import ast
import inspect
import os

import pytest

from edgetrt.agent import measure
from edgetrt.agent.backends import CHOSEN_PER_DEVICE, RUNNERS, Runner, runner_for
from edgetrt.agent.backends.base import read_manifest  # noqa: F401  (the contract's module)
from edgetrt.agent.backends.tensorrt.runner import TensorRTRunner
from edgetrt.agent.backends.tensorrt.trtexec_runner import TrtexecRunner

CAPABILITIES = ("needs_numpy", "measures_itself", "returns_outputs", "can_profile")


class RecordingRunner(Runner):
    """A DOUBLE runner: records the hooks measure.py calls."""

    name = "recording"
    calls = None
    fail_in = None

    def _activate(self):
        self.calls.append("activate")
        if self.fail_in == "activate":
            raise RuntimeError("activation failed")

    def _infer(self, feed):
        self.calls.append("infer")
        if self.fail_in == "infer":
            raise RuntimeError("inference failed")
        return list(feed.values())

    def _deactivate(self):
        self.calls.append("deactivate")

    def input_specs(self):
        return [{"name": "x", "shape": [-1, 2], "dtype": "float32"}]


class SelfMeasuringRunner(RecordingRunner):
    name = "self-measuring"
    needs_numpy = False
    measures_itself = True
    returns_outputs = False
    can_profile = True

    def run_benchmark(self, settings):
        self.calls.append("run_benchmark")
        return {"source": "its own tool", "latency_ms": {"median": 2.0}}

    def profile(self, feed):
        self.calls.append("profile")
        return {"source": "its own tool", "layers": [], "nodes": 0}

    def cold_start(self):
        return {"source": "its own tool", "first_inference_ms": 3.0, "first_run_ms": 5.0}


def measure_with(monkeypatch, cls, **spec):
    cls.calls = []
    monkeypatch.setattr(measure, "runner_for", lambda backend, options: (cls, {}))
    base = {"backend": "recording", "warmup_ms": 0, "min_iterations": 3, "min_seconds": 0}
    base.update(spec)
    return measure.measure(base, measure.PhaseFile(None))


def test_with_block_activates_and_always_deactivates(monkeypatch):
    RecordingRunner.calls = []
    with pytest.raises(RuntimeError, match="inference failed"):
        with RecordingRunner(None) as runner:
            runner.fail_in = "infer"
            runner.infer({"x": 1})
    assert runner.calls == ["activate", "infer", "deactivate"] and not runner.active
    runner.deactivate()  # once only
    assert runner.calls.count("deactivate") == 1


def test_a_failed_activation_releases_what_it_held_and_infer_needs_activation():
    RecordingRunner.calls = []
    runner = RecordingRunner(None)
    runner.fail_in = "activate"
    with pytest.raises(RuntimeError, match="activation failed"):
        runner.activate()
    assert runner.calls == ["activate", "deactivate"]
    with pytest.raises(RuntimeError, match="before activate"):
        runner.infer({})
    ok = RecordingRunner(None)
    ok.activate()
    with pytest.raises(RuntimeError, match="already active"):
        ok.activate()


def test_measure_times_infer_for_a_runner_that_does_not_measure_itself(monkeypatch):
    result = measure_with(monkeypatch, RecordingRunner, options={"profile": True})
    calls = RecordingRunner.calls
    assert calls[0] == "activate" and calls[-1] == "deactivate"
    assert calls.count("infer") >= 1 + 3 and "profile" not in result  # can_profile is False
    assert result["steady"]["iterations"] >= 3 and result["cold_start"] is None


def test_measure_asks_a_self_measuring_runner_and_never_calls_infer(monkeypatch):
    result = measure_with(monkeypatch, SelfMeasuringRunner, options={"profile": True}, images_npy="x.npy")
    assert SelfMeasuringRunner.calls == ["activate", "run_benchmark", "profile", "deactivate"]
    assert result["steady"] == {"source": "its own tool", "latency_ms": {"median": 2.0}, "no_transfers": False}
    assert result["first_inference_ms"] == 3.0 and result["first_run_ms"] == 5.0
    assert result["profile"]["source"] == "its own tool"
    assert "no predictions" in result["message"]


def test_every_runner_declares_its_capabilities_on_the_class():
    import importlib

    classes = [TensorRTRunner, TrtexecRunner]
    for target in RUNNERS.values():
        module, name = target.split(":")
        classes.append(getattr(importlib.import_module("edgetrt.agent.backends." + module), name))
    for cls in classes:
        for capability in CAPABILITIES:
            owner = next(k for k in cls.__mro__ if capability in vars(k))
            assert isinstance(vars(owner)[capability], bool), (cls, capability)
    assert set(CHOSEN_PER_DEVICE) == {"tensorrt"} and "tensorrt" not in RUNNERS
    assert runner_for("noop")[0](None).input_specs()[0]["name"] == "x"  # needs no artifact


def test_measure_asks_runners_nothing_by_attribute_lookup_or_backend_name():
    """measure.py reads capabilities and calls hooks; it names no backend and probes nothing."""
    tree = ast.parse(inspect.getsource(measure))
    probes = [node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call)
              and isinstance(node.func, ast.Name) and node.func.id in ("hasattr", "getattr")]
    strings = {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)
               and isinstance(node.value, str)}
    assert probes == []
    assert not strings & {"noop", "tensorrt", "onnxruntime", "tf", "tftrt", "trtexec"}
    assert os.path.basename(measure.__file__) == "measure.py"
