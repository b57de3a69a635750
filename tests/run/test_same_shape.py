"""`deploy` and `bench` run the same pipeline: the same cell comes back in the same shape from both."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow
QUICK = ["--duration", "0.2", "--iterations", "2", "--warmup-ms", "0", "--weights", "random"]


def edgetrt(env, *args):
    return subprocess.run([sys.executable, "-m", "edgetrt", *args], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=900)


def test_deploy_runs_and_bench_cells_have_one_shape(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO), EDGETRT_CACHE=str(tmp_path / "cache"),
               EDGETRT_RESULTS=str(tmp_path / "results"), HOME=str(tmp_path))
    cell = ["mobilenet_v1_0.25_128", "--device", "local", "--backend", "onnxruntime", "--precision", "fp32"]
    deployed = edgetrt(env, "deploy", *cell, *QUICK, "--json")
    assert deployed.returncode == 0, deployed.stderr[-2000:]
    benched = edgetrt(env, "bench", *cell, *QUICK, "--json")
    assert benched.returncode == 0, benched.stderr[-2000:]
    run = json.loads(deployed.stdout)["runs"][0]
    bench_cell = json.loads(benched.stdout)["cells"][0]
    assert sorted(run) == sorted(bench_cell)
    for key in ("model", "backend", "precision", "batch", "status"):
        assert run[key] == bench_cell[key], key
    assert run["status"] == "ok"
    assert run["steady"]["latency_ms"].keys() == bench_cell["steady"]["latency_ms"].keys()
    # Only bench compares predictions with native TensorFlow.
    assert run["agreement"] is None and bench_cell["agreement"] is not None
