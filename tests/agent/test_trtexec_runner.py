"""The trtexec path: command construction per TensorRT version, parsing of real captures, and the
subprocess path for real through a STAND-IN trtexec (tests/agent/trtexec_standin.py: a script that
prints real captured trtexec output from tests/fixtures/logs; it is not trtexec and builds nothing)."""

import json
import os
import sys
from pathlib import Path

import pytest

from edgetrt.agent import measure, outcome
from edgetrt.agent.backends import UnsupportedPrecision, runner_for
from edgetrt.agent.backends.tensorrt.trtexec import (TrtexecFailed, benchmark_command, build_command,
                                                     first_query_ms, header_version, run_trtexec,
                                                     steady_from_summary)
from edgetrt.agent.backends.tensorrt.retry import BuildFailed
from edgetrt.agent.backends.tensorrt.trtexec_runner import TrtexecRunner
from edgetrt.agent.parsers.trtexec import parse_trtexec

from .trtexec_standin import C01_LOAD, C27_NANO_BUILD, LOGS, TIMING_MARK, write_standin

C02_BUILD = LOGS / "C02_trtexec_8.6.1_x86_RTX4070_build.txt"

SHAPES = {"input": {"min": [1, 8, 8, 3], "opt": [4, 8, 8, 3], "max": [4, 8, 8, 3]}}
SETTINGS = {"warmup_ms": 200.0, "min_iterations": 10, "min_seconds": 2.5}


HEAD = ["trtexec", "--onnx=/a/model.onnx", "--saveEngine=/c/e.tmp"]
PROFILE = ["--fp16", "--minShapes=input:1x8x8x3", "--optShapes=input:4x8x8x3", "--maxShapes=input:4x8x8x3"]
TAIL = ["--warmUp=0", "--iterations=1", "--duration=0"]


@pytest.mark.parametrize("version,expected", [
    ((7, 2, 3, 4), HEAD + ["--explicitBatch", "--workspace=256"] + PROFILE + TAIL),
    ((8, 2, 1, 8), HEAD + ["--workspace=256"] + PROFILE + ["--timingCacheFile=/c/t.cache"] + TAIL),
    ((8, 6, 1, 6), HEAD + ["--memPoolSize=workspace:256"] + PROFILE + ["--timingCacheFile=/c/t.cache"] + TAIL),
    ((10, 3, 0, 26), HEAD + ["--memPoolSize=workspace:256"] + PROFILE + ["--timingCacheFile=/c/t.cache"] + TAIL),
    # strongly typed: the FP16 ONNX carries the precision, no --fp16
    ((11, 0, 0, 1), HEAD + ["--memPoolSize=workspace:256"] + PROFILE[1:] + ["--timingCacheFile=/c/t.cache"]
     + TAIL),
    ((), HEAD + PROFILE + TAIL),  # unknown version: only flags every trtexec takes
])
def test_build_command_per_version(version, expected):
    argv = build_command("trtexec", "/a/model.onnx", "/c/e.tmp", "fp16", SHAPES, 256 << 20, version,
                         "/c/t.cache")
    assert argv == expected


def test_tensorrt_10_build_never_uses_removed_flags():
    argv = build_command("trtexec", "m.onnx", "e", "int8", SHAPES, 1 << 30, (10, 3, 0, 26), "t")
    assert "--int8" in argv and "--memPoolSize=workspace:1024" in argv
    assert not [a for a in argv if a.startswith(("--workspace", "--explicitBatch"))]


def test_tf_style_input_names_are_quoted_and_static_shapes_need_no_profile():
    shapes = {"input_1:0": {"min": [1, 3], "opt": [2, 3], "max": [2, 3]}}
    argv = build_command("trtexec", "m.onnx", "e", "fp32", shapes, 1 << 20, (8, 6, 1, 6))
    assert "--minShapes='input_1:0':1x3" in argv
    static = {"x": {"min": [1, 3], "opt": [1, 3], "max": [1, 3]}}
    assert not [a for a in build_command("trtexec", "m", "e", "fp32", static, 1 << 20, (8, 6))
                if "Shapes" in a]


def test_benchmark_command_maps_the_run_settings():
    argv = benchmark_command("trtexec", "/c/e.engine", SHAPES, SETTINGS, "/c/t.json")
    assert argv == ["trtexec", "--loadEngine=/c/e.engine", "--shapes=input:4x8x8x3", "--warmUp=200",
                    "--iterations=10", "--duration=3",  # duration rounded up: never shorter
                    "--exportTimes=/c/t.json"]


