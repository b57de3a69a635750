"""Bench records for the report tests: shaped like the matrix runner's output (edgetrt.bench/1).

The timings are invented fixtures in the range of the TF-TRT Jetson Nano blog tables (seeds), not
measurements; the steady blocks come from the real statistics code over synthetic latency lists.
The device facts are those the probe reads from the real captures in tests/fixtures/logs (a Nano
on L4T 32.7.6 with JetPack 4.6 packages) and the profiles' tables; the board summary (tegrastats)
is the agent's parser over the real Nano tegrastats capture. Layer names in the profiles are
invented in the style of tf2onnx (ONNX Runtime) and TensorRT (fused layers).
"""

from __future__ import annotations

import copy
import random
from pathlib import Path

from edgetrt.agent.parsers.tegrastats import summarise
from edgetrt.agent.stats import summarise_latencies
from edgetrt.bench.history import SCHEMA, make_run_id

PHOTOS = ["elephant.jpg", "grace_hopper.jpg", "panda.jpg", "seashore.jpg"]
TOP5 = {"elephant.jpg": [386, 101, 385, 346, 345], "grace_hopper.jpg": [652, 457, 834, 906, 400],
        "panda.jpg": [388, 387, 296, 295, 294], "seashore.jpg": [978, 976, 975, 977, 979]}
LOGS = Path(__file__).resolve().parents[1] / "fixtures" / "logs"
MB = 1 << 20
MV1, MV2, R50, VGG, IV3 = ("mobilenet_v1_1.0_224", "mobilenet_v2_1.0_224", "resnet_v1_50", "vgg_16",
                           "inception_v3")


def steady(median_ms: float, batch: int = 1, n: int = 200, seed: int = 0) -> dict:
    rng = random.Random(seed)
    latencies = [median_ms / 1e3 * (1 + abs(rng.gauss(0, 0.04)) + (0.3 if i % 97 == 5 else 0)) for i in range(n)]
    return summarise_latencies(latencies, batch)


def nano_board() -> dict:
    """tegrastats' summary of the real Nano capture, as the agent's sampler reports it."""
    return summarise((LOGS / "C10_tegrastats_JetsonNano_jetson-inference_1206.txt").read_text().splitlines())


def ok_cell(model, backend, precision, median_ms, first_run_ms, mem, artifact, original, *, batch=1,
            seed=0, swap_last=False, build_ms=None, engine=None, cold_start=None, tegrastats=None):
    preds = []
    for image in PHOTOS:
        classes = list(TOP5[image])
        if swap_last:
            classes[3], classes[4] = classes[4], 999
        probs = [0.6, 0.2, 0.1, 0.05, 0.02]
        preds.append({"image": image, "top5": [[c, p] for c, p in zip(classes, probs)]})
    reference = backend == "tf" and precision == "fp32"
    return {"model": model, "backend": backend, "precision": precision, "batch": batch, "status": "ok",
            "first_run_ms": first_run_ms, "load_ms": first_run_ms * 0.9, "build_ms": build_ms, "engine": engine,
            "cold_start": cold_start, "steady": steady(median_ms, batch, seed=seed), "peak_memory_mb": mem,
            "artifact_bytes": artifact, "original_bytes": original, "message": "",
            "agreement": None if reference else {"images": 4, "top1": 1.0, "top5_overlap": 0.95 if swap_last else 1.0,
                                                 "max_abs_diff": 0.031 if swap_last else 0.0004,
                                                 "reference": "tf fp32", "meaningful": True},
            "predictions": preds, "profile": None, "tegrastats": tegrastats}


def failed_cell(model, backend, precision, status, message, *, batch=1, original=None):
    return {"model": model, "backend": backend, "precision": precision, "batch": batch, "status": status,
            "first_run_ms": None, "load_ms": None, "build_ms": None, "engine": None, "cold_start": None,
            "steady": None, "peak_memory_mb": 3900.0 if status in ("oom", "killed") else None,
            "artifact_bytes": None, "original_bytes": original, "message": message, "agreement": None,
            "predictions": None, "profile": None, "tegrastats": None}


def _fact(value, source):
    return {"value": value, "source": source if value is not None else None}


