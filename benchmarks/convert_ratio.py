"""`edgetrt convert mobilenet_v2 --to onnx` against a bare `python -m tf2onnx.convert` of the same model.

    python benchmarks/convert_ratio.py [--rounds 5] [--model mobilenet_v2]

edgetrt starts from the zoo's Keras application (random weights here: no download), wraps it
in a serving function and hands that to tf2onnx (opset 13); then it reads the ONNX model's inputs
and outputs, hashes the files and writes the manifest. The bare tool needs a file to start from,
so it gets the SavedModel edgetrt itself exports of the same model (made once, not timed): that
is the closest input tf2onnx's command line accepts (its --keras path does not load Keras 3
models). In each round, in turns (interleave.py), every command is one fresh process:

    A  python -m edgetrt convert MODEL --to onnx --weights random --force --out DIR
    B  python -m tf2onnx.convert --saved-model SAVED_MODEL --opset 13 --output FILE
    C  python -m edgetrt convert SAVED_MODEL --to onnx --force --out DIR   (the very input B has)

Both start TensorFlow and tf2onnx; A builds the Keras model where B loads a SavedModel. Printed:
each command's wall time (median, IQR, min–max), then C / B and, last, A / B (target ≤ 1.2).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cli_runs import ROOT, isolated_env, run_json  # noqa: E402
from interleave import describe, interleave, machine_line, per_round_ratios, quartiles, ratio_line  # noqa: E402

TARGET = 1.2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds of the three conversions (default 5)")
    parser.add_argument("--model", default="mobilenet_v2")
    args = parser.parse_args()
    print(machine_line())
    with tempfile.TemporaryDirectory(prefix="edgetrt-convert-ratio-") as tmp:
        tmp = Path(tmp)
        env = isolated_env(tmp)
        _, made = run_json(["convert", args.model, "--to", "savedmodel", "--weights", "random",
                            "--out", str(tmp / "from-edgetrt"), "--json"], env)
        saved_model = Path(made["artifact_dir"]) / made["formats"]["savedmodel"]

        def edgetrt_zoo():
            _, doc = run_json(["convert", args.model, "--to", "onnx", "--weights", "random", "--force",
                               "--out", str(tmp / "a"), "--json"], env)
            assert doc["cached"] is False and set(doc["formats"]) == {"onnx"}, doc["formats"]

        def edgetrt_saved_model():
            _, doc = run_json(["convert", str(saved_model), "--to", "onnx", "--force", "--out", str(tmp / "c"),
                               "--json"], env)
            assert doc["cached"] is False and set(doc["formats"]) == {"onnx"}, doc["formats"]

        def bare_tf2onnx():
            subprocess.run([sys.executable, "-m", "tf2onnx.convert", "--saved-model", str(saved_model),
                            "--opset", "13", "--output", str(tmp / "b.onnx")], check=True, cwd=ROOT, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        seconds = interleave({"A": edgetrt_zoo, "B": bare_tf2onnx, "C": edgetrt_saved_model}, args.rounds)
    print(f"{args.rounds} rounds, order rotated; each command a fresh process")
    print(f"A  edgetrt convert {args.model} --to onnx     {describe(seconds['A'], unit=' s', digits=2)}")
    print(f"B  python -m tf2onnx.convert --saved-model  {describe(seconds['B'], unit=' s', digits=2)}")
    print(f"C  edgetrt convert SAVED_MODEL --to onnx    {describe(seconds['C'], unit=' s', digits=2)}")
    print(ratio_line("C / B (the same SavedModel)", per_round_ratios(seconds["C"], seconds["B"])))
    ratios = per_round_ratios(seconds["A"], seconds["B"])
    print(ratio_line(f"A / B (edgetrt convert {args.model} --to onnx / tf2onnx)", ratios, f"<= {TARGET}",
                     quartiles(ratios)[1] <= TARGET))
    return 0


if __name__ == "__main__":
    sys.exit(main())
