"""What `edgetrt bench` costs beyond its measurements: an 8-cell matrix, run again and again.

    python benchmarks/bench_overhead.py [--rounds 5] [--duration 3]

The matrix of the issue: mobilenet_v1_0.25_128 (random weights), onnxruntime, fp32 and int8,
batches 1, 2, 4 and 8, on this host as the device, with the default measurement (200 ms
warm-up, at least 10 iterations and --duration seconds each). A first run, not counted, converts
the model and computes the host reference (native TensorFlow on the four photos); every run after
it is "the second identical bench", in which nothing is converted and TensorFlow does not start.

Per run, A and B come from the same run: A is its wall time (the whole `edgetrt bench ... --json`
process, started by this script), B the sum over its cells of what the report says was measured:

    phases   first run (load + first inference) + warm-up + timed phase    (the target's B)
    child    the measuring child's life, wall_s: the phases plus its start, imports and exit

Printed: A, both Bs and both ratios over the rounds (median, IQR, min–max); the target last:
wall / Σ phases ≤ 1.25.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cli_runs import child_s, isolated_env, phases_s, print_overhead, run_json  # noqa: E402
from interleave import machine_line  # noqa: E402

TARGET = 1.25
MATRIX = ["bench", "mobilenet_v1_0.25_128", "--weights", "random", "--backend", "onnxruntime",
          "--precision", "fp32,int8", "--batch", "1,2,4,8", "--json"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="counted runs after the first (default 5)")
    parser.add_argument("--duration", type=float, default=3.0, help="each cell's timed phase, s (default 3)")
    args = parser.parse_args()
    print(machine_line())
    command = MATRIX + ["--duration", str(args.duration)]
    with tempfile.TemporaryDirectory(prefix="edgetrt-bench-overhead-") as tmp:
        env = isolated_env(Path(tmp))
        first_wall, _ = run_json(command, env)
        walls, phases, children = [], [], []
        for _ in range(args.rounds):
            wall, record = run_json(command, env)
            cells = record["cells"]
            assert len(cells) == 8 and all(c["status"] == "ok" for c in cells), [c["status"] for c in cells]
            assert record["conversions"]["mobilenet_v1_0.25_128"]["cached"] is True
            walls.append(wall)
            phases.append(sum(phases_s(c) for c in cells))
            children.append(sum(child_s(c) for c in cells))
    print(f"edgetrt {' '.join(command)}")
    print(f"first run (converts, host reference): {first_wall:.1f} s, not counted; then {args.rounds} runs")
    print_overhead(walls, phases, children, TARGET, what="Σ cells'", digits=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
