"""The tftrt backend on a host whose TensorFlow has no TensorRT: its cells fail alone, clearly."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WEIGHTS = REPO / "tests" / "data" / "mobilenet_2_5_128_tf.h5"
pytestmark = pytest.mark.slow


def test_tftrt_cells_fail_alone_with_the_way_out(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO), EDGETRT_CACHE=str(tmp_path / "cache"),
               EDGETRT_RESULTS=str(tmp_path / "results"), HOME=str(tmp_path))
    proc = subprocess.run([sys.executable, "-m", "edgetrt", "bench", "mobilenet_v1_0.25_128", "--weights",
                           str(WEIGHTS), "--backend", "tf,tftrt", "--precision", "fp32,fp16", "--json",
                           "--duration", "0.2"], capture_output=True, text=True, env=env, cwd=REPO, timeout=900)
    assert proc.returncode == 1, proc.stderr[-3000:]  # every cell reported; the tftrt ones failed
    cells = {(c["backend"], c["precision"]): c for c in json.loads(proc.stdout)["cells"]}
    assert set(cells) == {("tf", "fp32"), ("tftrt", "fp32"), ("tftrt", "fp16")}
    assert cells[("tf", "fp32")]["status"] == "ok"
    for precision in ("fp32", "fp16"):
        cell = cells[("tftrt", precision)]
        assert cell["status"] == "error"
        assert "without TensorRT" in cell["message"] and "tensorrt" in cell["message"]
