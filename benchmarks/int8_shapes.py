"""ONNX Runtime on this CPU: FP32 vs edgetrt's INT8 model (shaped for TensorRT) vs one shaped for ONNX Runtime.

    python benchmarks/int8_shapes.py [--model mobilenet_v2] [--weights random] [--rounds 5]

edgetrt's INT8 model follows TensorRT's rules (convert/quantize.py: symmetric INT8 activations,
Q/DQ pairs on FP32 weights, FP32 biases): what a TensorRT device builds. ONNX Runtime's CPU
kernels fuse a different shape into integer kernels: unsigned INT8 activations, INT8 weights
stored quantized, quantized biases (quantize_static's defaults). This benchmark makes that second
model itself (edgetrt does not), from the same FP32 ONNX model and the same photos, and times the
three in one process: per round and batch, each session warmed up and then timed for
--seconds, in turns with the order rotated (interleave.py). Printed: each model's median latency
(median, IQR, min–max of the per-round medians) per batch, the agreement of each INT8 model with
FP32 on the photos (meaningful with real weights only), and last the per-round latency ratios to
FP32. It decides nothing by itself: it is the measurement a second INT8 artifact would need.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cli_runs import isolated_env  # noqa: E402

os.environ.update(isolated_env(Path(tempfile.mkdtemp(prefix="edgetrt-int8-shapes-"))))

from edgetrt import api  # noqa: E402
from interleave import describe, interleave, machine_line, per_round_ratios, ratio_line  # noqa: E402


def ort_shaped(fp32: Path, out: Path, images, input_name: str) -> None:
    from onnxruntime import quantization as q

    class Photos(q.CalibrationDataReader):
        def __init__(self):
            self.feeds = iter([{input_name: images[i:i + 1]} for i in range(len(images))])

        def get_next(self):
            return next(self.feeds, None)

    prepared = out.with_suffix(".prepared.onnx")
    q.shape_inference.quant_pre_process(str(fp32), str(prepared), skip_symbolic_shape=True)
    q.quantize_static(str(prepared), str(out), Photos(), quant_format=q.QuantFormat.QDQ,
                      activation_type=q.QuantType.QUInt8, weight_type=q.QuantType.QInt8, per_channel=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="mobilenet_v2")
    parser.add_argument("--weights", default="random", help="random | imagenet | PATH to a Keras .h5")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.0, help="timed per model, batch and round")
    parser.add_argument("--batches", default="1,8")
    args = parser.parse_args()
    print(machine_line())
    import numpy as np
    import onnxruntime as ort

    from edgetrt.convert.images import default_images_dir, image_files, load_images

    result = api.convert_model(api.ModelOptions(model=args.model, weights=args.weights,
                                                calibration_images=default_images_dir()),
                               formats=("onnx", "onnx_int8"))
    artifact = result.artifact
    manifest = artifact.manifest
    prep = manifest["preprocessing"]
    input_name = manifest["inputs"][0]["name"]
    images = load_images(image_files(default_images_dir()), prep["input_size"][0], prep["mode"]).astype("float32")
    work = Path(tempfile.mkdtemp(prefix="edgetrt-int8-ort-"))
    ort_shaped(artifact.path / "model.onnx", work / "model.int8.ort.onnx", images, input_name)
    models = {"fp32": artifact.path / "model.onnx", "int8 for TensorRT (edgetrt's)": artifact.path / "model.int8.onnx",
              "int8 for ONNX Runtime's CPU": work / "model.int8.ort.onnx"}
    # As the agent's runner: exact INT8 kernels where this CPU's fast ones would saturate (no VNNI)
    from edgetrt.agent.backends.onnxrt_runner import exact_int8_options

    opts = ort.SessionOptions()
    exact = exact_int8_options(opts)
    sessions = {k: ort.InferenceSession(str(v), opts, providers=["CPUExecutionProvider"])
                for k, v in models.items()}

    def timed(session, feed):
        def measure():
            for _ in range(3):
                session.run(None, feed)
            latencies, end = [], time.perf_counter() + args.seconds
            while time.perf_counter() < end:
                t0 = time.perf_counter()
                session.run(None, feed)
                latencies.append(time.perf_counter() - t0)
            return statistics.median(latencies)
        return measure

    exact_note = " (exact INT8 kernels: this CPU has no VNNI)" if exact else ""
    print(f"{manifest['model']} ({(manifest.get('weights') or {}).get('kind')} weights), onnxruntime "
          f"{ort.__version__} CPUExecutionProvider{exact_note}, {args.rounds} rounds of {args.seconds:g} s per model and batch")
    ratios = {}
    for batch in [int(b) for b in args.batches.split(",")]:
        feed = {input_name: np.random.RandomState(0).uniform(-1, 1, [batch] + manifest["inputs"][0]["shape"][1:])
                .astype("float32")}
        medians = interleave({k: timed(s, feed) for k, s in sessions.items()}, args.rounds)
        for name, values in medians.items():
            print(f"batch {batch}  {name:30s} {describe(values, 1e3, ' ms')}")
        for name in list(models)[1:]:
            ratios[(batch, name)] = per_round_ratios(medians[name], medians["fp32"])
    reference = sessions["fp32"].run(None, {input_name: images})[0]
    for name in list(models)[1:]:
        out = sessions[name].run(None, {input_name: images})[0]
        top1 = int((out.argmax(1) == reference.argmax(1)).sum())
        top5 = np.mean([len(set(np.argsort(-reference[i])[:5]) & set(np.argsort(-out[i])[:5])) / 5
                        for i in range(len(images))])
        print(f"agreement with fp32, {name}: top-1 {top1}/{len(images)}, mean top-5 overlap {top5:.2f}, "
              f"max |Δp| {float(np.abs(out - reference).max()):.3f}")
    for (batch, name), values in ratios.items():
        print(ratio_line(f"batch {batch}: {name} / fp32 latency", values))
    return 0


if __name__ == "__main__":
    sys.exit(main())
