"""A stock JetPack 4.6 Jetson Nano, as far as it can exist here, at the agent level.

Python 3.6 with numpy 1.13.3 (Ubuntu 18.04's python3-numpy, JetPack's), the agent bundle a deploy
ships, no PyCUDA, no cuda-python:

- no TensorRT Python module: the agent takes the trtexec path; the trtexec is a STAND-IN that
  prints the real Jetson Nano captures (tests/fixtures/logs C27: a TensorRT 8.2.1 build, C28: a
  TensorRT 8.0.1 engine load) and writes a placeholder engine. The fp16 run ends ``ok`` with
  trtexec's own figures in the cold start, first run and fps; the second run finds it cached. The
  same works with no numpy at all;
- TensorRT 8.2 as the RECORDING DOUBLE and libcudart as the DOUBLE library (host memory): the
  Python path is taken, builds and measures, every buffer through the ctypes layer under numpy
  1.13.3.
"""

import json
import os
import subprocess
import textwrap
import zipfile

import pytest

from edgetrt.device.agent_bundle import build_agent_bundle

from ..conftest import pyenv_python  # noqa: TID252
from .trtexec_standin import C27_NANO_BUILD, C28_NANO_LOAD, write_standin

PYTHON36 = pyenv_python("3.6")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
pytestmark = pytest.mark.skipif(PYTHON36 is None, reason="no CPython 3.6 on this machine")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return build_agent_bundle(tmp_path_factory.mktemp("bundle"))


@pytest.fixture
def artifact(tmp_path):
    directory = tmp_path / "artifact"
    directory.mkdir()
    (directory / "model.onnx").write_bytes(b"ONNX-DOUBLE: the stand-in and the double read no ONNX")
    (directory / "manifest.json").write_text(json.dumps({
        "formats": {"onnx": "model.onnx"},
        "inputs": [{"name": "input", "shape": [-1, 8, 8, 3], "dtype": "float32"}],
        "outputs": [{"name": "output", "shape": [-1, 4], "dtype": "float32"}]}))
    return directory


