"""Bench records for the report tests: shaped like the matrix runner's output (edgetrt.bench/1).

The timings are invented fixtures in the range of the TF-TRT Jetson Nano blog tables (seeds), not
measurements; the steady blocks come from the real statistics code over synthetic latency lists.
"""

from __future__ import annotations

import copy
import random

from edgetrt.agent.stats import summarise_latencies
from edgetrt.bench.history import SCHEMA, make_run_id

PHOTOS = ["elephant.jpg", "grace_hopper.jpg", "panda.jpg", "seashore.jpg"]
TOP5 = {"elephant.jpg": [386, 101, 385, 346, 345], "grace_hopper.jpg": [652, 457, 834, 906, 400],
        "panda.jpg": [388, 387, 296, 295, 294], "seashore.jpg": [978, 976, 975, 977, 979]}


def steady(median_ms: float, batch: int = 1, n: int = 200, seed: int = 0) -> dict:
    rng = random.Random(seed)
    latencies = [median_ms / 1e3 * (1 + abs(rng.gauss(0, 0.04)) + (0.3 if i % 97 == 5 else 0)) for i in range(n)]
    return summarise_latencies(latencies, batch)


def ok_cell(model, backend, precision, median_ms, first_run_ms, mem, artifact, original, *, batch=1,
            seed=0, swap_last=False, build_ms=None, engine=None):
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
            "steady": steady(median_ms, batch, seed=seed), "peak_memory_mb": mem,
            "artifact_bytes": artifact, "original_bytes": original, "message": "",
            "agreement": None if reference else {"images": 4, "top1": 1.0, "top5_overlap": 0.95 if swap_last else 1.0,
                                                 "max_abs_diff": 0.031 if swap_last else 0.0004, "reference": "tf fp32"},
            "predictions": preds, "profile": None}


def failed_cell(model, backend, precision, status, message, *, batch=1, original=None):
    return {"model": model, "backend": backend, "precision": precision, "batch": batch, "status": status,
            "first_run_ms": None, "load_ms": None, "build_ms": None, "engine": None, "steady": None,
            "peak_memory_mb": 3900.0 if status in ("oom", "killed") else None, "artifact_bytes": None,
            "original_bytes": original, "message": message, "agreement": None, "predictions": None,
            "profile": None}


MB = 1 << 20


def nano_record() -> dict:
    mv1, mv2, r50, vgg, iv3 = ("mobilenet_v1_1.0_224", "mobilenet_v2_1.0_224", "resnet_v1_50", "vgg_16",
                               "inception_v3")
    cells = [
        ok_cell(mv1, "tf", "fp32", 34.0, 27551.0, 1450.0, 17 * MB, 17 * MB, seed=1),
        ok_cell(mv1, "onnxruntime", "fp32", 41.0, 820.0, 310.0, 16 * MB, 17 * MB, seed=2),
        ok_cell(mv1, "tensorrt", "fp16", 25.0, 129589.0, 700.0, 9 * MB, 17 * MB, seed=3,
                build_ms=128000.0, engine="built"),
        ok_cell(mv1, "tensorrt", "int8", 14.0, 98000.0, 650.0, 5 * MB, 17 * MB, seed=4, swap_last=True,
                build_ms=97000.0, engine="built"),
        ok_cell(mv2, "tf", "fp32", 37.0, 21224.0, 1400.0, 14 * MB, 14 * MB, seed=5),
        ok_cell(mv2, "onnxruntime", "fp32", 44.0, 900.0, 300.0, 14 * MB, 14 * MB, seed=6),
        ok_cell(mv2, "tensorrt", "fp16", 29.0, 172359.0, 720.0, 8 * MB, 14 * MB, seed=7,
                build_ms=171000.0, engine="built"),
        failed_cell(mv2, "tensorrt", "int8", "incompatible",
                    "The engine plan file is not compatible with this version of TensorRT, expecting "
                    "library version 5.1.6 got 5.1.5, please rebuild.", original=14 * MB),
        ok_cell(r50, "tf", "fp32", 161.0, 16651.0, 2900.0, 98 * MB, 98 * MB, seed=8),
        failed_cell(r50, "onnxruntime", "fp32", "crashed", "SIGSEGV in the measuring child", original=98 * MB),
        failed_cell(r50, "tensorrt", "fp16", "oom", "OutOfMemory: CUDA_ERROR_OUT_OF_MEMORY", original=98 * MB),
        failed_cell(r50, "tensorrt", "int8", "error", "ValueError: no calibration cache", original=98 * MB),
        failed_cell(vgg, "tf", "fp32", "killed", "killed by SIGKILL in phase load", original=528 * MB),
        failed_cell(vgg, "onnxruntime", "fp32", "killed", "killed by SIGKILL in phase load", original=528 * MB),
        failed_cell(vgg, "tensorrt", "fp16", "timeout", "no result within 300 s (phase load)", original=528 * MB),
        ok_cell(iv3, "tf", "fp32", 191.0, 48400.0, 3100.0, 92 * MB, 92 * MB, seed=9),
    ]
    record = {"schema": SCHEMA, "timestamp": "2019-09-08T16:24:10Z",
              "device": {"name": "nano-fixture", "profile": "jetson-nano", "probe": {"l4t": "32.2.1"}},
              "host": {"hostname": "host", "python": "3.11"}, "tools": {"edgetrt": "0.1.0"},
              "settings": {"warmup_ms": 200.0, "min_iterations": 10, "min_seconds": 3.0, "images": PHOTOS},
              "cells": cells}
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
    new.pop("run_id", None)
    new["run_id"] = make_run_id(new)
    return new
