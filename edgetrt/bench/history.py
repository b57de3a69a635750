"""Bench run records: the contract, and an append-only directory of them (one JSON file per run).

A record (schema ``edgetrt.bench/1``) is what the matrix runner produces and what the reports,
the HTML file and ``compare`` read::

    {"schema": "edgetrt.bench/1",
     "run_id": "<12 hex: sha256 of the record's content without run_id/saved_to>",
     "timestamp": "2024-05-01T12:00:00Z",                      # ISO-8601 UTC
     "device": {"name", "profile", "address",
                "probe": {"facts": {NAME: {"value", "source"}}, ...} | null,  # the agent's facts:
                         # l4t, jetpack, tensorrt, cuda, cudnn, module, model, power_mode {"id", "name"},
                         # compute_capability, mem_total_mb, ...; value null where the probe found none
                "profile_facts": {...},                        # what the device's profile expects
                "error": str | null},                          # set when the device failed before measuring
     "host": {...}, "tools": {...},
     "settings": {"warmup_ms", "min_iterations", "min_seconds", "images", "profile": bool, ...},
     "warnings": [str],                                         # e.g. a probe that contradicts the profile
     "conversions": {MODEL: {"weights": {"kind": "imagenet|random|file", ...}, ...}},
     "cells": [{
        "model": "mobilenet_v1_0.25_128", "backend": "tf|onnxruntime|tftrt|tensorrt",
        "precision": "fp32|fp16|int8", "batch": 1,
        "status": "ok|oom|killed|timeout|crashed|incompatible|error",
        "first_run_ms", "load_ms", "build_ms": float | null,   # first run = load/build + 1st inference
        "engine": "built|cached|shared from DEVICE" | null,    # TensorRT engine: built, reused, or another
                                                               # device's (build_ms is then that device's)
        "timing_cache": "new|own|shared from DEVICE|..." | null,  # the builder timing cache the build
                                                               # started from; null when nothing was built
        "cold_start": {"source": "trtexec" | "TensorRT 8.2.1.9 Python API", "parse_ms", "build_ms",
                       "serialize_ms", "cache_read_ms", "deserialize_ms", "context_ms",
                       "first_inference_ms", ...} | null,      # TensorRT's start-up phases, ms
        "steady": {"latency_ms": {"median", "mean", "p99", "p99_uncertainty", ...},
                   "fps": {"median", "mean", "uncertainty", "jitter"},
                   "iterations": int, ...} | null,            # null unless status is ok
        "peak_memory_mb": float | null,
        "tegrastats": {"ram_used_peak_mb", "ram_total_mb", "gpu_load_mean_pct", ...} | null,
        "artifact_bytes": int | null,                          # what this cell ran (engine, ONNX, SavedModel)
        "original_bytes": int | null,                          # the model before optimisation
        "measures": str | null,                                # what the cell ran, where backend and
                                                               # precision do not say it (INT8's shape)
        "message": str,                                        # last meaningful line when not ok
        "agreement": {"images": int,
                      "top1": 0..1,          # fraction of images whose top-1 equals the reference's
                      "top5_overlap": 0..1,  # mean fraction of the reference's top-5 found in this top-5
                      "max_abs_diff": float, # max |Δp| over all outputs and images
                      "reference": "tf fp32",
                      "meaningful": bool,    # false with random weights (then "why" says so)
                      "why": str} | null,
        "predictions": [{"image": "elephant.jpg", "top5": [[class, prob], ...]}] | null,
        "profiled": bool,                                      # optional: the profiler ran in this run
        "profile": {"source": "onnxruntime|trtexec|...", "nodes": int,
                    "layers": [{"name", "time_ms", "percent", "op"?, "calls"?}]} | null}]}

A record may hold more than one run of a cell (model, backend, precision, batch), e.g. a profiled
run beside an unprofiled one; the reports show one headline run per cell (bench/cells.py). A fleet
run is one record per device.

Extra keys are allowed everywhere (readers ignore what they do not know).

Files are named ``<timestamp>-<run_id>.json`` (timestamp without separators, so names sort by
time), written under a temporary name and linked into place: a run file appears complete or not at
all, and an existing file is never overwritten.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from pathlib import Path

from edgetrt.agent.protocol import FAILED_STATUSES, STATUSES  # noqa: F401
from edgetrt.errors import ModelFileError, UsageError

SCHEMA = "edgetrt.bench/1"
# Keys that are about where a record is, not what it says: left out of its run id.
_NOT_CONTENT = ("run_id", "saved_to")
_NAME = re.compile(r"^(\d{8}T\d{6}Z?)-([0-9a-f]{12})\.json$")


def make_run_id(record: dict) -> str:
    """12 hex digits of the SHA-256 of the record's canonical JSON (git-like: content names it)."""
    content = {k: v for k, v in record.items() if k not in _NOT_CONTENT}
    blob = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def check_record(record, where: str = "record") -> dict:
    """Raise ModelFileError unless record looks like a bench record; return it."""
    if not isinstance(record, dict):
        raise ModelFileError(f"{where}: not a bench record (a JSON object is expected)")
    if record.get("schema") != SCHEMA:
        raise ModelFileError(f"{where}: schema {record.get('schema')!r}, expected {SCHEMA!r}",
                             hint="is this an `edgetrt bench --json` result?")
    cells = record.get("cells")
    if not isinstance(cells, list):
        raise ModelFileError(f"{where}: 'cells' must be a list")
    for i, cell in enumerate(cells):
        missing = [k for k in ("model", "backend", "precision", "batch", "status") if k not in cell]
        if missing:
            raise ModelFileError(f"{where}: cells[{i}] lacks {', '.join(missing)}")
    return record


