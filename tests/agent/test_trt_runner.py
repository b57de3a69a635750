"""The TensorRT Python-path runner around its seam, against the RECORDING DOUBLE of TensorRT and
PyCUDA (and, where named, the DOUBLE libcudart through the real ctypes layer).

Everything here except TensorRT and CUDA is real: files, the engine cache, measure.py's flow, the
supervisor's child processes. The double (tests/agent/trt_recording_double.py) records calls and
refuses the APIs a TensorRT version lacks, so these tests pin down *which* API each version path
uses; they say nothing about what real TensorRT does with those calls (test_trt_real_rtx.py drives
the real TensorRT-RTX through parse, build and serialization).
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from edgetrt.agent import measure, outcome
from edgetrt.agent.backends import BackendUnavailable, UnsupportedPrecision, runner_for
from edgetrt.agent.backends.tensorrt import build as trt_build
from edgetrt.agent.backends.tensorrt.runner import TensorRTRunner

from . import trt_recording_double as double

W = trt_build.DEFAULT_WORKSPACE_BYTES
PARSE = ["Builder.create_network", "OnnxParser", "OnnxParser.parse_from_file"]
PROFILE = ["Builder.create_optimization_profile", "IOptimizationProfile.set_shape",
           "IBuilderConfig.add_optimization_profile"]
TIMING = ["IBuilderConfig.create_timing_cache", "IBuilderConfig.set_timing_cache"]
TIMING_OUT = ["IBuilderConfig.get_timing_cache", "ITimingCache.serialize"]
LOAD = ["Runtime.deserialize_cuda_engine", "ICudaEngine.create_execution_context"]
BINDINGS_IO = ["ICudaEngine.num_bindings", "IExecutionContext.set_binding_shape"]
TENSOR_IO = ["ICudaEngine.num_io_tensors", "IExecutionContext.set_input_shape",
             "IExecutionContext.set_tensor_address", "IExecutionContext.set_tensor_address"]

EXPECTED_CALLS = {
    "7.2.3.4": ["Builder", "Runtime"] + PARSE
               + ["Builder.create_builder_config", "IBuilderConfig.max_workspace_size="] + PROFILE
               + ["Builder.build_engine", "ICudaEngine.serialize"] + LOAD + BINDINGS_IO
               + ["IExecutionContext.execute_async_v2"],
    "8.2.1.8": ["Builder", "Runtime"] + PARSE
               + ["Builder.create_builder_config", "IBuilderConfig.max_workspace_size="] + PROFILE
               + TIMING + ["Builder.build_serialized_network"] + TIMING_OUT + LOAD + BINDINGS_IO
               + ["IExecutionContext.execute_async_v2"],
    "8.6.1.6": ["Builder", "Runtime"] + PARSE
               + ["Builder.create_builder_config", "IBuilderConfig.set_memory_pool_limit"] + PROFILE
               + TIMING + ["Builder.build_serialized_network"] + TIMING_OUT + LOAD + TENSOR_IO
               + ["IExecutionContext.execute_async_v3"],
    "10.3.0.26": ["Builder", "Runtime"] + PARSE
                 + ["Builder.create_builder_config", "IBuilderConfig.set_memory_pool_limit"] + PROFILE
                 + TIMING + ["Builder.build_serialized_network"] + TIMING_OUT + LOAD + TENSOR_IO
                 + ["IExecutionContext.execute_async_v3"],
    # TensorRT-RTX: no timing cache, no EXPLICIT_BATCH, a runtime config (JIT) for the context
    double.RTX_VERSION: ["Builder", "Runtime"] + PARSE
                        + ["Builder.create_builder_config", "IBuilderConfig.set_memory_pool_limit"]
                        + PROFILE + ["Builder.build_serialized_network", "Runtime.deserialize_cuda_engine",
                                     "ICudaEngine.create_runtime_config",
                                     "ICudaEngine.create_execution_context"] + TENSOR_IO
                        + ["IExecutionContext.execute_async_v3"],
}
ALL_VERSIONS = double.VERSIONS + (double.RTX_VERSION,)


def trt_calls(state):
    return [c for c in state.calls if not c.startswith("cuda.")]


@pytest.fixture
def artifact(tmp_path):
    directory = tmp_path / "artifact"
    directory.mkdir()
    (directory / "model.onnx").write_bytes(b"ONNX-DOUBLE fp32 model")
    (directory / "manifest.json").write_text(json.dumps({
        "formats": {"onnx": "model.onnx"},
        "inputs": [{"name": "input", "shape": [-1, 8, 8, 3], "dtype": "float32"}],
        "outputs": [{"name": "output", "shape": [-1, 4], "dtype": "float32"}],
    }))
    return directory


def add_int8_model(artifact):
    (artifact / "model.int8.onnx").write_bytes(b"ONNX-DOUBLE int8 QDQ model, longer")
    manifest = json.loads((artifact / "manifest.json").read_text())
    manifest["formats"]["onnx_int8"] = "model.int8.onnx"
    (artifact / "manifest.json").write_text(json.dumps(manifest))


def add_fp16_model(artifact):
    (artifact / "model.fp16.onnx").write_bytes(b"ONNX-DOUBLE fp16 model, io fp32")
    manifest = json.loads((artifact / "manifest.json").read_text())
    manifest["formats"]["onnx_fp16"] = "model.fp16.onnx"
    (artifact / "manifest.json").write_text(json.dumps(manifest))


def make(artifact, tmp_path, precision="fp32", batch=2, phases=None, **options):
    options.setdefault("engine_cache_dir", str(tmp_path / "engines"))
    report = None
    if phases is not None:
        def report(name, **detail):
            phases.append((name, detail) if detail else name)
    return TensorRTRunner(str(artifact), precision=precision, batch=batch, options=options,
                          report_phase=report)


def feed(batch=2, value=1.0):
    return {"input": np.full((batch, 8, 8, 3), value, dtype=np.float32)}


def test_the_python_path_is_taken_with_bindings_and_a_cuda_library(monkeypatch):
    double.install(monkeypatch, "8.2.1.8")
    cls, choice = runner_for("tensorrt", {})
    assert cls is TensorRTRunner and choice["path"] == "python"
    assert "tensorrt 8.2.1.8" in choice["why"] and "pycuda" in choice["why"]


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_each_version_uses_its_own_api_surface(monkeypatch, artifact, tmp_path, version):
    state = double.install(monkeypatch, version)
    runner = make(artifact, tmp_path)
    with runner:
        out = runner.infer(feed(value=0.5))
        assert trt_calls(state) == EXPECTED_CALLS[version]
        # outputs went host -> fake device -> double engine -> host: sum(0.5 * 192) + k
        np.testing.assert_allclose(out[0], [[96, 97, 98, 99]] * 2)
    flags = state.args_of("Builder.create_network")[0][0]
    # EXPLICIT_BATCH before 10; nothing from 10 and in TensorRT-RTX (always explicit, typed)
    assert flags == (1 if version[0] in "78" else 0)
    assert state.args_of("IOptimizationProfile.set_shape")[0] == (
        "input", [1, 8, 8, 3], [2, 8, 8, 3], [2, 8, 8, 3])
    facts = runner.facts
    assert facts["engine"] == "built" and facts["tensorrt"] == version
    assert facts["library"]["flavour"] == ("tensorrt_rtx" if version == double.RTX_VERSION else "tensorrt")
    assert facts["compute_capability"] == "5.3"
    assert facts["engine_bytes"] == os.path.getsize(facts["engine_file"])
    assert facts["build_ms"] > 0
    cold = runner.cold_start()
    assert cold["engine"] == "built" and cold["source"].endswith("Python API")
    for phase in ("parse_ms", "build_ms", "serialize_ms", "deserialize_ms", "context_ms"):
        assert cold[phase] >= 0.0, phase
    assert "cuda.Context.pop" in state.calls  # the with block deactivated the runner


def test_tensorrt_rtx_context_comes_from_a_runtime_config(monkeypatch, artifact, tmp_path):
    state = double.install(monkeypatch, double.RTX_VERSION)
    with make(artifact, tmp_path):
        pass
    assert state.args_of("ICudaEngine.create_execution_context") == [("IRuntimeConfig",)]
    assert not [c for c in state.calls if "timing_cache" in c or c == "IBuilderConfig.set_flag"]


def test_workspace_goes_through_the_api_the_version_has(monkeypatch, artifact, tmp_path):
    state = double.install(monkeypatch, "8.6.1.6")
    make(artifact, tmp_path, workspace_bytes=1 << 26).activate()
    assert state.args_of("IBuilderConfig.set_memory_pool_limit") == [("WORKSPACE", 1 << 26)]
    assert "IBuilderConfig.max_workspace_size=" not in state.calls


@pytest.mark.parametrize("precision,flag", [("fp16", "FP16"), ("int8", "INT8")])
def test_precision_flags(monkeypatch, artifact, tmp_path, precision, flag):
    add_int8_model(artifact)
    add_fp16_model(artifact)
    state = double.install(monkeypatch, "8.2.1.8")
    runner = make(artifact, tmp_path, precision=precision)
    runner.activate()
    assert state.args_of("IBuilderConfig.set_flag") == [(flag,)]
    parsed = state.args_of("OnnxParser.parse_from_file")[0][0]
    # weakly typed TensorRT: FP16 is a flag on the FP32 ONNX, never the FP16 ONNX
    assert parsed == str(artifact / ("model.int8.onnx" if precision == "int8" else "model.onnx"))
    assert runner.facts["precision_from"].startswith("BuilderFlag.")
    if precision == "int8":
        assert runner.facts["int8_mode"] == "explicit"
        assert "IBuilderConfig.int8_calibrator=" not in state.calls


@pytest.mark.parametrize("precision,form", [("fp32", "model.onnx"), ("fp16", "model.fp16.onnx"),
                                            ("int8", "model.int8.onnx")])
def test_strongly_typed_tensorrt_takes_the_precision_from_the_model(monkeypatch, artifact, tmp_path,
                                                                    precision, form):
    add_int8_model(artifact)
    add_fp16_model(artifact)
    state = double.install(monkeypatch, double.RTX_VERSION)
    runner = make(artifact, tmp_path, precision=precision)
    runner.activate()
    assert state.args_of("OnnxParser.parse_from_file")[0][0] == str(artifact / form)
    assert "IBuilderConfig.set_flag" not in state.calls
    assert runner.facts["precision_from"].startswith("the model")


def test_strongly_typed_fp16_without_the_fp16_form_says_what_is_missing(monkeypatch, artifact, tmp_path):
    double.install(monkeypatch, double.RTX_VERSION)
    with pytest.raises(UnsupportedPrecision, match="strongly typed.*onnx_fp16"):
        make(artifact, tmp_path, precision="fp16").activate()
    images = tmp_path / "calib.npy"
    np.save(str(images), np.ones((5, 8, 8, 3), dtype=np.float32))
    with pytest.raises(UnsupportedPrecision, match="strongly typed.*onnx_int8"):
        make(artifact, tmp_path, precision="int8", calibration_npy=str(images)).activate()


def test_int8_refused_without_fast_int8(monkeypatch, artifact, tmp_path):
    add_int8_model(artifact)
    state = double.install(monkeypatch, "8.2.1.8", fast_int8=False)
    with pytest.raises(UnsupportedPrecision, match="no fast INT8"):
        make(artifact, tmp_path, precision="int8").activate()
    assert state.builds == 0


def test_int8_forced_without_fast_int8_builds_and_says_so(monkeypatch, artifact, tmp_path):
    add_int8_model(artifact)
    state = double.install(monkeypatch, "8.2.1.8", fast_int8=False)
    runner = make(artifact, tmp_path, precision="int8", force_int8=True)
    runner.activate()
    assert state.builds == 1
    assert any("forced" in w for w in runner.facts["warnings"])


def test_fp16_without_fast_fp16_warns(monkeypatch, artifact, tmp_path):
    double.install(monkeypatch, "7.2.3.4", fast_fp16=False)
    runner = make(artifact, tmp_path, precision="fp16")
    runner.activate()
    assert any("platform_has_fast_fp16 is False" in w for w in runner.facts["warnings"])


def test_int8_needs_qdq_or_calibration_images(monkeypatch, artifact, tmp_path):
    double.install(monkeypatch, "8.6.1.6")
    with pytest.raises(UnsupportedPrecision, match="calibration_npy"):
        make(artifact, tmp_path, precision="int8").activate()


def test_int8_calibration_from_images_writes_a_cache_beside_the_engine(monkeypatch, artifact, tmp_path):
    images = tmp_path / "calib.npy"
    np.save(str(images), np.ones((5, 8, 8, 3), dtype=np.float32))
    state = double.install(monkeypatch, "8.6.1.6")
    runner = make(artifact, tmp_path, precision="int8", calibration_npy=str(images), calibration_batch=2)
    runner.activate()
    assert runner.facts["int8_mode"] == "calibrate"
    assert state.calibration_batches == 2  # 5 images, batches of 2: the partial one is dropped
    assert state.args_of("IBuilderConfig.set_calibration_profile") == [
        ({"input": ([2, 8, 8, 3], [2, 8, 8, 3], [2, 8, 8, 3])},)]
    calib = runner.facts["engine_file"][:-len(".engine")] + ".calib"
    assert open(calib, "rb").read() == b"double-calibration-table"
    # A rebuild (engine gone) reads the calibration cache instead of calibrating again.
    os.remove(runner.facts["engine_file"])
    runner.deactivate()
    again = make(artifact, tmp_path, precision="int8", calibration_npy=str(images), calibration_batch=2)
    again.activate()
    assert again.facts["engine"] == "built" and state.calibration_batches == 2


def test_calibration_images_of_the_wrong_shape_are_refused(monkeypatch, artifact, tmp_path):
    images = tmp_path / "calib.npy"
    np.save(str(images), np.ones((5, 4, 4, 3), dtype=np.float32))
    double.install(monkeypatch, "8.6.1.6")
    with pytest.raises(ValueError, match="calibration images"):
        make(artifact, tmp_path, precision="int8", calibration_npy=str(images)).activate()


def test_second_activation_is_a_cache_hit_without_a_build(monkeypatch, artifact, tmp_path):
    state = double.install(monkeypatch, "10.3.0.26")
    with make(artifact, tmp_path):
        pass
    del state.calls[:]
    second = make(artifact, tmp_path)
    second.activate()
    assert second.facts["engine"] == "cached"
    assert "build_ms" not in second.facts
    cold = second.cold_start()
    assert cold["engine"] == "cached" and cold["build_ms"] is None and cold["parse_ms"] is None
    assert cold["cache_read_ms"] >= 0 and cold["deserialize_ms"] >= 0
    assert not [c for c in state.calls if c.startswith(("Builder.build", "OnnxParser"))]
    assert trt_calls(state)[:3] == ["Builder", "Runtime", "Runtime.deserialize_cuda_engine"]


def test_the_cache_key_names_the_library_flavour_and_full_version(monkeypatch, artifact, tmp_path):
    double.install(monkeypatch, "10.3.0.26")
    a = make(artifact, tmp_path)
    a.activate()
    key = json.loads(open(a.facts["engine_file"][:-len(".engine")] + ".json").read())["key"]
    assert key["library"] == "tensorrt" and key["version"] == "10.3.0.26"
    assert key["compute_capability"] == "5.3"
    a.deactivate()
    monkeypatch.delitem(sys.modules, "tensorrt")
    double.install(monkeypatch, double.RTX_VERSION)
    b = make(artifact, tmp_path)
    b.activate()
    key = json.loads(open(b.facts["engine_file"][:-len(".engine")] + ".json").read())["key"]
    assert key["library"] == "tensorrt_rtx" and key["version"] == double.RTX_VERSION
    # built ahead of time for the library's targets, not for this GPU
    assert key["compute_capability"].startswith("portable")
    assert a.facts["engine_file"] != b.facts["engine_file"]


def test_other_batch_or_precision_is_another_engine(monkeypatch, artifact, tmp_path):
    double.install(monkeypatch, "8.6.1.6")
    a = make(artifact, tmp_path, batch=2)
    a.activate()
    b = make(artifact, tmp_path, batch=4)
    b.activate()
    c = make(artifact, tmp_path, batch=2, precision="fp16")
    c.activate()
    assert len({a.facts["engine_file"], b.facts["engine_file"], c.facts["engine_file"]}) == 3
    assert b.facts["engine"] == "built" and c.facts["engine"] == "built"


def test_timing_cache_is_persisted_and_reused(monkeypatch, artifact, tmp_path):
    state = double.install(monkeypatch, "8.6.1.6")
    first = make(artifact, tmp_path, batch=2)
    first.activate()
    path = first.facts["timing_cache"]["file"]
    assert path.endswith(os.path.join("timing", "tensorrt-8.6.1.6_sm53.cache"))
    assert open(path, "rb").read() == b"+timing"
    make(artifact, tmp_path, batch=4).activate()
    assert state.args_of("IBuilderConfig.create_timing_cache") == [(b"",), (b"+timing",)]


def shared_timing_cache(tmp_path, data, version="8.6.1.6", source="nano1"):
    """An offer as the host sends it: another device's timing cache, in this device's store."""
    import hashlib

    from edgetrt.agent.backends.tensorrt.engine_cache import timing_cache_key

    path = tmp_path / "store" / hashlib.sha256(data).hexdigest()
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    return {"path": str(path), "sha256": hashlib.sha256(data).hexdigest(),
            "key": timing_cache_key("tensorrt", version, "5.3"), "from": source}


def test_a_build_starts_from_the_timing_cache_an_identical_device_wrote(monkeypatch, artifact, tmp_path):
    state = double.install(monkeypatch, "8.6.1.6")
    runner = make(artifact, tmp_path, shared_timing_cache=shared_timing_cache(tmp_path, b"NANO1 TIMING"))
    runner.activate()
    assert state.args_of("IBuilderConfig.create_timing_cache") == [(b"NANO1 TIMING",)]
    fact = runner.facts["timing_cache"]
    assert fact["shared_from"] == "nano1" and fact["reused"] is True
    assert open(fact["file"], "rb").read() == b"NANO1 TIMING+timing"
    assert runner.facts["timing_cache_offer"] == {"shared_from": "nano1"}


def test_a_timing_cache_of_another_tensorrt_build_is_not_used(monkeypatch, artifact, tmp_path):
    state = double.install(monkeypatch, "8.6.1.6")
    offer = shared_timing_cache(tmp_path, b"FROM 8.6.1.5", version="8.6.1.5")
    runner = make(artifact, tmp_path, shared_timing_cache=offer)
    runner.activate()
    assert state.args_of("IBuilderConfig.create_timing_cache") == [(b"",)]
    fact = runner.facts["timing_cache"]
    assert "shared_from" not in fact and fact["offered_from"] == "nano1" and fact["reused"] is False
    assert "written by tensorrt 8.6.1.5 on sm_53" in fact["not_taken"]


def test_a_run_that_builds_nothing_keeps_the_offered_timing_cache_for_later_builds(monkeypatch, artifact,
                                                                                    tmp_path):
    state = double.install(monkeypatch, "8.6.1.6")
    make(artifact, tmp_path).activate()  # an engine cached ...
    os.remove(str(tmp_path / "engines" / "timing" / "tensorrt-8.6.1.6_sm53.cache"))  # ... but no timing cache
    cached = make(artifact, tmp_path, shared_timing_cache=shared_timing_cache(tmp_path, b"NANO1 TIMING"))
    cached.activate()
    # It built nothing, so it used no timing cache: no claim that it did ...
    assert cached.facts["engine"] == "cached" and "timing_cache" not in cached.facts
    # ... but the device keeps it, and its next build starts from it.
    assert cached.facts["timing_cache_offer"] == {"shared_from": "nano1"}
    later = make(artifact, tmp_path, batch=4)
    later.activate()
    assert state.args_of("IBuilderConfig.create_timing_cache")[-1] == (b"NANO1 TIMING",)
    assert later.facts["timing_cache"]["started_from"] == "nano1"


def test_no_timing_cache_on_tensorrt_7(monkeypatch, artifact, tmp_path):
    double.install(monkeypatch, "7.2.3.4")
    runner = make(artifact, tmp_path)
    runner.activate()
    assert "timing_cache" not in runner.facts
    assert not os.path.exists(str(tmp_path / "engines" / "timing"))


def test_corrupt_cached_engine_is_deleted_and_rebuilt_once(monkeypatch, artifact, tmp_path):
    state = double.install(monkeypatch, "8.2.1.8")
    first = make(artifact, tmp_path)
    first.activate()
    engine_file = first.facts["engine_file"]
    with open(engine_file, "wb") as fh:
        fh.write(b"\x00garbage from an older TensorRT")
    first.deactivate()
    again = make(artifact, tmp_path)
    again.activate()
    assert again.facts["engine"] == "built"
    assert "Version tag does not match" in again.facts["cached_engine_rejected"]
    assert open(engine_file, "rb").read().startswith(double.ENGINE_MAGIC)
    assert state.builds == 2
    np.testing.assert_allclose(again.infer(feed())[0][0], [192, 193, 194, 195])


def test_oom_build_is_retried_once_with_half_the_workspace(monkeypatch, artifact, tmp_path):
    state = double.install(monkeypatch, "8.6.1.6")
    state.build_failures = ["oom"]
    phases = []
    runner = make(artifact, tmp_path, phases=phases, workspace_bytes=1 << 28)
    runner.activate()
    assert [a[1] for a in state.args_of("IBuilderConfig.set_memory_pool_limit")] == [1 << 28, 1 << 27]
    assert phases == ["parse", ("build", {"attempt": 1, "workspace_bytes": 1 << 28}),
                      ("build", {"attempt": 2, "workspace_bytes": 1 << 27}), "deserialize", "context"]
    build = runner.facts["build"]
    assert runner.facts["workspace_bytes"] == 1 << 27 and build["attempt"] == 2
    assert "OutOfMemory" in build["failed_attempts"][0]["error"]
    # The engine is kept under the workspace the host asked for: the next run does not OOM again.
    again = make(artifact, tmp_path, workspace_bytes=1 << 28)
    again.activate()
    assert again.facts["engine"] == "cached" and again.facts["workspace_bytes"] == 1 << 27


def test_oom_twice_raises_tensorrts_words_classified_oom(monkeypatch, artifact, tmp_path):
    state = double.install(monkeypatch, "7.2.3.4")
    state.build_failures = ["oom", "oom", "oom"]
    with pytest.raises(trt_build.BuildFailed) as info:
        make(artifact, tmp_path).activate()
    text = "{}: {}".format(type(info.value).__name__, info.value)
    assert "Error Code 2: OutOfMemory" in text
    assert outcome.classify_exception_text(text) == "oom"
    assert state.builds == 2
    assert not os.listdir(str(tmp_path / "engines"))  # nothing half-written left behind


def test_other_build_failures_are_not_retried(monkeypatch, artifact, tmp_path):
    state = double.install(monkeypatch, "10.3.0.26")
    state.build_failures = ["error"]
    with pytest.raises(trt_build.EngineBuildError, match="network validation failed") as info:
        make(artifact, tmp_path).activate()
    assert state.builds == 1
    assert outcome.classify_exception_text(str(info.value)) == "error"


def test_unparsable_onnx_names_the_file(monkeypatch, artifact, tmp_path):
    (artifact / "model.onnx").write_bytes(b"not onnx")
    double.install(monkeypatch, "8.6.1.6")
    with pytest.raises(trt_build.EngineBuildError, match="model.onnx.*INVALID_GRAPH"):
        make(artifact, tmp_path).activate()


def test_bindings_without_a_cuda_library_take_trtexec_or_name_what_to_install(monkeypatch, tmp_path):
    double.install(monkeypatch, "8.2.1.8", cuda="host-pointers")  # no PyCUDA double
    no_cuda = {"cuda": "cudart", "cudart": str(tmp_path / "no-libcudart.so")}
    trtexec = tmp_path / "trtexec"
    trtexec.write_text("#!/bin/sh\n")
    trtexec.chmod(0o755)
    cls, choice = runner_for("tensorrt", dict(no_cuda, trtexec=str(trtexec)))
    assert cls.measures_itself and choice["path"] == "trtexec"
    assert "no CUDA library" in choice["why"] and str(trtexec) in choice["why"]
    with pytest.raises(BackendUnavailable) as info:
        runner_for("tensorrt", dict(no_cuda, trtexec=str(tmp_path / "no-trtexec")))
    assert "python3-libnvinfer" in str(info.value) and "libnvinfer-bin" in str(info.value)


def test_without_tensorrt_or_trtexec_the_error_names_the_jetpack_packages(tmp_path):
    options = {"tensorrt_module": "no_such_tensorrt_module", "trtexec": str(tmp_path / "no-trtexec")}
    with pytest.raises(BackendUnavailable) as info:
        runner_for("tensorrt", options)
    text = str(info.value)
    assert "no TensorRT Python module (tried: no_such_tensorrt_module)" in text
    assert "sudo apt-get install python3-libnvinfer" in text and "libnvinfer-bin" in text


def test_measure_times_the_runner_like_any_backend(monkeypatch, artifact, tmp_path):
    state = double.install(monkeypatch, "8.6.1.6")
    phase_file = tmp_path / "phase"
    spec = {"backend": "tensorrt", "precision": "fp32", "batch": 2, "artifact_dir": str(artifact),
            "warmup_ms": 1, "min_iterations": 5, "min_seconds": 0,
            "options": {"engine_cache_dir": str(tmp_path / "engines")}}
    result = measure.measure(spec, measure.PhaseFile(str(phase_file)))
    assert result["status"] == "ok"
    assert result["steady"]["iterations"] >= 5 and "source" not in result["steady"]
    assert result["facts"]["engine"] == "built" and result["facts"]["path"] == "python"
    assert result["first_run_ms"] >= result["load_ms"] > 0
    cold = result["cold_start"]
    assert cold["engine"] == "built" and cold["first_inference_ms"] == result["first_inference_ms"]
    assert cold["build_ms"] == result["facts"]["build_ms"]
    assert state.calls.count("IExecutionContext.execute_async_v3") >= 1 + 5
    assert json.loads(phase_file.read_text()) == {"phase": "steady"}


def test_stock_jetpack_python_path_trt82_on_the_double_libcudart(monkeypatch, artifact, tmp_path,
                                                                  cudart_double_path):
    """TensorRT 8.2 (the double) with no PyCUDA and no cuda-python: the Python path is taken with
    libcudart through ctypes (the DOUBLE libcudart: host memory), builds, and every input and
    output byte goes through the ctypes copies."""
    state = double.install(monkeypatch, "8.2.1.8", cuda="host-pointers")
    options = {"engine_cache_dir": str(tmp_path / "engines"), "cudart": cudart_double_path}
    cls, choice = runner_for("tensorrt", options)
    assert cls is TensorRTRunner and choice["path"] == "python"
    assert "cudart" in choice["why"] and cudart_double_path in choice["why"]
    spec = {"backend": "tensorrt", "precision": "fp16", "batch": 2, "artifact_dir": str(artifact),
            "warmup_ms": 1, "min_iterations": 5, "min_seconds": 0, "options": options}
    result = measure.measure(spec, measure.PhaseFile(None))
    assert result["status"] == "ok" and result["facts"]["cuda_library"] == "libcudart (ctypes)"
    assert result["facts"]["engine"] == "built" and result["facts"]["compute_capability"] == "5.3"
    assert state.args_of("IBuilderConfig.set_flag") == [("FP16",)]
    with make(artifact, tmp_path, precision="fp16", cudart=cudart_double_path) as runner:
        out = runner.infer(feed(value=0.25))
        np.testing.assert_allclose(out[0], [[48, 49, 50, 51]] * 2)  # through real host memory
        assert runner.facts["engine"] == "cached"


def test_a_run_that_fails_still_reports_how_far_it_got(monkeypatch, artifact, tmp_path, cudart_double_path):
    double.install(monkeypatch, "8.6.1.6", cuda="host-pointers")
    spec_path, result_path = tmp_path / "spec.json", tmp_path / "result.json"
    spec = {"backend": "tensorrt", "precision": "fp32", "batch": 2, "artifact_dir": str(artifact),
            "options": {"engine_cache_dir": str(tmp_path / "engines"), "cudart": cudart_double_path}}
    spec_path.write_text(json.dumps(spec))
    monkeypatch.setenv("CUDART_DOUBLE_FAIL", "cudaMalloc:2")  # the first buffer: CUDA out of memory
    assert measure.main([str(spec_path), str(result_path)]) == 0
    result = json.loads(result_path.read_text())
    assert result["status"] == "oom"
    assert "cudaMalloc failed: cudaErrorMemoryAllocation (2): out of memory" in result["message"]
    assert result["facts"]["engine"] == "built" and result["cold_start"]["build_ms"] > 0


def test_importing_the_backend_imports_no_runtime():
    code = textwrap.dedent("""
        import sys
        import edgetrt.agent.backends.tensorrt.runner, edgetrt.agent.backends.tensorrt.trtexec
        import edgetrt.agent.backends.tensorrt.trtexec_runner, edgetrt.agent.backends.tensorrt.path
        import edgetrt.agent.backends.tensorrt.build, edgetrt.agent.backends.tensorrt.engine_io
        import edgetrt.agent.backends.tensorrt.cuda, edgetrt.agent.backends.tensorrt.cudart
        import edgetrt.agent.backends.tensorrt.calibrator, edgetrt.agent.backends.tensorrt.engine_cache
        import edgetrt.agent.backends.tensorrt.library, edgetrt.agent.backends.tensorrt.retry
        heavy = [m for m in ("numpy", "tensorrt", "tensorrt_rtx_bindings", "pycuda", "cuda")
                 if m in sys.modules]
        assert not heavy, heavy
    """)
    subprocess.check_call([sys.executable, "-c", code])


@pytest.mark.parametrize("version", ["8.2.1.8", "10.3.0.26", double.RTX_VERSION])
def test_profile_layers_through_an_iprofiler_on_the_context(monkeypatch, artifact, tmp_path, version):
    double.install(monkeypatch, version)
    runner = make(artifact, tmp_path)
    runner.activate()
    profile = runner.profile(feed(), iterations=5)
    assert profile["source"] == "tensorrt"
    names = [layer["name"] for layer in profile["layers"]]
    assert names == [name for name, _ in sorted(double.DOUBLE_LAYER_TIMES_MS, key=lambda x: -x[1])]
    first = profile["layers"][0]
    assert first["calls"] == 5
    assert first["time_ms"] == pytest.approx(dict(double.DOUBLE_LAYER_TIMES_MS)[first["name"]])
    assert sum(layer["percent"] for layer in profile["layers"]) == pytest.approx(100.0)
