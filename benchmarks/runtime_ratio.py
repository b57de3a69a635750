"""ONNX Runtime vs native TensorFlow, MobileNetV2 batch 1, measured in one run through the agent.

    python benchmarks/runtime_ratio.py [--model mobilenet_v2] [--duration 3]

Prints each backend's steady-state median latency and the ratio ONNX Runtime / TensorFlow, plus
the harness's own per-iteration cost (the no-op backend timed by the same loop). Figures, not
assertions: unit tests never assert speed.
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edgetrt import api  # noqa: E402
from edgetrt.agent.supervise import run_supervised  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="mobilenet_v2")
    parser.add_argument("--weights", default="random")
    parser.add_argument("--duration", type=float, default=3.0)
    args = parser.parse_args()

    report = api.deploy(api.ModelOptions(model=args.model, weights=args.weights), "local",
                        backends="tf,onnxruntime", precisions="fp32", batches="1",
                        measure=api.MeasureOptions(min_seconds=args.duration))
    median = {}
    for run in report["runs"]:
        if run["status"] != "ok":
            print(f"{run['backend']}: {run['status']} {run['message']}")
            return 1
        median[run["backend"]] = run["steady"]["latency_ms"]["median"]
        lat = run["steady"]["latency_ms"]
        print(f"{run['backend']:12s} median {lat['median']:8.3f} ms  mean {lat['mean']:8.3f} ms  "
              f"p99 {lat['p99']:8.3f} ms  first run {run['first_run_ms']:8.1f} ms  "
              f"({run['steady']['iterations']} iterations)")

    noop = run_supervised([sys.executable, "-m", "edgetrt.agent"],
                          {"backend": "noop", "batch": 1, "min_seconds": 1.0, "warmup_ms": 50},
                          timeout_s=60)
    overhead_ms = noop["steady"]["latency_ms"]["median"]
    ratio = median["onnxruntime"] / median["tf"]
    print(f"onnxruntime / tf steady-state median latency: {ratio:.3f} "
          f"(onnxruntime is {1 / ratio:.1f}x faster)")
    print(f"harness overhead per iteration (no-op backend): {overhead_ms * 1000:.2f} us = "
          f"{100 * overhead_ms / median['onnxruntime']:.3f}% of the onnxruntime median")
    print(json.dumps({"model": report["model"], "onnxruntime_over_tf": ratio,
                      "tf_median_ms": median["tf"], "onnxruntime_median_ms": median["onnxruntime"],
                      "noop_median_ms": overhead_ms}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
