"""trtexec mode: command construction per TensorRT version, parsing of real captures, and the
subprocess path for real through a FAKE trtexec (a script that prints real captured trtexec output
from tests/fixtures/logs; it is not trtexec and builds nothing)."""

import json
import os
import sys
from pathlib import Path

import pytest

from edgetrt.agent import measure, outcome
from edgetrt.agent.backends import UnsupportedPrecision
from edgetrt.agent.backends.tensorrt.runner import TensorRTRunner
from edgetrt.agent.parsers.trtexec import parse_trtexec
from edgetrt.agent.backends.tensorrt.trtexec import (TrtexecFailed, benchmark_command, build_command,
                                          header_version, run_trtexec, steady_from_summary)

LOGS = Path(__file__).resolve().parents[1] / "fixtures" / "logs"
C01_LOAD = LOGS / "C01_trtexec_8.6.1_x86_RTX4070_loadEngine.txt"
C02_BUILD = LOGS / "C02_trtexec_8.6.1_x86_RTX4070_build.txt"
C27_NANO_BUILD = LOGS / "C27_trtexec_8.2.1_JetsonNano_build_UNRESOLVED_REPO.txt"

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
    argv = benchmark_command("trtexec", "/c/e.engine", SHAPES, SETTINGS)
    assert argv == ["trtexec", "--loadEngine=/c/e.engine", "--shapes=input:4x8x8x3", "--warmUp=200",
                    "--iterations=10", "--duration=3"]  # duration rounded up: never shorter


def test_steady_block_from_a_real_load_engine_capture():
    parsed = parse_trtexec(C01_LOAD.read_text())
    steady = steady_from_summary(parsed, 1, SETTINGS)
    assert steady["source"] == "trtexec"
    assert steady["latency_ms"]["median"] == pytest.approx(0.27417)
    assert steady["latency_ms"]["p99"] == pytest.approx(0.360596)
    assert steady["gpu_compute_ms"]["mean"] == pytest.approx(0.124818)
    assert steady["throughput_qps"] == pytest.approx(5178.84)
    assert steady["tensorrt"] == "8.6.1"
    assert "fps" not in steady  # no figure trtexec did not print


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


# -- the subprocess path, for real, with a fake trtexec -------------------------------------

FAKE_TRTEXEC = '''#!{python}
# FAKE trtexec for tests: prints real captured trtexec output; builds nothing.
import json, os, sys
state = {state!r}
with open(state + ".argv", "a") as fh:
    fh.write(json.dumps(sys.argv[1:]) + "\\n")
mode = os.environ.get("FAKE_TRTEXEC_MODE", "ok")
args = dict(a[2:].split("=", 1) for a in sys.argv[1:] if "=" in a)
if "saveEngine" in args:
    builds = len([l for l in open(state + ".argv") if "--saveEngine" in l])
    if mode == "oom" or (mode == "oom_once" and builds == 1):
        sys.stdout.write(open({build!r}).read().split("[07/14/2023-11:52:16]")[0])
        sys.stdout.write("[07/14/2023-11:52:40] [E] Error[2]: [virtualMemoryBuffer.cpp::resizePhysical::145] "
                         "Error Code 2: OutOfMemory (no further information)\\n")
        sys.stdout.write("&&&& FAILED TensorRT.trtexec [TensorRT v8201] # trtexec\\n")
        sys.exit(1)
    with open(args["saveEngine"], "wb") as fh:
        fh.write(b"FAKE-TRTEXEC-ENGINE workspace " + args.get("workspace", "?").encode())
    sys.stdout.write(open({build!r}).read())
elif "loadEngine" in args:
    if not open(args["loadEngine"], "rb").read().startswith(b"FAKE-TRTEXEC-ENGINE"):
        sys.stdout.write("[E] Error[1]: [stdArchiveReader.cpp::StdArchiveReader::32] Error Code 1: "
                         "Serialization (Serialization assertion magicTagRead == kMAGIC_TAG failed."
                         "Magic tag does not match)\\n&&&& FAILED TensorRT.trtexec [TensorRT v8201] # trtexec\\n")
        sys.exit(1)
    out = open({load!r}).read()
    if "--dumpProfile" in sys.argv[1:]:
        # A TensorRT 8.5-style per-layer table (the shape trtexec prints; these rows are the fake's own).
        out += ("[11/29/2023-16:19:02] [I] === Profile (500 iterations ) ===\\n"
                "[11/29/2023-16:19:02] [I]      Layer   Time (ms)   Avg. Time (ms)   Median Time (ms)   Time %\\n"
                "[11/29/2023-16:19:02] [I]      conv1      490.00           0.9800             0.9750     98.0\\n"
                "[11/29/2023-16:19:02] [I]    softmax       10.00           0.0200             0.0190      2.0\\n"
                "[11/29/2023-16:19:02] [I]      Total      500.00           1.0000             0.9940    100.0\\n")
    sys.stdout.write(out)
'''


@pytest.fixture
def fake_trtexec(tmp_path):
    path = tmp_path / "bin" / "trtexec"
    path.parent.mkdir()
    state = str(tmp_path / "trtexec-calls")
    path.write_text(FAKE_TRTEXEC.format(python=sys.executable, state=state, build=str(C27_NANO_BUILD),
                                        load=str(C01_LOAD)))
    path.chmod(0o755)

    def calls():
        if not os.path.exists(state + ".argv"):
            return []
        return [json.loads(line) for line in open(state + ".argv")]

    class Fake(str):
        pass

    fake = Fake(str(path))
    fake.calls = calls
    return fake


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