def test_steady_block_from_a_real_load_engine_capture():
    parsed = parse_trtexec(C01_LOAD.read_text())
    steady = steady_from_summary(parsed, 1, SETTINGS)
    assert steady["source"] == "trtexec"
    assert steady["latency_ms"]["median"] == pytest.approx(0.27417)
    assert steady["latency_ms"]["p99"] == pytest.approx(0.360596)
    assert steady["gpu_compute_ms"]["mean"] == pytest.approx(0.124818)
    assert steady["throughput_qps"] == pytest.approx(5178.84)
    assert steady["tensorrt"] == "8.6.1"
    # the keys the tables read, derived from trtexec's figures and saying how
    assert steady["fps"]["median"] == pytest.approx(1000.0 / 0.27417)
    assert steady["fps"]["throughput"] == pytest.approx(5178.84)
    assert "trtexec's median Latency" in steady["fps"]["from"]
    assert steady_from_summary(parsed, 4, SETTINGS)["fps"]["throughput"] == pytest.approx(4 * 5178.84)


def test_first_query_from_an_export_times_file(tmp_path):
    times = tmp_path / "times.json"
    # the shape sampleReporting.cpp's exportJSONTrace writes: one query per line, warm-ups first
    times.write_text('[\n  { "startEnqMs" : 1.5, "latencyMs" : 12.25, "endToEndMs" : 12.5 }\n'
                     ', { "startEnqMs" : 14.0, "latencyMs" : 3.0, "endToEndMs" : 3.1 }\n]\n')
    assert first_query_ms(str(times)) == pytest.approx(12.25)
    assert first_query_ms(str(tmp_path / "missing.json")) is None
    times.write_text("[\n]\n")
    assert first_query_ms(str(times)) is None


def test_a_capture_without_a_summary_is_refused():
    parsed = parse_trtexec("&&&& PASSED TensorRT.trtexec [TensorRT v8601] # trtexec\n")
    with pytest.raises(TrtexecFailed, match="no latency summary"):
        steady_from_summary(parsed, 1, SETTINGS)


def test_header_version_reads_all_four_parts(tmp_path):
    header = tmp_path / "NvInferVersion.h"
    header.write_text("#define NV_TENSORRT_MAJOR 8 //!< major\n#define NV_TENSORRT_MINOR 2\n"
                      "#define NV_TENSORRT_PATCH 1\n#define NV_TENSORRT_BUILD 8\n")
    assert header_version([str(tmp_path / "missing.h"), str(header)]) == "8.2.1.8"
    assert header_version([str(tmp_path / "missing.h")]) is None


# -- the subprocess path, for real, with the stand-in trtexec ---------------------------------

@pytest.fixture
def fake_trtexec(tmp_path):
    return write_standin(tmp_path, sys.executable)


@pytest.fixture
def artifact(tmp_path):
    directory = tmp_path / "artifact"
    directory.mkdir()
    (directory / "model.onnx").write_bytes(b"an onnx file")
    (directory / "manifest.json").write_text(json.dumps({
        "formats": {"onnx": "model.onnx"},
        "inputs": [{"name": "input", "shape": [-1, 8, 8, 3], "dtype": "float32"}],
        "outputs": [{"name": "output", "shape": [-1, 4], "dtype": "float32"}]}))
    return directory


def make(artifact, tmp_path, fake, precision="fp32", batch=4, phases=None, **options):
    options.update(engine_cache_dir=str(tmp_path / "engines"), trtexec=str(fake),
                   tensorrt_version="8.2.1.8", compute_capability="5.3")
    report = None
    if phases is not None:
        def report(name, **detail):
            phases.append((name, detail) if detail else name)
    return TrtexecRunner(str(artifact), precision=precision, batch=batch, options=options,
                         report_phase=report)


def test_run_trtexec_failure_carries_trtexecs_error_lines(fake_trtexec):
    # The stand-in refuses an engine it did not write, with TensorRT's real magic-tag wording.
    with pytest.raises(TrtexecFailed) as info:
        run_trtexec([str(fake_trtexec), "--loadEngine=" + str(C02_BUILD)])
    assert "exit 1, FAILED" in str(info.value) and "Magic tag does not match" in str(info.value)
    assert outcome.classify_exception_text(str(info.value)) == "incompatible"
    assert "&&&& FAILED" in info.value.output and not info.value.out_of_memory


def test_run_trtexec_on_a_missing_program(tmp_path):
    with pytest.raises(TrtexecFailed, match="could not start"):
        run_trtexec([str(tmp_path / "nothing")])


def test_the_trtexec_path_is_chosen_without_bindings_and_needs_no_numpy(artifact, tmp_path, fake_trtexec):
    options = {"tensorrt_module": "no_such_tensorrt_module", "trtexec": str(fake_trtexec)}
    cls, choice = runner_for("tensorrt", options)
    assert cls is TrtexecRunner and choice["path"] == "trtexec"
    assert "no TensorRT Python module" in choice["why"] and str(fake_trtexec) in choice["why"]
    assert cls.measures_itself and not cls.needs_numpy and not cls.returns_outputs