def nano_probe() -> dict:
    """What the agent's probe reports on the Nano sysroot of tests/agent/test_probe.py."""
    facts = {
        "model": _fact("NVIDIA Jetson Nano Developer Kit", "/proc/device-tree/model"),
        "module": _fact("Jetson Nano", "/proc/device-tree/model"),
        "soc": _fact("tegra210", "/proc/device-tree/compatible"),
        "board": _fact("t210ref", "/etc/nv_tegra_release"),
        "compute_capability": _fact("5.3", "table: soc[tegra210]"),
        "l4t": _fact("32.7.6", "/etc/nv_tegra_release"),
        "jetpack": _fact("4.6.6", "table: l4t[32.7.6]"),
        "tensorrt": _fact("8.2.1.9", "/var/lib/dpkg/status (tensorrt)"),
        "cuda": _fact("10.2.300", "/var/lib/dpkg/status (cuda-cudart-10-2)"),
        "cudnn": _fact("8.2.1.32", "/var/lib/dpkg/status (libcudnn8)"),
        "mem_total_mb": _fact(3956.0, "/proc/meminfo"),
        "power_mode": _fact({"id": 1, "name": "5W"}, "/var/lib/nvpmodel/status + /etc/nvpmodel.conf"),
    }
    return {"schema": "edgetrt.probe/1", "root": "/", "facts": facts, "notes": []}


NANO_PROFILE_FACTS = {"board": "Jetson Nano (4 GB)", "module": "Jetson Nano (4 GB)", "part_number": "p3448-0000",
                      "compute_capability": "5.3", "memory_mb": 4096, "jetpack": "4.6.1–4.6.6", "l4t": "32.7",
                      "tensorrt": "8.2.1", "cuda": "10.2", "cudnn": "8.2.1", "python": "3.6"}
ORIN_PROFILE_FACTS = {"board": "Jetson Orin Nano (8 GB)", "module": "Jetson Orin Nano (8 GB)",
                      "part_number": "p3767-0003", "compute_capability": "8.7", "memory_mb": 8192,
                      "jetpack": "6.1–6.2.1", "l4t": "36.4", "tensorrt": "10.3.0.30", "cuda": "12.6",
                      "cudnn": "9.3.0.75", "python": "3.10"}


def _record(device: dict, cells: list, timestamp: str, weights_kind: str = "imagenet") -> dict:
    models = list(dict.fromkeys(c["model"] for c in cells))
    record = {"schema": SCHEMA, "timestamp": timestamp, "device": device,
              "host": {"hostname": "host", "python": "3.11"}, "tools": {"edgetrt": "0.1.0"},
              "settings": {"warmup_ms": 200.0, "min_iterations": 10, "min_seconds": 3.0, "images": PHOTOS,
                           "profile": False},
              "warnings": [],
              "conversions": {m: {"weights": {"kind": weights_kind}} for m in models},
              "cells": cells}
    record["run_id"] = make_run_id(record)
    return record


def nano_record() -> dict:
    board = nano_board()
    python_cold = {"source": "TensorRT 8.2.1.9 Python API", "parse_ms": 812.0, "build_ms": 128000.0,
                   "serialize_ms": 240.0, "cache_read_ms": 3.0, "deserialize_ms": None, "context_ms": 41.0,
                   "first_inference_ms": 95.0}
    cells = [
        ok_cell(MV1, "tf", "fp32", 34.0, 27551.0, 1450.0, 17 * MB, 17 * MB, seed=1),
        ok_cell(MV1, "onnxruntime", "fp32", 41.0, 820.0, 310.0, 16 * MB, 17 * MB, seed=2),
        ok_cell(MV1, "tensorrt", "fp16", 25.0, 129589.0, 700.0, 9 * MB, 17 * MB, seed=3,
                build_ms=128000.0, engine="built", cold_start=python_cold, tegrastats=board),
        ok_cell(MV1, "tensorrt", "int8", 14.0, 98000.0, 650.0, 5 * MB, 17 * MB, seed=4, swap_last=True,
                build_ms=97000.0, engine="built", tegrastats=board),
        ok_cell(MV2, "tf", "fp32", 37.0, 21224.0, 1400.0, 14 * MB, 14 * MB, seed=5),
        ok_cell(MV2, "onnxruntime", "fp32", 44.0, 900.0, 300.0, 14 * MB, 14 * MB, seed=6),
        ok_cell(MV2, "tensorrt", "fp16", 29.0, 172359.0, 720.0, 8 * MB, 14 * MB, seed=7,
                build_ms=171000.0, engine="built"),
        failed_cell(MV2, "tensorrt", "int8", "incompatible",
                    "The engine plan file is not compatible with this version of TensorRT, expecting "
                    "library version 5.1.6 got 5.1.5, please rebuild.", original=14 * MB),
        ok_cell(R50, "tf", "fp32", 161.0, 16651.0, 2900.0, 98 * MB, 98 * MB, seed=8),
        failed_cell(R50, "onnxruntime", "fp32", "crashed", "SIGSEGV in the measuring child", original=98 * MB),
        failed_cell(R50, "tensorrt", "fp16", "oom", "OutOfMemory: CUDA_ERROR_OUT_OF_MEMORY", original=98 * MB),
        failed_cell(R50, "tensorrt", "int8", "error", "ValueError: no calibration cache", original=98 * MB),
        failed_cell(VGG, "tf", "fp32", "killed", "killed by SIGKILL in phase load", original=528 * MB),
        failed_cell(VGG, "onnxruntime", "fp32", "killed", "killed by SIGKILL in phase load", original=528 * MB),
        failed_cell(VGG, "tensorrt", "fp16", "timeout", "no result within 300 s (phase load)", original=528 * MB),
        ok_cell(IV3, "tf", "fp32", 191.0, 48400.0, 3100.0, 92 * MB, 92 * MB, seed=9),
    ]
    device = {"name": "nano-fixture", "profile": "nano", "address": "nano.lab:22", "probe": nano_probe(),
              "profile_facts": dict(NANO_PROFILE_FACTS), "error": None}
    return _record(device, cells, "2019-09-08T16:24:10Z")


