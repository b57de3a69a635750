"""The agent under a real Python 3.6 interpreter (a Jetson Nano's), not only vermin's reading of it.

Uses pyenv's CPython 3.6 when the machine has one (this image does), with numpy 1.13.3 — what a
stock JetPack 4.6 has (Ubuntu 18.04's python3-numpy) — in a throwaway virtual environment
(tests/agent/conftest.py). The agent bundle is the same zipapp that a deploy ships. The trtexec and
Python TensorRT paths under the same interpreter: test_stock_jetpack.py.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from edgetrt.device.agent_bundle import build_agent_bundle

from ..conftest import pyenv_python  # noqa: TID252

PYTHON36 = pyenv_python("3.6")
pytestmark = pytest.mark.skipif(PYTHON36 is None, reason="no CPython 3.6 on this machine")


@pytest.fixture(scope="module")
def py36(python36_jetpack):
    return python36_jetpack


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return build_agent_bundle(tmp_path_factory.mktemp("bundle"))


def agent(python, bundle, *args, stdin=None):
    proc = subprocess.run([python, str(bundle.path), *args], input=stdin, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_version_and_probe_on_python36(py36, bundle):
    version = agent(py36, bundle, "version")
    assert version["python"].startswith("3.6.")
    assert version["agent"] == bundle.path.name
    probe = agent(py36, bundle, "probe")
    facts = probe["facts"]["facts"]
    assert facts["python"]["value"].startswith("3.6.")
    assert facts["runtimes"]["value"]["numpy"] is True
    # no TensorRT module and no trtexec for this interpreter: the probe says what to install
    assert facts["tensorrt_bindings"]["value"] is None
    assert facts["tensorrt_path"]["value"]["path"] is None
    assert "python3-libnvinfer" in facts["tensorrt_path"]["value"]["why"]
    assert facts["mem_total_mb"]["value"] > 0


def test_supervised_runs_end_as_they_should_on_python36(py36, bundle, tmp_path):
    artifact = tmp_path / "artifact"
    artifact.mkdir()
    (artifact / "manifest.json").write_text(json.dumps({
        "formats": {"onnx": "model.onnx", "savedmodel": "saved_model"},
        "inputs": [{"name": "input", "shape": [-1, 8, 8, 3], "dtype": "float32"}],
        "outputs": [{"name": "probabilities", "shape": [-1, 4], "dtype": "float32"}]}))
    job = {"artifact_dir": str(artifact), "runs": [
        {"backend": "noop", "min_seconds": 0.2, "warmup_ms": 20},
        {"backend": "tf"},
        {"backend": "onnxruntime"},
        {"backend": "tensorrt"},
        {"backend": "noop", "min_seconds": 60, "timeout_s": 2},
    ]}
    doc = agent(py36, bundle, "run", "--job", "-", stdin=json.dumps(job))
    assert doc["python"].startswith("3.6.")
    noop, tf, ort, trt, slow = doc["runs"]
    assert noop["status"] == "ok" and noop["steady"]["iterations"] >= 10
    assert noop["steady"]["latency_ms"]["median"] < 1.0 and noop["peak_memory_mb"] > 1
    assert tf["status"] == "error" and "TensorFlow is not installed" in tf["message"]
    assert ort["status"] == "error" and "onnxruntime is not installed" in ort["message"]
    assert trt["status"] == "error" and "python3-libnvinfer" in trt["message"]
    assert slow["status"] == "timeout"


def test_the_agent_session_probes_checks_and_runs_on_python36(py36, tmp_path):
    """`agent session` (probe, the store check and assembly, the job; its child prestarted) under
    the Nano's interpreter, driven by the host's DeviceSession as a deploy drives it."""
    from edgetrt.device.session import DeviceSession, FirstRun
    from edgetrt.device.store import LocalFile
    from edgetrt.device.transport import LocalTransport

    noop = {"backend": "noop", "precision": "fp32", "batch": 1, "warmup_ms": 0, "min_iterations": 2,
            "min_seconds": 0}
    manifest = tmp_path / "manifest.json"
    manifest.write_text('{"formats": {}}\n')
    files = [LocalFile.from_path(manifest)]
    entries = [(f.path.name, f.sha256) for f in files]
    root = str(tmp_path / "device")
    results = []
    for _ in range(2):  # a first deploy (the file sent, the run a command of its own), then unchanged
        session = DeviceSession(LocalTransport(), root, python=py36)
        facts = session.probe(tensorrt_modules=False, first_run=FirstRun("noop"))
        assert facts["facts"]["python"]["value"].startswith("3.6.")
        stats, remote_dir, result = session.upload_artifact_and_run(files, "artifact-1", entries, noop, timeout_s=120)
        if result is None:
            result = session.run(dict(noop, artifact_dir=remote_dir), timeout_s=120)
        session.close()
        assert result.status == "ok", result.message
        results.append((stats.bytes_sent, result))
    (first_sent, first), (again_sent, again) = results
    assert first_sent > 0 and "prestarted_s" not in first.exit
    assert again_sent == 0 and again.exit["prestarted_s"] >= 0
    assert again.exit["env"] == {"OPENBLAS_NUM_THREADS": "1"} or "OPENBLAS_NUM_THREADS" in os.environ


def test_the_store_follows_resumes_and_rehashes_on_python36(py36, tmp_path):
    """The store's device side under the Nano's interpreter, which has no os.preadv: a file of
    several read buffers, resumed from a part that ends inside one, then hashed again (--verify)."""
    from edgetrt.device.store import DeviceStore, LocalFile
    from edgetrt.device.transport import LocalTransport

    path = tmp_path / "weights.bin"
    path.write_bytes(os.urandom((3 << 20) + 5))
    f = LocalFile.from_path(path)
    store = DeviceStore(LocalTransport(), str(tmp_path / "device"), python=py36)
    store.ensure_files([])
    part = store.part_path(f.sha256)
    with open(part, "wb") as out:
        out.write(path.read_bytes()[:(1 << 20) + 4321])
    assert store.ensure_files([f]).bytes_sent == f.size - (1 << 20) - 4321
    with open(store.store_path(f.sha256), "rb") as stored:
        assert stored.read() == path.read_bytes()
    assert store.ensure_files([f], recheck=True).rehashed == 1