def test_runner_builds_with_trtexec_and_reports_trtexecs_figures(artifact, tmp_path, fake_trtexec):
    phases = []
    runner = make(artifact, tmp_path, fake_trtexec, phases=phases)
    runner.activate()
    facts = runner.facts
    assert facts["engine"] == "built" and facts["builder"] == "trtexec"
    assert facts["trtexec_build_time_s"] == pytest.approx(184.708)  # C27, Jetson Nano
    assert facts["build_ms"] == pytest.approx(184708.0) and facts["build_wall_ms"] > 0
    assert facts["engine_bytes"] == os.path.getsize(facts["engine_file"])
    assert facts["compute_capability_reported"] == "5.3" and facts["tensorrt_reported"] == "8.2.1"
    build = fake_trtexec.calls()[0]
    assert build[0] == "--onnx=" + str(artifact / "model.onnx")
    assert "--workspace=256" in build and "--optShapes=input:4x8x8x3" in build
    assert [a for a in build if a.startswith("--timingCacheFile=")][0].endswith("tensorrt-8.2.1.8_sm53.cache")
    assert phases == [("build", {"attempt": 1, "workspace_bytes": 256 << 20})]
    steady = runner.run_benchmark(SETTINGS)
    assert steady["source"] == "trtexec" and steady["latency_ms"]["median"] == pytest.approx(0.27417)
    bench = fake_trtexec.calls()[1]
    assert bench[:5] == ["--loadEngine=" + facts["engine_file"], "--shapes=input:4x8x8x3",
                         "--warmUp=200", "--iterations=10", "--duration=3"]
    assert bench[5].startswith("--exportTimes=")
    cold = runner.cold_start()
    assert cold["source"] == "trtexec" and cold["engine"] == "built"
    assert cold["deserialize_ms"] == pytest.approx(6.05718)  # C01: "Engine deserialized in"
    assert cold["deserialize_from"] == "Engine deserialized in"
    assert cold["first_inference_ms"] == pytest.approx(0.228333)  # the stand-in's times file
    assert cold["first_run_ms"] == pytest.approx(184708.0 + 6.05718 + 0.228333)
    assert not [f for f in os.listdir(str(tmp_path / "engines")) if f.endswith(".json") and "times" in f]
    with pytest.raises(RuntimeError, match="trtexec runs the inferences"):
        runner.infer({})


def test_second_run_uses_the_cached_engine(artifact, tmp_path, fake_trtexec):
    make(artifact, tmp_path, fake_trtexec).activate()
    again = make(artifact, tmp_path, fake_trtexec)
    again.activate()
    assert again.facts["engine"] == "cached" and again.cold_start()["engine"] == "cached"
    assert len(fake_trtexec.builds()) == 1
    again.run_benchmark(SETTINGS)
    cold = again.cold_start()
    assert cold["build_ms"] is None and cold["first_run_ms"] == pytest.approx(6.05718 + 0.228333)


def test_trtexec_builds_from_a_shared_timing_cache_and_a_devices_own_is_kept(artifact, tmp_path, fake_trtexec):
    import hashlib

    from edgetrt.agent.backends.tensorrt.engine_cache import timing_cache_key

    offered = tmp_path / "offered"
    offered.write_bytes(b"NANO1 TIMING+")
    offer = {"path": str(offered), "sha256": hashlib.sha256(b"NANO1 TIMING+").hexdigest(),
             "key": timing_cache_key("tensorrt", "8.2.1.8", "5.3"), "from": "nano1"}
    runner = make(artifact, tmp_path, fake_trtexec, shared_timing_cache=offer)
    runner.activate()
    fact = runner.facts["timing_cache"]
    assert fact["shared_from"] == "nano1" and fact["reused"] is True
    # trtexec (the stand-in) loaded the shared cache and saved it with this build's addition
    assert open(fact["file"], "rb").read() == b"NANO1 TIMING+" + TIMING_MARK
    assert fact["sha256"] == hashlib.sha256(b"NANO1 TIMING+" + TIMING_MARK).hexdigest()

    other = make(artifact, tmp_path / "own", fake_trtexec, shared_timing_cache=offer)
    own = tmp_path / "own" / "engines" / "timing" / "tensorrt-8.2.1.8_sm53.cache"
    own.parent.mkdir(parents=True)
    own.write_bytes(b"OWN+")
    other.activate()
    fact = other.facts["timing_cache"]
    assert fact["offered_from"] == "nano1" and "shared_from" not in fact
    assert own.read_bytes() == b"OWN+" + TIMING_MARK


