"""Output that survives 80 columns and pipes: names and numbers never wrap or get cut; no spinners
or escape codes when the output is not a terminal."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "tests" / "device"), str(REPO / "tests" / "deploy")]
from deploy_cli import tiny_onnx  # noqa: E402


def edgetrt(tmp_path, columns, *args):
    env = dict(os.environ, PYTHONPATH=str(REPO), EDGETRT_CACHE=str(tmp_path / "cache"), HOME=str(tmp_path),
               EDGETRT_RESULTS=str(tmp_path / "results"), COLUMNS=str(columns))
    return subprocess.run([sys.executable, "-m", "edgetrt", *args], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=600)


@pytest.mark.parametrize("columns", [80, 200])
def test_every_model_name_appears_whole(tmp_path, columns):
    names = [m["name"] for m in json.loads(edgetrt(tmp_path, columns, "models", "--json").stdout)["models"]]
    text = edgetrt(tmp_path, columns, "models").stdout
    words = set(text.split())
    assert all(name in words for name in names), [n for n in names if n not in words]
    assert max(len(line) for line in text.splitlines()) <= columns


@pytest.mark.slow
@pytest.mark.parametrize("columns", [80, 200])
def test_no_number_of_a_bench_table_is_split_or_cut(tmp_path, columns):
    model = tiny_onnx(tmp_path / "tiny.onnx")
    args = ("bench", str(model), "--backend", "onnxruntime", "--precision", "fp32", "--batch", "1,2",
            "--duration", "0.1", "--iterations", "2", "--warmup-ms", "0")
    proc = edgetrt(tmp_path, columns, *args)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert max(len(line) for line in lines) <= columns
    assert "\x1b" not in proc.stdout + proc.stderr  # a pipe gets no colours, no spinner
    rows = [line for line in lines if re.match(r"\s+onnxruntime fp32 b\d", line)]
    assert len(rows) == 2
    for row in rows:
        # every column of a measured row is there, whole: status, first, median, p99, fps±unc, peak
        fields = row.split()
        assert fields[3] == "ok", row
        # first, p50, p90, p95, p99, fps (±unc when wide), peak MB: every one whole; wide tables add
        # the throttled verdict, the artifact size and the agreement after them
        for field in fields[4:11]:
            assert re.fullmatch(r"\d+(\.\d+)?(±\d+(\.\d+)?)?", field), (field, row)
        assert len(fields) == (11 if columns < 100 else 14), row
    for header in ("status", "p50", "p99", "peak"):
        assert any(header in line for line in lines), header
