"""A bench whose conversion and host reference are cached starts no TensorFlow, anywhere.

Proved by making TensorFlow unimportable for the whole process tree of the later runs (a
``tensorflow`` package first on PYTHONPATH that refuses to import): the host process, the local
agent and its measuring children all inherit it. The first run converts and computes the host
reference normally; then an ONNX Runtime matrix that adds INT8 (made from the cached ONNX model,
not from a rebuilt TensorFlow model) and an identical rerun must still succeed with their
agreement figures. The control removes the cached reference: the same poisoned run then has no
reference, which shows the poison reaches the place TensorFlow would start.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

BENCH = ["bench", "mobilenet_v1_0.25_128", "--weights", "random", "--backend", "onnxruntime", "--batch", "1",
         "--duration", "0.05", "--warmup-ms", "0", "--iterations", "1", "--json"]


def run(env, *args):
    proc = subprocess.run([sys.executable, "-m", "edgetrt", *args], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=900)
    return proc, (json.loads(proc.stdout) if proc.stdout.strip().startswith("{") else None)


def test_a_cached_bench_never_starts_tensorflow(tmp_path):
    cache = tmp_path / "cache"
    env = dict(os.environ, PYTHONPATH=str(REPO), EDGETRT_CACHE=str(cache), EDGETRT_RESULTS=str(tmp_path / "results"),
               HOME=str(tmp_path))
    first, record = run(env, *BENCH, "--precision", "fp32")
    assert first.returncode == 0, first.stderr[-3000:]
    assert record["cells"][0]["agreement"]["reference"] == "tf fp32 on the host"
    assert list((cache / "references").iterdir()), "the first run left no cached reference"

    poison = tmp_path / "poison" / "tensorflow"
    poison.mkdir(parents=True)
    (poison / "__init__.py").write_text('raise ImportError("edgetrt test: TensorFlow must not start in this run")\n')
    no_tf = dict(env, PYTHONPATH=f"{poison.parent}{os.pathsep}{REPO}")
    check = subprocess.run([sys.executable, "-c", "import tensorflow"], env=no_tf, capture_output=True, text=True)
    assert check.returncode != 0 and "must not start" in check.stderr

    # INT8 added: quantized from the cached ONNX model; the reference is the SavedModel's, unchanged.
    more, record = run(no_tf, *BENCH, "--precision", "fp32,int8")
    assert more.returncode == 0, more.stderr[-3000:]
    assert record["conversions"]["mobilenet_v1_0.25_128"]["cached"] is False  # INT8 was made in this run
    for cell in record["cells"]:
        assert cell["status"] == "ok", cell["message"]
        assert cell["agreement"]["reference"] == "tf fp32 on the host", cell["agreement"]
        # and the INT8 cell says which INT8 model it measured
        assert (cell["measures"] is not None) == (cell["precision"] == "int8"), cell["measures"]

    again, record = run(no_tf, *BENCH, "--precision", "fp32,int8")
    assert again.returncode == 0, again.stderr[-3000:]
    assert record["conversions"]["mobilenet_v1_0.25_128"]["cached"] is True
    assert all(cell["agreement"]["reference"] == "tf fp32 on the host" for cell in record["cells"])

    # Control: without the cached reference, the poisoned run cannot make one.
    shutil.rmtree(cache / "references")
    control, record = run(no_tf, *BENCH, "--precision", "fp32")
    assert record is not None, control.stderr[-3000:]
    assert record["cells"][0]["agreement"] is None, record["cells"][0]["agreement"]