def test_oom_build_is_retried_with_half_the_workspace(artifact, tmp_path, fake_trtexec, monkeypatch):
    monkeypatch.setenv("TRTEXEC_STANDIN_MODE", "oom_once")
    runner = make(artifact, tmp_path, fake_trtexec)
    runner.activate()
    builds = fake_trtexec.builds()
    assert "--workspace=256" in builds[0] and "--workspace=128" in builds[1]
    assert runner.facts["workspace_bytes"] == 128 << 20 and runner.facts["build"]["attempt"] == 2


def test_a_killed_trtexec_build_is_retried_once_as_out_of_memory(artifact, tmp_path, fake_trtexec,
                                                                 monkeypatch):
    monkeypatch.setenv("TRTEXEC_STANDIN_MODE", "killed_once")
    runner = make(artifact, tmp_path, fake_trtexec)
    runner.activate()
    failed = runner.facts["build"]["failed_attempts"]
    assert len(fake_trtexec.builds()) == 2 and failed[0]["out_of_memory"]
    assert "SIGKILL" in failed[0]["error"]


def test_oom_twice_is_classified_oom(artifact, tmp_path, fake_trtexec, monkeypatch):
    monkeypatch.setenv("TRTEXEC_STANDIN_MODE", "oom")
    with pytest.raises(BuildFailed) as info:
        make(artifact, tmp_path, fake_trtexec).activate()
    assert "Error Code 2: OutOfMemory" in str(info.value)
    assert outcome.classify_exception_text(str(info.value)) == "oom"
    assert len(fake_trtexec.calls()) == 2  # the policy's bound: two builds
    assert not [f for f in os.listdir(str(tmp_path / "engines")) if f != "timing"]


def test_corrupt_cached_engine_is_rebuilt_once(artifact, tmp_path, fake_trtexec):
    first = make(artifact, tmp_path, fake_trtexec)
    first.activate()
    with open(first.facts["engine_file"], "wb") as fh:
        fh.write(b"garbage")
    again = make(artifact, tmp_path, fake_trtexec)
    again.activate()
    assert again.facts["engine"] == "cached"
    steady = again.run_benchmark(SETTINGS)
    assert steady["source"] == "trtexec"
    assert again.facts["engine"] == "built" and again.facts["cached_engine_rejected"]


def test_int8_without_a_qdq_model_is_refused_in_trtexec_mode(artifact, tmp_path, fake_trtexec):
    runner = make(artifact, tmp_path, fake_trtexec, precision="int8", calibration_npy="x.npy")
    with pytest.raises(UnsupportedPrecision, match="Q/DQ"):
        runner.activate()
    assert fake_trtexec.calls() == []


def test_measure_reports_trtexec_figures_as_first_run_and_cold_start(artifact, tmp_path, fake_trtexec):
    spec = {"backend": "tensorrt", "precision": "fp16", "batch": 4, "artifact_dir": str(artifact),
            "warmup_ms": 50, "min_iterations": 10, "min_seconds": 1,
            "options": {"engine_cache_dir": str(tmp_path / "engines"), "trtexec": str(fake_trtexec),
                        "tensorrt_path": "trtexec", "tensorrt_version": "8.6.1.6",
                        "compute_capability": "5.3"}}
    result = measure.measure(spec, measure.PhaseFile(str(tmp_path / "phase")))
    assert result["status"] == "ok"
    assert result["steady"]["source"] == "trtexec" and result["steady"]["fps"]["median"] > 0
    assert result["first_inference_ms"] == pytest.approx(0.228333)
    assert result["first_run_ms"] == pytest.approx(184708.0 + 6.05718 + 0.228333)
    assert result["cold_start"]["engine"] == "built" and result["cold_start"]["source"] == "trtexec"
    assert result["load_ms"] > 0 and result["facts"]["engine"] == "built"
    assert result["facts"]["path"] == "trtexec" and "tensorrt_path" in result["facts"]["path_why"]
    assert "--fp16" in fake_trtexec.calls()[0] and "--memPoolSize=workspace:256" in fake_trtexec.calls()[0]


def test_profile_adds_a_separate_dumpprofile_run_and_returns_its_layers(artifact, tmp_path, fake_trtexec):
    runner = make(artifact, tmp_path, fake_trtexec, profile=True)
    runner.activate()
    steady = runner.run_benchmark(SETTINGS)
    assert steady["source"] == "trtexec"
    bench = fake_trtexec.calls()[1]
    assert bench[-2:] == ["--dumpProfile", "--separateProfileRun"]
    profile = runner.profile(None)
    assert profile["source"] == "trtexec"
    assert [layer["name"] for layer in profile["layers"]] == ["conv1", "softmax"]
    assert profile["layers"][0]["percent"] == pytest.approx(98.0)