def orin_record(timestamp: str = "2024-11-20T09:12:00Z") -> dict:
    """An Orin Nano that was not probed (its header facts come from the profile), with trtexec
    figures, an engine shared from another Orin of the same group, and the same models as the Nano."""
    trtexec_cold = {"source": "trtexec", "engine": "built", "build_ms": 41000.0, "deserialize_ms": 18.0,
                    "first_inference_ms": 4.1, "first_run_ms": 41230.0}
    cells = [
        ok_cell(MV1, "tf", "fp32", 9.5, 9100.0, 1210.0, 17 * MB, 17 * MB, seed=11),
        ok_cell(MV1, "onnxruntime", "fp32", 11.0, 410.0, 280.0, 16 * MB, 17 * MB, seed=12),
        ok_cell(MV1, "tensorrt", "fp16", 2.1, 41230.0, 520.0, 6 * MB, 17 * MB, seed=13,
                build_ms=41000.0, engine="built", cold_start=trtexec_cold),
        ok_cell(MV1, "tensorrt", "int8", 1.4, 260.0, 480.0, 4 * MB, 17 * MB, seed=14, swap_last=True,
                build_ms=38500.0, engine="shared from orin-lab-2",
                cold_start={"source": "trtexec", "engine": "shared from orin-lab-2", "deserialize_ms": 22.0}),
        ok_cell(MV2, "tf", "fp32", 10.5, 8800.0, 1180.0, 14 * MB, 14 * MB, seed=15),
        ok_cell(MV2, "onnxruntime", "fp32", 12.0, 450.0, 270.0, 14 * MB, 14 * MB, seed=16),
        ok_cell(MV2, "tensorrt", "fp16", 2.6, 52000.0, 540.0, 5 * MB, 14 * MB, seed=17,
                build_ms=51800.0, engine="built"),
        ok_cell(MV2, "tensorrt", "int8", 1.9, 47000.0, 500.0, 4 * MB, 14 * MB, seed=18,
                build_ms=46700.0, engine="built"),
        ok_cell(R50, "tf", "fp32", 38.0, 7100.0, 2500.0, 98 * MB, 98 * MB, seed=19),
        ok_cell(R50, "onnxruntime", "fp32", 52.0, 1500.0, 900.0, 98 * MB, 98 * MB, seed=20),
        ok_cell(R50, "tensorrt", "fp16", 6.8, 95000.0, 1100.0, 50 * MB, 98 * MB, seed=21,
                build_ms=94000.0, engine="built"),
        failed_cell(R50, "tensorrt", "int8", "error", "ValueError: no calibration cache", original=98 * MB),
        failed_cell(VGG, "tf", "fp32", "oom", "ResourceExhaustedError: OOM when allocating tensor", original=528 * MB),
        ok_cell(VGG, "onnxruntime", "fp32", 410.0, 5200.0, 3300.0, 528 * MB, 528 * MB, seed=22),
        ok_cell(VGG, "tensorrt", "fp16", 31.0, 210000.0, 2100.0, 265 * MB, 528 * MB, seed=23,
                build_ms=208000.0, engine="built"),
        ok_cell(IV3, "tf", "fp32", 44.0, 15000.0, 2700.0, 92 * MB, 92 * MB, seed=24),
    ]
    device = {"name": "orin-fixture", "profile": "orin-nano", "address": "orin.lab:22", "probe": None,
              "profile_facts": dict(ORIN_PROFILE_FACTS), "error": None}
    return _record(device, cells, timestamp)


