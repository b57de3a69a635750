"""`edgetrt deploy mobilenet_v2 --device local --json`: the whole path, for real, on this host."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def test_deploy_local_reports_real_tf_and_onnxruntime_runs(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO), EDGETRT_CACHE=str(tmp_path / "cache"), HOME=str(tmp_path))
    proc = subprocess.run([sys.executable, "-m", "edgetrt", "deploy", "mobilenet_v2", "--device", "local",
                           "--json", "--duration", "1", "--weights", "random"],
                          capture_output=True, text=True, env=env, timeout=900, cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    assert report["model"] == "mobilenet_v2"
    assert report["weights"]["kind"] == "random"
    assert report["device"]["name"] == "local"
    assert report["artifacts"] and all(len(a["sha256"]) == 64 and a["bytes"] > 0 for a in report["artifacts"])
    runs = {(r["backend"], r["precision"]): r for r in report["runs"]}
    assert set(runs) == {("tf", "fp32"), ("onnxruntime", "fp32")}
    for run in runs.values():
        assert run["status"] == "ok", run
        assert run["first_run_ms"] > 0
        steady = run["steady"]
        assert steady["iterations"] >= 10
        assert 0 < steady["latency_ms"]["median"] <= steady["latency_ms"]["p99"]
        assert steady["fps"]["median"] > 0 and steady["fps"]["mean"] > 0
        assert run["peak_memory_mb"] > 10
    # The agent ran from the device store under HOME, as it would over SSH.
    assert report["transfer"]["remote_dir"].startswith(str(tmp_path / ".edgetrt" / "artifacts"))
    assert report["transfer"]["files_sent"] >= 3

    again = subprocess.run([sys.executable, "-m", "edgetrt", "deploy", "mobilenet_v2", "--device", "local",
                            "--json", "--duration", "0.2", "--weights", "random", "--backend", "onnxruntime"],
                           capture_output=True, text=True, env=env, timeout=900, cwd=REPO)
    second = json.loads(again.stdout)
    assert second["conversion"]["cached"] is True
    assert second["transfer"]["bytes_sent"] == 0
