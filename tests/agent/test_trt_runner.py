"""The TensorRT runner around its seam, against the RECORDING DOUBLE of TensorRT and PyCUDA.

Everything here except TensorRT and CUDA is real: files, the engine cache, measure.py's flow, the
supervisor's child processes. The double (tests/agent/trt_recording_double.py) records calls and
refuses the APIs a TensorRT version lacks, so these tests pin down *which* API each version path
uses; they say nothing about what real TensorRT does with those calls.
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import trt_recording_double as double  # noqa: E402
from edgetrt.agent import main as agent_main  # noqa: E402
from edgetrt.agent import measure, outcome
from edgetrt.agent.backends.tensorrt import build as trt_build  # noqa: E402
from edgetrt.agent.backends import BackendUnavailable, UnsupportedPrecision, runner_class  # noqa: E402
from edgetrt.agent.backends.tensorrt.runner import TensorRTRunner  # noqa: E402

W = trt_build.DEFAULT_WORKSPACE_BYTES

COMMON_BUILD = ["Builder", "Runtime", "OnnxParser", "OnnxParser.parse", "Builder.create_builder_config"]
PROFILE = ["Builder.create_optimization_profile", "IOptimizationProfile.set_shape",
           "IBuilderConfig.add_optimization_profile"]
TIMING = ["IBuilderConfig.create_timing_cache", "IBuilderConfig.set_timing_cache"]
TIMING_OUT = ["IBuilderConfig.get_timing_cache", "ITimingCache.serialize"]
LOAD = ["Runtime.deserialize_cuda_engine", "ICudaEngine.create_execution_context"]
BINDINGS_IO = ["ICudaEngine.num_bindings", "IExecutionContext.set_binding_shape"]
TENSOR_IO = ["ICudaEngine.num_io_tensors", "IExecutionContext.set_input_shape",
             "IExecutionContext.set_tensor_address", "IExecutionContext.set_tensor_address"]

EXPECTED_CALLS = {
    "7.2.3.4": ["Builder", "Runtime", "Builder.create_network", "OnnxParser", "OnnxParser.parse",
                "Builder.create_builder_config", "IBuilderConfig.max_workspace_size="] + PROFILE
               + ["Builder.build_engine", "ICudaEngine.serialize"] + LOAD + BINDINGS_IO
               + ["IExecutionContext.execute_async_v2"],
    "8.2.1.8": ["Builder", "Runtime", "Builder.create_network", "OnnxParser", "OnnxParser.parse",
                "Builder.create_builder_config", "IBuilderConfig.max_workspace_size="] + PROFILE
               + TIMING + ["Builder.build_serialized_network"] + TIMING_OUT + LOAD + BINDINGS_IO
               + ["IExecutionContext.execute_async_v2"],
    "8.6.1.6": ["Builder", "Runtime", "Builder.create_network", "OnnxParser", "OnnxParser.parse",
                "Builder.create_builder_config", "IBuilderConfig.set_memory_pool_limit"] + PROFILE
               + TIMING + ["Builder.build_serialized_network"] + TIMING_OUT + LOAD + TENSOR_IO
               + ["IExecutionContext.execute_async_v3"],
    "10.3.0.26": ["Builder", "Runtime", "Builder.create_network", "OnnxParser", "OnnxParser.parse",
                  "Builder.create_builder_config", "IBuilderConfig.set_memory_pool_limit"] + PROFILE
                 + TIMING + ["Builder.build_serialized_network"] + TIMING_OUT + LOAD + TENSOR_IO
                 + ["IExecutionContext.execute_async_v3"],
}


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


def make(artifact, tmp_path, precision="fp32", batch=2, phases=None, **options):
    options.setdefault("engine_cache_dir", str(tmp_path / "engines"))
    runner = TensorRTRunner(str(artifact), precision=precision, batch=batch, options=options)
    if phases is not None:
        runner.report_phase = phases.append
    return runner


def feed(batch=2, value=1.0):
    return {"input": np.full((batch, 8, 8, 3), value, dtype=np.float32)}


def test_registered_in_runners():
    assert runner_class("tensorrt") is TensorRTRunner


@pytest.mark.parametrize("version", double.VERSIONS)
def test_each_version_uses_its_own_api_surface(monkeypatch, artifact, tmp_path, version):
    state = double.install(monkeypatch, version)
    runner = make(artifact, tmp_path)
    runner.activate()
    out = runner.infer(feed(value=0.5))
    assert trt_calls(state) == EXPECTED_CALLS[version]
    # outputs went host -> fake device -> double engine -> host: sum(0.5 * 192) + k
    np.testing.assert_allclose(out[0], [[96, 97, 98, 99]] * 2)
    flags = state.args_of("Builder.create_network")[0][0]
    assert flags == (0 if version.startswith("10.") else 1)  # EXPLICIT_BATCH before 10
    assert state.args_of("IOptimizationProfile.set_shape")[0] == (
        "input", [1, 8, 8, 3], [2, 8, 8, 3], [2, 8, 8, 3])
    assert runner.facts["engine"] == "built" and runner.facts["tensorrt"] == version
    assert runner.facts["compute_capability"] == "5.3"
    assert runner.facts["engine_bytes"] == os.path.getsize(runner.facts["engine_file"])
    assert runner.facts["build_ms"] > 0
    runner.deactivate()
    assert "cuda.Context.pop" in state.calls


def test_workspace_goes_through_the_api_the_version_has(monkeypatch, artifact, tmp_path):
    state = double.install(monkeypatch, "8.6.1.6")
    make(artifact, tmp_path, workspace_bytes=1 << 26).activate()
    assert state.args_of("IBuilderConfig.set_memory_pool_limit") == [("WORKSPACE", 1 << 26)]
    assert "IBuilderConfig.max_workspace_size=" not in state.calls


@pytest.mark.parametrize("precision,flag", [("fp16", "FP16"), ("int8", "INT8")])
def test_precision_flags(monkeypatch, artifact, tmp_path, precision, flag):
    add_int8_model(artifact)
    state = double.install(monkeypatch, "8.2.1.8")
    runner = make(artifact, tmp_path, precision=precision)
    runner.activate()
    assert state.args_of("IBuilderConfig.set_flag") == [(flag,)]
    parsed_len = state.args_of("OnnxParser.parse")[0][0]
    name = "model.int8.onnx" if precision == "int8" else "model.onnx"
    assert parsed_len == (artifact / name).stat().st_size
    if precision == "int8":
        assert runner.facts["int8_mode"] == "explicit"
        assert "IBuilderConfig.int8_calibrator=" not in state.calls


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
    first = make(artifact, tmp_path)
    first.activate()
    first.deactivate()
    del state.calls[:]
    second = make(artifact, tmp_path)
    second.activate()
    assert second.facts["engine"] == "cached"
    assert "build_ms" not in second.facts
    assert not [c for c in state.calls if c.startswith(("Builder.build", "OnnxParser"))]
    assert trt_calls(state)[:3] == ["Builder", "Runtime", "Runtime.deserialize_cuda_engine"]


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
    assert path.endswith(os.path.join("timing", "8.6.1.6_sm53.cache"))
    assert open(path, "rb").read() == b"+timing"
    make(artifact, tmp_path, batch=4).activate()
    assert state.args_of("IBuilderConfig.create_timing_cache") == [(b"",), (b"+timing",)]


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
    assert phases == ["build workspace_bytes=268435456", "build workspace_bytes=134217728", "load"]
    assert runner.facts["workspace_bytes"] == 1 << 27 and runner.facts["oom_retries"] == 1
    assert "OutOfMemory" in runner.facts["failed_attempts"][0]["error"]
    # The engine is kept under the workspace the host asked for: the next run does not OOM again.
    again = make(artifact, tmp_path, workspace_bytes=1 << 28)
    again.activate()
    assert again.facts["engine"] == "cached" and again.facts["workspace_bytes"] == 1 << 27


def test_oom_twice_raises_tensorrts_words_classified_oom(monkeypatch, artifact, tmp_path):
    state = double.install(monkeypatch, "7.2.3.4")
    state.build_failures = ["oom", "oom"]
    with pytest.raises(trt_build.EngineBuildError) as info:
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


def test_without_a_cuda_library_the_error_says_what_to_install(monkeypatch, artifact, tmp_path):
    double.install(monkeypatch, "8.2.1.8")
    monkeypatch.delitem(sys.modules, "pycuda")
    monkeypatch.delitem(sys.modules, "pycuda.driver")
    with pytest.raises(BackendUnavailable, match="PyCUDA or cuda-python.*pip3 install pycuda"):
        make(artifact, tmp_path).activate()


def test_without_tensorrt_or_trtexec_the_backend_is_unavailable(artifact, tmp_path):
    runner = make(artifact, tmp_path, trtexec=str(tmp_path / "no-trtexec"))
    with pytest.raises(BackendUnavailable, match="no trtexec"):
        runner.activate()


def test_measure_times_the_runner_like_any_backend(monkeypatch, artifact, tmp_path):
    state = double.install(monkeypatch, "8.6.1.6")
    phase_file = tmp_path / "phase"
    spec = {"backend": "tensorrt", "precision": "fp32", "batch": 2, "artifact_dir": str(artifact),
            "warmup_ms": 1, "min_iterations": 5, "min_seconds": 0,
            "options": {"engine_cache_dir": str(tmp_path / "engines")}}
    result = measure.measure(spec, measure.PhaseFile(str(phase_file)))
    assert result["status"] == "ok"
    assert result["steady"]["iterations"] >= 5 and "source" not in result["steady"]
    assert result["facts"]["engine"] == "built"
    assert result["first_run_ms"] >= result["load_ms"] > 0
    assert state.calls.count("IExecutionContext.execute_async_v3") >= 1 + 5
    assert phase_file.read_text() == "steady"


def test_importing_the_backend_imports_no_runtime():
    code = textwrap.dedent("""
        import sys
        import edgetrt.agent.backends.tensorrt.runner, edgetrt.agent.backends.tensorrt.trtexec
        import edgetrt.agent.backends.tensorrt.build, edgetrt.agent.backends.tensorrt.engine_io, edgetrt.agent.backends.tensorrt.cuda
        import edgetrt.agent.backends.tensorrt.calibrator, edgetrt.agent.backends.tensorrt.engine_cache
        heavy = [m for m in ("numpy", "tensorrt", "pycuda", "cuda") if m in sys.modules]
        assert not heavy, heavy
    """)
    subprocess.check_call([sys.executable, "-c", code])


# -- a build killed by the kernel: the supervisor's caller retries with half the workspace ----

KILLED_BUILD_CHILD = textwrap.dedent('''
    import json, os, signal, sys
    _, spec_path, result_path, phase_path = sys.argv[1:5]
    spec = json.load(open(spec_path))
    workspace = spec["options"]["workspace_bytes"]
    open(phase_path, "w").write("build workspace_bytes={}".format(workspace))
    if workspace > spec["survives_at"]:
        os.kill(os.getpid(), signal.SIGKILL)
    json.dump({"backend": "tensorrt", "precision": "fp32", "batch": 1, "status": "ok",
               "first_run_ms": 1.0, "steady": None, "message": "",
               "facts": {"workspace_bytes": workspace,
                         "retry": spec["options"].get("killed_build_retry")}},
              open(result_path, "w"))
''')


def run_job(monkeypatch, tmp_path, capsys, spec):
    script = tmp_path / "child.py"
    script.write_text(KILLED_BUILD_CHILD)
    monkeypatch.setattr(agent_main, "entry_command", lambda: [sys.executable, str(script)])
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"runs": [spec], "timeout_s": 30}))
    with pytest.raises(SystemExit) as info:
        agent_main.main(["run", "--job", str(job)])
    assert info.value.code == 0
    return json.loads(capsys.readouterr().out)["runs"][0]


def test_killed_build_is_run_again_with_half_the_workspace(monkeypatch, tmp_path, capsys):
    run = run_job(monkeypatch, tmp_path, capsys, {
        "backend": "tensorrt", "survives_at": 1 << 27, "options": {"workspace_bytes": 1 << 28}})
    assert run["status"] == "ok"
    assert run["facts"]["workspace_bytes"] == 1 << 27
    assert run["facts"]["retry"] == {"after": "killed", "workspace_bytes": 1 << 28}
    assert run["retried_after"]["status"] == "killed"
    assert run["retried_after"]["exit"]["phase"] == "build workspace_bytes=268435456"


def test_killed_build_is_retried_only_once(monkeypatch, tmp_path, capsys):
    run = run_job(monkeypatch, tmp_path, capsys, {
        "backend": "tensorrt", "survives_at": 1 << 20, "options": {"workspace_bytes": 1 << 28}})
    assert run["status"] == "killed"
    assert run["exit"]["phase"] == "build workspace_bytes=134217728"
    assert run["retried_after"]["status"] == "killed"


def test_other_backends_are_not_retried(monkeypatch, tmp_path, capsys):
    run = run_job(monkeypatch, tmp_path, capsys, {
        "backend": "onnxruntime", "survives_at": 1 << 20, "options": {"workspace_bytes": 1 << 28}})
    assert run["status"] == "killed" and "retried_after" not in run


@pytest.mark.parametrize("version", ["8.2.1.8", "10.3.0.26"])
def test_profile_layers_through_an_iprofiler_on_the_context(monkeypatch, artifact, tmp_path, version):
    double.install(monkeypatch, version)
    runner = make(artifact, tmp_path)
    runner.activate()
    profile = runner.profile_layers(feed(), iterations=5)
    assert profile["source"] == "tensorrt"
    names = [layer["name"] for layer in profile["layers"]]
    assert names == [name for name, _ in sorted(double.DOUBLE_LAYER_TIMES_MS, key=lambda x: -x[1])]
    first = profile["layers"][0]
    assert first["calls"] == 5
    assert first["time_ms"] == pytest.approx(dict(double.DOUBLE_LAYER_TIMES_MS)[first["name"]])
    assert sum(layer["percent"] for layer in profile["layers"]) == pytest.approx(100.0)