def agent(command, *args, stdin=None, env=None):
    proc = subprocess.run(list(command) + list(args), input=stdin, capture_output=True, text=True,
                          timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def nano_job(artifact, tmp_path, standin):
    """The run a host sends a Nano: tensorrt fp16, with the probe's TensorRT and GPU facts."""
    return {"artifact_dir": str(artifact), "runs": [{
        "backend": "tensorrt", "precision": "fp16", "batch": 1, "warmup_ms": 200, "min_iterations": 10,
        "min_seconds": 1,
        "options": {"trtexec": str(standin), "engine_cache_dir": str(tmp_path / "engines"),
                    "tensorrt_version": "8.2.1.8", "compute_capability": "5.3"}}]}


def assert_trtexec_figures(run, engine):
    assert run["status"] == "ok", run["message"]
    facts, cold, steady = run["facts"], run["cold_start"], run["steady"]
    assert facts["path"] == "trtexec"
    assert "no TensorRT Python module (tried: tensorrt, tensorrt_rtx, tensorrt_rtx_bindings)" in facts["path_why"]
    assert cold["source"] == "trtexec" and cold["engine"] == engine and facts["engine"] == engine
    # C28 (TensorRT 8.0.1, Nano): "Engine loaded in 3.86437 sec." covers deserialization there
    assert cold["deserialize_ms"] == pytest.approx(3864.37) and cold["deserialize_from"] == "Engine loaded in"
    assert cold["first_inference_ms"] == pytest.approx(40.5005)  # the stand-in's times file (C28's min)
    assert run["first_inference_ms"] == cold["first_inference_ms"]
    assert steady["source"] == "trtexec"
    assert steady["latency_ms"]["median"] == pytest.approx(40.6337)
    assert steady["latency_ms"]["p99"] == pytest.approx(40.8591)
    assert steady["fps"]["median"] == pytest.approx(1000.0 / 40.6337)
    assert steady["fps"]["throughput"] == pytest.approx(24.5583)
    return facts, cold


def test_stock_jetpack_trtexec_path_fp16_ok_then_cached(python36_jetpack, bundle, artifact, tmp_path):
    standin = write_standin(tmp_path, python36_jetpack, build_log=C27_NANO_BUILD, load_log=C28_NANO_LOAD)
    job = json.dumps(nano_job(artifact, tmp_path, standin))
    first = agent([python36_jetpack, str(bundle.path)], "run", "--job", "-", stdin=job)
    assert first["python"].startswith("3.6.")
    facts, cold = assert_trtexec_figures(first["runs"][0], "built")
    assert cold["build_ms"] == pytest.approx(184708.0)  # C27: "Engine built in 184.708 sec."
    assert facts["build_ms"] == cold["build_ms"] and facts["compute_capability_reported"] == "5.3"
    assert first["runs"][0]["first_run_ms"] == pytest.approx(184708.0 + 3864.37 + 40.5005)
    assert "--fp16" in standin.builds()[0] and "--workspace=256" in standin.builds()[0]

    second = agent([python36_jetpack, str(bundle.path)], "run", "--job", "-", stdin=job)
    facts, cold = assert_trtexec_figures(second["runs"][0], "cached")
    assert cold["build_ms"] is None and len(standin.builds()) == 1
    assert second["runs"][0]["first_run_ms"] == pytest.approx(3864.37 + 40.5005)


def test_the_trtexec_path_needs_no_numpy(bundle, artifact, tmp_path):
    venv = tmp_path / "bare-py36"
    subprocess.run([PYTHON36, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    assert subprocess.run([python, "-c", "import numpy"], capture_output=True).returncode != 0
    standin = write_standin(tmp_path, python, build_log=C27_NANO_BUILD, load_log=C28_NANO_LOAD)
    job = nano_job(artifact, tmp_path, standin)
    job["runs"].append({"backend": "noop", "min_seconds": 0.1})
    doc = agent([python, str(bundle.path)], "run", "--job", "-", stdin=json.dumps(job))
    trt, noop = doc["runs"]
    assert_trtexec_figures(trt, "built")
    assert noop["status"] == "error" and "numpy" in noop["message"]  # noop times numpy arrays


# A stand-in for the agent bundle: a zipapp whose __main__ puts the RECORDING DOUBLE of TensorRT
# 8.2 in sys.modules (where JetPack's python3-libnvinfer would be), then runs the agent from the
# source tree. Being a zipapp, it is also what the agent starts its measuring children with.
DOUBLE_ENTRY = textwrap.dedent("""
    import sys
    sys.path[:0] = [{repo!r}, {tests!r}]
    import trt_recording_double as double
    state = double.State("8.2.1.8", [("input", [-1, 8, 8, 3])], [("output", [-1, 4])],
                         memory=double.HostPointerMemory())
    sys.modules["tensorrt"] = double.make_tensorrt(state)
    from edgetrt.agent.main import main
    main(sys.argv[1:])
""")


def test_stock_jetpack_python_path_trt82_double_on_ctypes_cuda(python36_jetpack, artifact, tmp_path,
                                                               cudart_double_path):
    entry = tmp_path / "agent_with_trt82_DOUBLE.pyz"
    with zipfile.ZipFile(str(entry), "w") as zf:
        zf.writestr("__main__.py", DOUBLE_ENTRY.format(repo=REPO, tests=os.path.dirname(os.path.abspath(__file__))))
    command = [python36_jetpack, str(entry)]
    job = {"artifact_dir": str(artifact), "runs": [{
        "backend": "tensorrt", "precision": "fp16", "batch": 2, "warmup_ms": 5, "min_iterations": 5,
        "min_seconds": 0,
        "options": {"engine_cache_dir": str(tmp_path / "engines"), "cudart": cudart_double_path}}]}
    env = dict(os.environ, PYTHONPATH="")
    first = agent(command, "run", "--job", "-", stdin=json.dumps(job), env=env)["runs"][0]
    assert first["status"] == "ok", first["message"]
    facts = first["facts"]
    assert facts["path"] == "python" and facts["tensorrt"] == "8.2.1.8"
    assert facts["cuda_library"] == "libcudart (ctypes)" and facts["compute_capability"] == "5.3"
    assert facts["io"]["api"] == "bindings (execute_async_v2)" and facts["precision_from"] == \
        "BuilderFlag.FP16 on the FP32 ONNX"
    assert first["cold_start"]["engine"] == "built" and first["steady"]["iterations"] >= 5
    second = agent(command, "run", "--job", "-", stdin=json.dumps(job), env=env)["runs"][0]
    assert second["status"] == "ok" and second["cold_start"]["engine"] == "cached"