def unreachable_record(name: str = "nano-broken", error: str = "ssh: connect to host 10.0.0.7 port 22: "
                       "No route to host") -> dict:
    """A fleet member that failed before measuring: the error, no cells."""
    device = {"name": name, "profile": "nano", "address": "10.0.0.7:22", "probe": None,
              "profile_facts": dict(NANO_PROFILE_FACTS), "error": error}
    return _record(device, [], "2024-11-20T09:12:00Z")


def all_failed_record() -> dict:
    """A run where nothing finished: every cell timed out, crashed or ran out of memory."""
    record = nano_record()
    kept = [c for c in record["cells"] if c["status"] != "ok"]
    kept.append(failed_cell(IV3, "tf", "fp32", "timeout", "no result within 300 s (phase load)", original=92 * MB))
    record["cells"] = kept
    return _renamed(record)


def with_random_weights(record: dict) -> dict:
    """The same run as the offline default makes it: random weights, agreement a perfect 1.00."""
    new = copy.deepcopy(record)
    for conversion in new["conversions"].values():
        conversion["weights"] = {"kind": "random", "warning": "no pretrained weights: random weights"}
    for cell in new["cells"]:
        if cell.get("agreement"):
            cell["agreement"].update(top1=1.0, top5_overlap=1.0, max_abs_diff=0.0,
                                     meaningful=False, why="random weights: every class scores about "
                                                           "the same, so any two runs agree")
    return _renamed(new)


ORT_LAYERS = [("MobilenetV1/Conv2d_1_pointwise/Conv2D", "FusedConv", 3.9), ("MobilenetV1/Conv2d_0/Conv2D", "FusedConv", 3.4),
              ("MobilenetV1/Conv2d_2_pointwise/Conv2D", "FusedConv", 3.1), ("MobilenetV1/Conv2d_1_depthwise/depthwise", "FusedConv", 2.8),
              ("MobilenetV1/Conv2d_3_pointwise/Conv2D", "FusedConv", 2.6), ("MobilenetV1/Conv2d_4_pointwise/Conv2D", "FusedConv", 2.4),
              ("MobilenetV1/Conv2d_2_depthwise/depthwise", "FusedConv", 2.2), ("MobilenetV1/Conv2d_5_pointwise/Conv2D", "FusedConv", 2.0),
              ("MobilenetV1/Conv2d_6_pointwise/Conv2D", "FusedConv", 1.9), ("MobilenetV1/Conv2d_3_depthwise/depthwise", "FusedConv", 1.7),
              ("MobilenetV1/Conv2d_7_pointwise/Conv2D", "FusedConv", 1.6), ("MobilenetV1/Logits/Conv2d_1c_1x1/Conv2D", "Conv", 1.1),
              ("MobilenetV1/Predictions/Softmax", "Softmax", 0.2), ("MobilenetV1/Logits/AvgPool_1a/AvgPool", "GlobalAveragePool", 0.1),
              ("MobilenetV1/Reshape_1", "Reshape", 0.05)]
TRT_LAYERS = [("MobilenetV1/Conv2d_0/Conv2D + MobilenetV1/Conv2d_0/Relu6", 1.9),
              ("MobilenetV1/Conv2d_1_pointwise/Conv2D + MobilenetV1/Conv2d_1_pointwise/Relu6", 1.7),
              ("MobilenetV1/Conv2d_1_depthwise/depthwise + MobilenetV1/Conv2d_1_depthwise/Relu6", 1.6),
              ("MobilenetV1/Conv2d_2_pointwise/Conv2D + MobilenetV1/Conv2d_2_pointwise/Relu6", 1.5),
              ("MobilenetV1/Conv2d_3_pointwise/Conv2D + MobilenetV1/Conv2d_3_pointwise/Relu6", 1.4),
              ("MobilenetV1/Conv2d_2_depthwise/depthwise + MobilenetV1/Conv2d_2_depthwise/Relu6", 1.3),
              ("MobilenetV1/Conv2d_4_pointwise/Conv2D + MobilenetV1/Conv2d_4_pointwise/Relu6", 1.2),
              ("MobilenetV1/Conv2d_5_pointwise/Conv2D + MobilenetV1/Conv2d_5_pointwise/Relu6", 1.1),
              ("MobilenetV1/Conv2d_6_pointwise/Conv2D + MobilenetV1/Conv2d_6_pointwise/Relu6", 1.0),
              ("MobilenetV1/Conv2d_3_depthwise/depthwise + MobilenetV1/Conv2d_3_depthwise/Relu6", 0.9),
              ("MobilenetV1/Conv2d_7_pointwise/Conv2D + MobilenetV1/Conv2d_7_pointwise/Relu6", 0.8),
              ("MobilenetV1/Logits/Conv2d_1c_1x1/Conv2D", 0.5)]