def _stamp(timestamp: str) -> str:
    """'2024-05-01T12:00:00Z' → '20240501T120000Z' (sortable, no ':' in file names)."""
    digits = re.sub(r"[^0-9T]", "", str(timestamp).split(".")[0].split("+")[0])
    if not re.fullmatch(r"\d{8}T\d{6}", digits):
        raise UsageError(f"bench record timestamp {timestamp!r} is not ISO-8601 (YYYY-MM-DDTHH:MM:SSZ)")
    return digits + "Z"


def save_run(record: dict, results_dir: Path) -> Path:
    """Write the record as ``<timestamp>-<run_id>.json`` in results_dir; return the path.

    Append-only: saving the same record twice returns the existing file; a different record can
    never replace one (their ids differ).
    """
    check_record(record)
    run_id = record.get("run_id") or make_run_id(record)
    if run_id != make_run_id(record):
        raise UsageError(f"run id {run_id} does not match the record's content ({make_run_id(record)})")
    body = dict(record, run_id=run_id)
    body.pop("saved_to", None)
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    target = results_dir / f"{_stamp(record.get('timestamp', ''))}-{run_id}.json"
    if target.exists():
        return target
    fd, tmp = tempfile.mkstemp(prefix=".run-", suffix=".json.tmp", dir=results_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(body, fh, indent=1, sort_keys=True)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, target)  # fails rather than overwrite: append-only even under a race
        except FileExistsError:
            pass
    finally:
        os.unlink(tmp)
    return target


def list_runs(results_dir: Path) -> list[dict]:
    """Saved runs, oldest first: {"run_id", "timestamp", "path", "device", "models", "cells", "failed"}."""
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        return []
    runs = []
    for path in sorted(results_dir.iterdir()):
        match = _NAME.match(path.name)
        if not match or not path.is_file():
            continue
        try:
            record = _read(path)
        except ModelFileError:
            continue  # someone else's file, or a damaged one: listing must not fail on it
        cells = record.get("cells", [])
        runs.append({
            "run_id": record.get("run_id") or match.group(2),
            "timestamp": record.get("timestamp"),
            "path": str(path),
            "device": (record.get("device") or {}).get("name"),
            "models": sorted({c["model"] for c in cells}),
            "cells": len(cells),
            "failed": sum(1 for c in cells if c.get("status") != "ok"),
        })
    return runs


def load_run(id_or_path, results_dir: Path) -> dict:
    """A saved record by run id (or unique prefix), file path, 'latest' or 'previous'."""
    key = str(id_or_path)
    if key in ("latest", "previous"):
        runs = list_runs(results_dir)
        need = 1 if key == "latest" else 2
        if len(runs) < need:
            raise UsageError(f"no {key} bench run in {results_dir} ({len(runs)} saved)",
                             hint="run `edgetrt bench MODEL` first")
        return _read(Path(runs[-need]["path"]))
    path = Path(key).expanduser()
    if path.suffix == ".json" or os.sep in key:
        if not path.is_file():
            raise UsageError(f"bench run file {path} does not exist")
        return _read(path)
    if not re.fullmatch(r"[0-9a-f]{4,12}", key):
        raise UsageError(f"{key!r} is not a run id, a file, 'latest' or 'previous'",
                         hint="run ids are hex (at least 4 digits of one); or give a .json file path")
    matches = [r for r in list_runs(results_dir) if r["run_id"].startswith(key)]
    if not matches:
        raise UsageError(f"no bench run {key!r} in {results_dir}")
    if len(matches) > 1:
        ids = ", ".join(r["run_id"] for r in matches[:5])
        raise UsageError(f"run id prefix {key!r} is ambiguous: {ids}", hint="give more digits")
    return _read(Path(matches[0]["path"]))


def _read(path: Path) -> dict:
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"cannot read bench run {path}: {exc}") from exc
    return check_record(record, str(path))
