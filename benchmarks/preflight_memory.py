"""The memory preflight against real measurements: predicted vs measured peak memory of the
onnxruntime backend on this machine, every zoo model that converts here, batch 1 and 8.

    PYTHONPATH=. .venv/bin/python benchmarks/preflight_memory.py [--repeat 3] [--models a,b]

Predicted: ``edgetrt.run.preflight.estimate_cell`` for (onnxruntime, fp32, batch) on the device
``local``, from the model's ONNX artifact. Measured: the peak resident set (``ru_maxrss`` of the
measuring child) of the agent's own run, started exactly as a deploy starts it (``python -m
edgetrt.agent run --job -``: a standard-library parent, so the child's peak is its own). Batch 1
and batch 8 runs are interleaved and repeated; the table shows the median and the spread
(min-max) of the measured peaks, then the ratio measured / predicted, which must lie within
0.75-1.25.

Each model is converted (or found in the cache) in a child process under a 10 GiB address-space
limit: a model whose conversion cannot finish here (tf2onnx needs more than this host's 24 GB for
VGG) is listed as not built, with the reason, instead of taking the host down.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CONVERT_LIMIT_BYTES = 10 << 30
BATCHES = (1, 8)
TOLERANCE = 0.25


def convert_in_child(model: str) -> tuple[str | None, str]:
    """(artifact directory, "") or (None, why not), converting under an address-space limit."""
    code = ("import json, sys; from edgetrt import api; "
            "r = api.convert_model(api.ModelOptions(model=sys.argv[1], weights='random'), formats=('onnx',)); "
            "print(json.dumps({'dir': str(r.artifact.path)}))")

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (CONVERT_LIMIT_BYTES, CONVERT_LIMIT_BYTES))

    proc = subprocess.run([sys.executable, "-c", code, model], capture_output=True, text=True, cwd=ROOT,
                          preexec_fn=limit, env=_env())
    if proc.returncode != 0:
        last = [line for line in proc.stderr.strip().splitlines() if line.strip()]
        return None, f"conversion failed under a {CONVERT_LIMIT_BYTES >> 30} GiB limit: " + (last[-1][:120] if last else
                                                                                            f"exit {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])["dir"], ""


def _env() -> dict:
    import os

    return dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2")


def measure_peak(artifact_dir: str, batch: int) -> float:
    """The measuring child's peak resident set (MiB) of one onnxruntime run, through the agent."""
    job = {"runs": [{"backend": "onnxruntime", "precision": "fp32", "batch": batch, "artifact_dir": artifact_dir,
                     "warmup_ms": 0, "min_iterations": 3, "min_seconds": 0.0, "timeout_s": 600}]}
    proc = subprocess.run([sys.executable, "-m", "edgetrt.agent", "run", "--job", "-"], input=json.dumps(job),
                          capture_output=True, text=True, cwd=ROOT, env=_env())
    run = json.loads(proc.stdout.strip().splitlines()[-1])["runs"][0]
    if run["status"] != "ok":
        raise RuntimeError(f"{artifact_dir} b{batch}: {run['status']}: {run['message']}")
    return float(run["peak_memory_mb"])


def predict(artifact_dir: str, batch: int) -> float:
    from edgetrt.config.devices import load_device
    from edgetrt.convert.artifacts import Artifact
    from edgetrt.run.preflight import estimate_cell
    from edgetrt.run.preflight_graph import GraphCache

    artifact = Artifact.open(Path(artifact_dir))
    estimate = estimate_cell(GraphCache(artifact), "onnxruntime", "fp32", batch, load_device("local"))
    return estimate.run_mb


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per cell (interleaved); default 3")
    parser.add_argument("--models", help="comma list (default: every buildable zoo model)")
    args = parser.parse_args()
    from edgetrt import api

    models = args.models.split(",") if args.models else [m["name"] for m in api.list_models() if m["buildable"]]
    built, skipped = {}, {}
    for model in models:
        directory, why = convert_in_child(model)
        if directory:
            built[model] = directory
        else:
            skipped[model] = why
    measured = {(m, b): [] for m in built for b in BATCHES}
    for _ in range(args.repeat):
        for model, directory in built.items():
            for batch in BATCHES:  # batch 1 and 8 interleaved, so drift hits both alike
                measured[(model, batch)].append(measure_peak(directory, batch))
    print(f"{'model':22s} {'batch':>5s} {'predicted MB':>12s} {'measured MB (median, min-max)':>30s} "
          f"{'measured/predicted':>18s}")
    worst, rows = 0.0, []
    for model, directory in built.items():
        for batch in BATCHES:
            values = measured[(model, batch)]
            predicted = predict(directory, batch)
            median = statistics.median(values)
            ratio = median / predicted
            worst = max(worst, abs(ratio - 1))
            spread = f"{median:6.0f} ({min(values):.0f}-{max(values):.0f})"
            flag = "" if abs(ratio - 1) <= TOLERANCE else "  OUTSIDE +/-25 %"
            print(f"{model:22s} {batch:5d} {predicted:12.0f} {spread:>30s} {ratio:18.2f}{flag}")
            rows.append({"model": model, "batch": batch, "predicted_mb": predicted, "measured_mb": values,
                         "ratio": ratio})
    for model, why in skipped.items():
        print(f"{model:22s} not built here: {why}")
    print(f"largest |measured/predicted - 1|: {worst:.2f} (limit {TOLERANCE:.2f}); "
          f"{args.repeat} runs per cell, onnxruntime fp32 on this host")
    print(json.dumps({"rows": rows, "not_built": skipped, "worst": worst}))
    return 0 if worst <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())