def make(artifact, tmp_path, fake, precision="fp32", batch=4, **options):
    options.update(engine_cache_dir=str(tmp_path / "engines"), trtexec=str(fake),
                   tensorrt_version="8.2.1.8", compute_capability="5.3")
    return TensorRTRunner(str(artifact), precision=precision, batch=batch, options=options)


def test_run_trtexec_failure_carries_trtexecs_error_lines(fake_trtexec):
    # The fake refuses an engine it did not write, with TensorRT's real magic-tag wording.
    with pytest.raises(TrtexecFailed) as info:
        run_trtexec([str(fake_trtexec), "--loadEngine=" + str(C02_BUILD)])
    assert "exit 1, FAILED" in str(info.value) and "Magic tag does not match" in str(info.value)
    assert outcome.classify_exception_text(str(info.value)) == "incompatible"
    assert "&&&& FAILED" in info.value.output


def test_run_trtexec_on_a_missing_program(tmp_path):
    with pytest.raises(TrtexecFailed, match="could not start"):
        run_trtexec([str(tmp_path / "nothing")])


def test_runner_builds_with_trtexec_and_reports_trtexecs_figures(artifact, tmp_path, fake_trtexec):
    phases = []
    runner = make(artifact, tmp_path, fake_trtexec)
    runner.report_phase = phases.append
    runner.activate()
    assert runner.measures_itself
    facts = runner.facts
    assert facts["engine"] == "built" and facts["builder"] == "trtexec"
    assert facts["trtexec_build_time_s"] == pytest.approx(184.708)  # C27, Jetson Nano
    assert facts["build_ms"] > 0 and facts["engine_bytes"] == os.path.getsize(facts["engine_file"])
    assert facts["compute_capability_reported"] == "5.3" and facts["tensorrt_reported"] == "8.2.1"
    build = fake_trtexec.calls()[0]
    assert build[0] == "--onnx=" + str(artifact / "model.onnx")
    assert "--workspace=256" in build and "--optShapes=input:4x8x8x3" in build
    assert [a for a in build if a.startswith("--timingCacheFile=")][0].endswith("8.2.1.8_sm53.cache")
    assert phases == ["build workspace_bytes=268435456", "load"]
    steady = runner.run_benchmark(SETTINGS)
    assert steady["source"] == "trtexec" and steady["latency_ms"]["median"] == pytest.approx(0.27417)
    assert fake_trtexec.calls()[1] == ["--loadEngine=" + facts["engine_file"], "--shapes=input:4x8x8x3",
                                       "--warmUp=200", "--iterations=10", "--duration=3"]
    with pytest.raises(RuntimeError, match="trtexec mode"):
        runner.infer({})


def test_second_run_uses_the_cached_engine(artifact, tmp_path, fake_trtexec):
    make(artifact, tmp_path, fake_trtexec).activate()
    again = make(artifact, tmp_path, fake_trtexec)
    again.activate()
    assert again.facts["engine"] == "cached"
    assert len([c for c in fake_trtexec.calls() if "--saveEngine" in " ".join(c)]) == 1


def test_oom_build_is_retried_with_half_the_workspace(artifact, tmp_path, fake_trtexec, monkeypatch):
    monkeypatch.setenv("FAKE_TRTEXEC_MODE", "oom_once")
    runner = make(artifact, tmp_path, fake_trtexec)
    runner.activate()
    builds = fake_trtexec.calls()
    assert "--workspace=256" in builds[0] and "--workspace=128" in builds[1]
    assert runner.facts["workspace_bytes"] == 128 << 20 and runner.facts["oom_retries"] == 1


def test_oom_twice_is_classified_oom(artifact, tmp_path, fake_trtexec, monkeypatch):
    monkeypatch.setenv("FAKE_TRTEXEC_MODE", "oom")
    with pytest.raises(TrtexecFailed) as info:
        make(artifact, tmp_path, fake_trtexec).activate()
    assert "Error Code 2: OutOfMemory" in str(info.value)
    assert outcome.classify_exception_text(str(info.value)) == "oom"
    assert len(fake_trtexec.calls()) == 2
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


def test_measure_reports_trtexec_figures_and_no_first_inference(artifact, tmp_path, fake_trtexec):
    spec = {"backend": "tensorrt", "precision": "fp16", "batch": 4, "artifact_dir": str(artifact),
            "warmup_ms": 50, "min_iterations": 10, "min_seconds": 1,
            "options": {"engine_cache_dir": str(tmp_path / "engines"), "trtexec": str(fake_trtexec),
                        "tensorrt_version": "8.6.1.6", "compute_capability": "5.3"}}
    result = measure.measure(spec, measure.PhaseFile(str(tmp_path / "phase")))
    assert result["status"] == "ok"
    assert result["steady"]["source"] == "trtexec"
    assert result["first_run_ms"] is None and result["first_inference_ms"] is None
    assert result["load_ms"] > 0 and result["facts"]["engine"] == "built"
    assert "--fp16" in fake_trtexec.calls()[0] and "--memPoolSize=workspace:256" in fake_trtexec.calls()[0]


def test_profile_adds_a_separate_dumpprofile_run_and_returns_its_layers(artifact, tmp_path, fake_trtexec):
    runner = make(artifact, tmp_path, fake_trtexec, profile=True)
    runner.activate()
    steady = runner.run_benchmark(SETTINGS)
    assert steady["source"] == "trtexec"
    bench = fake_trtexec.calls()[1]
    assert bench[-2:] == ["--dumpProfile", "--separateProfileRun"]
    profile = runner.profile_layers(None)
    assert profile["source"] == "trtexec"
    assert [layer["name"] for layer in profile["layers"]] == ["conv1", "softmax"]
    assert profile["layers"][0]["percent"] == pytest.approx(98.0)
