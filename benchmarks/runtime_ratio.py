"""ONNX Runtime vs native TensorFlow, MobileNetV2 batch 1, through the agent, interleaved.

    python benchmarks/runtime_ratio.py [--model mobilenet_v2] [--duration 3] [--rounds 5]

Each round measures the tf cell and the onnxruntime cell once each (one `deploy` of one backend,
one supervised measuring process, as `edgetrt deploy` runs them), the order rotated from round
to round (interleave.py): TensorFlow once and then ONNX Runtime once moved this ratio from 0.25 to
0.58 across three runs. Also measured, in the same rounds, the harness's own per-iteration cost:
the no-op backend timed by the same loop.

Printed: each backend's steady-state median latency over the rounds (median, IQR, min–max of the
per-run medians), the no-op's, then the per-round ratio onnxruntime / tf. Figures, not
assertions: unit tests never assert speed.
"""

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cli_runs import isolated_env  # noqa: E402

# Set before edgetrt is imported: the conversion cache and the local device's store (~/.edgetrt)
# in a throwaway directory, as the other benchmarks have them.
os.environ.update(isolated_env(Path(tempfile.mkdtemp(prefix="edgetrt-runtime-ratio-"))))

from edgetrt import api  # noqa: E402
from edgetrt.agent.supervise import run_supervised  # noqa: E402
from interleave import describe, interleave, machine_line, per_round_ratios, ratio_line  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="mobilenet_v2")
    parser.add_argument("--weights", default="random")
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(machine_line())
    model = api.ModelOptions(model=args.model, weights=args.weights)
    api.convert_model(model, formats=("savedmodel", "onnx"))  # once, not timed
    facts = {}

    def cell(backend):
        def measure():
            report = api.deploy(model, "local", backends=backend, precisions="fp32", batches="1",
                                measure=api.MeasureOptions(min_seconds=args.duration))
            (run,) = report["runs"]
            if run["status"] != "ok":
                raise SystemExit(f"{backend}: {run['status']} {run['message']}")
            facts[backend] = run["facts"]
            return run["steady"]["latency_ms"]["median"] / 1e3
        return measure

    def noop():
        result = run_supervised([sys.executable, "-m", "edgetrt.agent"],
                                {"backend": "noop", "batch": 1, "min_seconds": 1.0, "warmup_ms": 50},
                                timeout_s=60)
        return result["steady"]["latency_ms"]["median"] / 1e3

    medians = interleave({"tf": cell("tf"), "onnxruntime": cell("onnxruntime"), "noop": noop}, args.rounds)
    print(f"{args.model} batch 1, fp32, {args.duration:g} s timed per cell, {args.rounds} rounds, order rotated "
          f"(tensorflow {facts['tf'].get('tensorflow')}, onnxruntime {facts['onnxruntime'].get('onnxruntime')})")
    print(f"tf            steady-state median latency {describe(medians['tf'], 1e3, ' ms')}")
    print(f"onnxruntime   steady-state median latency {describe(medians['onnxruntime'], 1e3, ' ms')}")
    print(f"no-op         per-iteration harness cost   {describe(medians['noop'], 1e6, ' us', 2)}")
    share = per_round_ratios(medians["noop"], medians["onnxruntime"])
    print(f"harness cost / onnxruntime median: {describe(share, 100, ' %', 4)}")
    print(ratio_line("onnxruntime / tf steady-state median latency",
                     per_round_ratios(medians["onnxruntime"], medians["tf"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
