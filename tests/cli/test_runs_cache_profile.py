"""`edgetrt runs`, `edgetrt cache`, and --profile's slowest layers, through the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "tests" / "device"), str(REPO / "tests" / "deploy")]
from deploy_cli import tiny_onnx  # noqa: E402

pytestmark = pytest.mark.slow
QUICK = ("--backend", "onnxruntime", "--precision", "fp32", "--duration", "0.1", "--iterations", "2",
         "--warmup-ms", "0")


@pytest.fixture
def env(tmp_path):
    return dict(os.environ, PYTHONPATH=str(REPO), EDGETRT_CACHE=str(tmp_path / "cache"), HOME=str(tmp_path),
                EDGETRT_RESULTS=str(tmp_path / "results"), COLUMNS="80")


def edgetrt(env, *args):
    return subprocess.run([sys.executable, "-m", "edgetrt", *args], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=600)


def test_runs_lists_the_history_and_cache_sizes_and_cleans_only_when_told(env, tmp_path):
    model = tiny_onnx(tmp_path / "tiny.onnx")
    assert "no saved runs yet" in edgetrt(env, "runs").stdout
    bench = edgetrt(env, "bench", str(model), *QUICK, "--json")
    assert bench.returncode == 0, bench.stderr[-2000:]
    run_id = json.loads(bench.stdout)["run_id"]
    [listed] = json.loads(edgetrt(env, "runs", "--json").stdout)["runs"]
    assert (listed["run_id"], listed["device"], listed["models"], listed["ok"], listed["failed"]) == \
        (run_id, "local", ["tiny"], 1, 0)
    assert run_id in edgetrt(env, "runs").stdout

    parts = {p["name"]: p for p in json.loads(edgetrt(env, "cache", "--json").stdout)["parts"]}
    assert parts["artifacts"]["bytes"] > 0 and parts["agent"]["bytes"] > 0 and parts["results"]["files"] == 1
    dry = json.loads(edgetrt(env, "cache", "--clean", "--json").stdout)
    assert dry["dry_run"] and dry["would_free_bytes"] > 0 and (tmp_path / "cache" / "artifacts").is_dir()
    done = json.loads(edgetrt(env, "cache", "--clean", "--yes", "--json").stdout)
    assert done["freed_bytes"] == dry["would_free_bytes"]
    assert not (tmp_path / "cache" / "artifacts").exists()
    assert (tmp_path / "results").is_dir() and json.loads(edgetrt(env, "runs", "--json").stdout)["runs"]


def test_profile_shows_the_slowest_layers_and_marks_profiled_timings(env, tmp_path):
    model = tiny_onnx(tmp_path / "tiny.onnx")
    proc = edgetrt(env, "deploy", str(model), "--device", "local", *QUICK, "--profile")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "slowest layers of onnxruntime fp32 b1" in proc.stdout
    assert "MatMul" in proc.stdout and "%" in proc.stdout
    row = next(line for line in proc.stdout.splitlines() if line.startswith("onnxruntime fp32 b1"))
    assert row.split()[2] == "b1*"  # marked: the profiler ran during the timed loop
    assert "* profiled" in proc.stdout