def _profile(source, layers, nodes):
    total = sum(t for *_, t in layers) * 1.08  # the listed layers are not all of them
    rows = []
    for entry in layers:
        name, op, ms = entry if len(entry) == 3 else (entry[0], None, entry[1])
        row = {"name": name, "time_ms": ms, "percent": 100.0 * ms / total, "calls": 20}
        if op:
            row["op"] = op
        rows.append(row)
    return {"source": source, "layers": rows, "nodes": nodes}


def with_profiled_runs(record: dict) -> dict:
    """The run repeated with --profile: each onnxruntime cell of MobileNet v1 gains a profiled
    run beside its unprofiled one (1.3× slower: the profiler's cost), and the TensorRT fp16 cell
    was only run profiled (trtexec's --dumpProfile)."""
    new = copy.deepcopy(record)
    new["settings"]["profile"] = True
    extra = []
    for cell in new["cells"]:
        if cell["model"] != MV1 or cell["status"] != "ok":
            continue
        if cell["backend"] == "onnxruntime":
            profiled = copy.deepcopy(cell)
            profiled["steady"] = steady(cell["steady"]["latency_ms"]["median"] * 1.3, cell["batch"], seed=77)
            profiled["profile"] = _profile("onnxruntime", ORT_LAYERS, 31)
            profiled["profiled"] = True
            extra.append(profiled)
        elif cell["backend"] == "tensorrt" and cell["precision"] == "fp16":
            cell["profile"] = _profile("trtexec", TRT_LAYERS, 29)
    # The profiled run was made after the unprofiled one: it comes first in the file only by
    # accident of order, which the reports must not take as precedence.
    new["cells"] = extra + new["cells"]
    return _renamed(new)


def with_hostile_text(record: dict) -> dict:
    """Device text with newlines, a carriage return, a tab, terminal escapes, pipes and HTML."""
    new = copy.deepcopy(record)
    new["device"]["name"] = "nano\x1b[31m-lab\r\n|x|"
    for cell in new["cells"]:
        if cell["status"] != "ok":
            cell["message"] = "line one\nline two\r\tcol | <b>bold</b> \x1b[2J\x07 end"
    new["warnings"] = ["probe says\nno L4T\x1b[0m"]
    return _renamed(new)


def _renamed(record: dict) -> dict:
    record.pop("run_id", None)
    record["run_id"] = make_run_id(record)
    return record


def slowed(record: dict, factor: float = 2.0, timestamp: str = "2019-09-09T10:00:00Z") -> dict:
    """The same run with every latency multiplied by factor (fps divided), as a later run."""
    new = copy.deepcopy(record)
    new["timestamp"] = timestamp
    for cell in new["cells"]:
        s = cell.get("steady")
        if s:
            for k, v in s["latency_ms"].items():
                s["latency_ms"][k] = v * factor
            for k in ("median", "mean"):
                s["fps"][k] = s["fps"][k] / factor
    return _renamed(new)


def fleet_records(count: int = 10) -> list[dict]:
    """A shelf of Nanos measured by one fleet run: one record per device, the last unreachable."""
    records = []
    for n in range(1, count):
        record = slowed(nano_record(), 1.0 + 0.03 * n, timestamp="2024-11-20T09:12:00Z")
        record["device"]["name"] = f"nano-{n:02d}"
        records.append(_renamed(record))
    records.append(unreachable_record(f"nano-{count:02d}"))
    return records


def with_noisy_cell(record: dict, share: float = 0.6) -> dict:
    """The fastest cell's throughput jitters by ``share`` of its median (a throttling board): its
    whisker reaches far above every bar."""
    new = copy.deepcopy(record)
    fastest = max((c for c in new["cells"] if c.get("steady")), key=lambda c: c["steady"]["fps"]["median"])
    fastest["steady"]["fps"]["jitter"] = fastest["steady"]["fps"]["median"] * share
    return _renamed(new)
