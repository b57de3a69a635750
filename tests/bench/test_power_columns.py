"""A throttled run shows as throttled in the terminal table, the Markdown and the HTML; a steady one
does not. Real runs: the agent's own `run` command (onnxruntime on a one-node model), with a
STAND-IN tegrastats first on PATH that replays the REAL Jetson Nano capture C10 at 100 ms per line
— its 921 MHz lines, and for the drop its real 76 MHz line (the GPU ramping up) from a point in the
run on. The stand-in's GPU load and clocks are the capture's, not the CPU run's: what is tested is
the path from samples to verdict to every report, not a GPU."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from edgetrt.device.agent_client import RunResult

REPO = Path(__file__).resolve().parents[2]
CAPTURE = REPO / "tests" / "fixtures" / "logs" / "C10_tegrastats_JetsonNano_jetson-inference_1206.txt"

STANDIN = '''#!{python}
# STAND-IN for tegrastats: replays the real Nano capture C10, one line per --interval ms.
import sys, time
assert sys.argv[1] == "--interval"
lines = [l for l in open({capture!r}) if l.startswith("RAM ") and "POM_5V_CPU" in l]
steady, low = lines[1:], lines[0]          # 921 MHz lines; the 76 MHz line
drop_after = {drop_after!r}               # seconds, or None for steady clocks all along
start = time.time()
i = 0
while True:
    late = drop_after is not None and time.time() - start > drop_after
    sys.stdout.write(low if late else steady[i % len(steady)])
    sys.stdout.flush()
    i += 1
    time.sleep(int(sys.argv[2]) / 1000.0)
'''


def tiny_artifact(directory):
    """An artifact holding a one-node ONNX model (Relu over 64 floats), made here with onnx.helper:
    an inference takes microseconds, so 2 s of timing stay small in memory."""
    import onnx
    from onnx import TensorProto, helper

    directory.mkdir(exist_ok=True)
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "tiny",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 64])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 64])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(directory / "model.onnx"))
    (directory / "manifest.json").write_text(json.dumps({
        "formats": {"onnx": "model.onnx"}, "inputs": [{"name": "x", "shape": [-1, 64], "dtype": "float32"}],
        "outputs": [{"name": "y", "shape": [-1, 64], "dtype": "float32"}]}))
    return directory


def agent_run(tmp_path, drop_after):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    standin = bin_dir / "tegrastats"
    standin.write_text(STANDIN.format(python=sys.executable, capture=str(CAPTURE), drop_after=drop_after))
    standin.chmod(0o755)
    job = {"runs": [{"backend": "onnxruntime", "precision": "fp32", "batch": 1, "warmup_ms": 10, "min_seconds": 2.0,
                     "artifact_dir": str(tiny_artifact(tmp_path / "artifact"))}], "workdir": str(tmp_path)}
    env = dict(os.environ, PATH=str(bin_dir) + os.pathsep + os.environ["PATH"], PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-m", "edgetrt.agent", "run", "--job", "-"], input=json.dumps(job),
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
    doc = json.loads(proc.stdout.strip().splitlines()[-1])
    return RunResult.from_agent(doc["runs"][0], "local", model="tiny_relu").to_dict()


def record_of(cell):
    return {"schema": "edgetrt.bench/1", "run_id": "power-test", "timestamp": "2026-12-01T00:00:00Z",
            "device": {"name": "nano-standin", "profile": "nano"}, "settings": {}, "conversions": {},
            "cells": [dict(cell, artifact_bytes=None, original_bytes=None, agreement=None)], "warnings": []}


def terminal_text(record, width=80):
    from edgetrt.cli import render

    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None)
    old = render.out
    render.out = console
    try:
        render.bench_table(record)
    finally:
        render.out = old
    return buffer.getvalue()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return {"drop": agent_run(tmp_path_factory.mktemp("drop"), drop_after=1.0),
            "steady": agent_run(tmp_path_factory.mktemp("steady"), drop_after=None)}


def test_the_verdicts(runs):
    drop, steady = runs["drop"], runs["steady"]
    assert drop["status"] == steady["status"] == "ok"
    assert drop["throttled"] is True and steady["throttled"] is False
    assert "GPU clock below 75 % of 921 MHz" in drop["power"]["throttle_reasons"][0]
    assert drop["power"]["timed_samples"] >= 15  # 2 s at 100 ms
    assert steady["power"]["gpu_freq_mhz"]["min"] == 921
    for run in runs.values():
        assert run["power_mean_w"] == pytest.approx(run["power"]["power_mean_w"]) and run["power_mean_w"] > 4
        assert run["temperature_peak_c"] == 48.0 and run["energy_mj"] > 0


def test_the_terminal_says_throttled_in_a_note_at_80_columns_and_a_column_when_wide(runs):
    drop, steady = terminal_text(record_of(runs["drop"])), terminal_text(record_of(runs["steady"]))
    assert all(len(line) <= 80 for line in drop.splitlines() + steady.splitlines())
    assert "throttled: GPU clock below 75 % of 921 MHz" in " ".join(drop.split())
    assert "not throttled: GPU clock below 75 % of 921 MHz in 0 %" in " ".join(steady.split())
    for run, word in ((runs["drop"], "yes"), (runs["steady"], "no")):
        wide = terminal_text(record_of(run), width=130)
        row = [line for line in wide.splitlines() if "onnxruntime fp32 b1" in line][0]
        assert row.split()[-3] == word  # thr, then the artifact MB and agreement columns (— —)


def test_the_markdown_and_the_html_say_throttled(runs):
    from edgetrt.bench.report_html import html_report
    from edgetrt.bench.report_tables import markdown

    drop_md, steady_md = markdown(record_of(runs["drop"])), markdown(record_of(runs["steady"]))
    assert "· throttled |" in drop_md and "not throttled" not in drop_md
    assert "· not throttled |" in steady_md
    assert "p50 / p90 / p95 / p99" in drop_md
    pytest.importorskip("matplotlib")
    drop_html, steady_html = html_report(record_of(runs["drop"])), html_report(record_of(runs["steady"]))
    assert '<td class="throttled">' in drop_html and "· throttled</td>" in drop_html
    assert '<td class="throttled">' not in steady_html and "· not throttled</td>" in steady_html


def test_off_a_jetson_every_report_says_not_measured_and_why(tmp_path):
    env = dict(os.environ, PATH="/usr/bin:/bin", PYTHONPATH=str(REPO))  # no tegrastats anywhere
    job = {"runs": [{"backend": "noop", "batch": 1, "warmup_ms": 1, "min_seconds": 0.1}], "workdir": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "edgetrt.agent", "run", "--job", "-"], input=json.dumps(job),
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
    cell = RunResult.from_agent(json.loads(proc.stdout.strip().splitlines()[-1])["runs"][0], "local",
                                model="noop_model").to_dict()
    assert cell["throttled"] is None and cell["power_mean_w"] is None
    from edgetrt.bench.report_tables import markdown

    assert "not measured (no tegrastats on this machine (not a Jetson))" in markdown(record_of(cell))
    text = terminal_text(record_of(cell))
    assert "not measured (no tegrastats on this machine (not a Jetson))" in " ".join(text.split())
