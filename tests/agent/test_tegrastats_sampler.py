"""tegrastats sampled while a run is measured, through a stand-in program that prints the real
Jetson Nano capture C10 (tegrastats itself exists only on a Jetson)."""

from __future__ import annotations

import sys
from pathlib import Path

from edgetrt.agent.supervise import run_supervised
from edgetrt.agent.tegrastats_sampler import find_tegrastats

CAPTURE = Path(__file__).resolve().parents[1] / "fixtures" / "logs" / \
    "C10_tegrastats_JetsonNano_jetson-inference_1206.txt"

FAKE_TEGRASTATS = '''#!{python}
# STAND-IN for tegrastats: prints the real Jetson Nano capture's full lines, then idles.
import sys, time
assert sys.argv[1:3] == ["--interval", "100"], sys.argv
lines = [l for l in open({capture!r}) if l.startswith("RAM ") and "POM_5V_CPU" in l]
for line in lines:
    sys.stdout.write(line)
    sys.stdout.flush()
while True:
    time.sleep(1)
'''

CHILD = '''import json, sys, time
time.sleep(0.3)
json.dump({"backend": "x", "precision": "fp32", "batch": 1, "status": "ok", "first_run_ms": 1.0,
           "steady": None, "message": ""}, open(sys.argv[3], "w"))
'''


def test_a_run_carries_the_boards_ram_and_gpu_load(tmp_path):
    fake = tmp_path / "tegrastats"
    fake.write_text(FAKE_TEGRASTATS.format(python=sys.executable, capture=str(CAPTURE)))
    fake.chmod(0o755)
    child = tmp_path / "child.py"
    child.write_text(CHILD)
    result = run_supervised([sys.executable, str(child)], {"backend": "x"}, tegrastats_program=str(fake))
    assert result["status"] == "ok"
    board = result["tegrastats"]
    assert board["samples"] == 4
    assert board["ram_total_mb"] == 3956
    assert board["ram_used_peak_mb"] == 1504  # the capture: 1501, 1504, 1504, 1504 of 3956 MB
    assert board["gpu_load_peak_pct"] == 99


def test_no_tegrastats_means_no_block(tmp_path):
    child = tmp_path / "child.py"
    child.write_text(CHILD)
    assert find_tegrastats(str(tmp_path / "missing")) is None
    result = run_supervised([sys.executable, str(child)], {"backend": "x"},
                            tegrastats_program=str(tmp_path / "missing"))
    assert result["status"] == "ok" and "tegrastats" not in result
