"""What an onnxruntime int8 cell measures is said: the Q/DQ model shaped for TensorRT."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_records import _record, ok_cell, nano_probe  # noqa: E402

from edgetrt.api import _with_measures  # noqa: E402
from edgetrt.bench.report import render_report  # noqa: E402
from edgetrt.convert.artifacts import Artifact  # noqa: E402
from edgetrt.convert.quantize import EXACT_KERNELS_NOTE, SHAPE_NOTES, int8_note  # noqa: E402
from edgetrt.device.agent_client import RunResult  # noqa: E402

TENSORRT_SHAPED = {"method": "onnxruntime.quantize_static", "format": "QDQ", "shaped_for": "tensorrt"}


def test_the_note_follows_the_manifest():
    assert int8_note(TENSORRT_SHAPED) == SHAPE_NOTES["tensorrt"]
    legacy = {k: v for k, v in TENSORRT_SHAPED.items() if k != "shaped_for"}  # made before it was recorded
    assert int8_note(legacy) == SHAPE_NOTES["tensorrt"]
    assert int8_note(None) is None
    assert int8_note({"format": "QOperator"}) is None


def test_only_onnxruntime_int8_cells_carry_it():
    artifact = Artifact(Path("/nowhere"), {"model": "m", "int8": TENSORRT_SHAPED, "files": []})
    cells = {(b, p): RunResult(b, p, 1, "ok", model="m") for b, p in
             (("onnxruntime", "int8"), ("onnxruntime", "fp32"), ("tensorrt", "int8"))}
    said = {k: _with_measures(r, {"m": artifact}).measures for k, r in cells.items()}
    assert said == {("onnxruntime", "int8"): SHAPE_NOTES["tensorrt"], ("onnxruntime", "fp32"): None,
                    ("tensorrt", "int8"): None}


def test_a_cell_run_with_the_exact_kernels_says_so():
    # the runner's fact (agent/backends/onnxrt_runner.py) where the CPU has no VNNI
    artifact = Artifact(Path("/nowhere"), {"model": "m", "int8": TENSORRT_SHAPED, "files": []})
    exact = RunResult("onnxruntime", "int8", 1, "ok", model="m", facts={"int8_exact_kernels": True})
    fast = RunResult("onnxruntime", "int8", 1, "ok", model="m", facts={"int8_exact_kernels": False})
    assert _with_measures(exact, {"m": artifact}).measures == SHAPE_NOTES["tensorrt"] + EXACT_KERNELS_NOTE
    assert _with_measures(fast, {"m": artifact}).measures == SHAPE_NOTES["tensorrt"]


def test_the_report_says_it_once_under_the_latency_table():
    cells = [ok_cell("mobilenet_v2", "onnxruntime", "fp32", 4.0, 80, 70, 14 << 20, 14 << 20, batch=b) for b in (1, 8)]
    cells += [dict(ok_cell("mobilenet_v2", "onnxruntime", "int8", 6.0, 90, 70, 4 << 20, 14 << 20, batch=b),
                   measures=SHAPE_NOTES["tensorrt"]) for b in (1, 8)]
    text = render_report([_record({"name": "local", "probe": nano_probe()}, cells, "2026-12-01T00:00:00Z")], "md")
    assert text.count("onnxruntime int8 measures " + SHAPE_NOTES["tensorrt"]) == 1
