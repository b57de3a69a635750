"""FP32 ONNX → INT8 ONNX in QDQ form (ONNX Runtime static quantization, real calibration images).

The output is meant for two consumers: ONNX Runtime on the host or device (``onnxruntime int8``)
and TensorRT's explicit quantization, which builds an INT8 engine from the Q/DQ nodes without a
calibrator. TensorRT is the stricter of the two, so the settings follow its rules
(TensorRT "Explicit Quantization" docs; onnx-tensorrt and TensorRT issues cited below):

- symmetric INT8 only, zero point 0 (``shiftIsAllZeros(zeroPoint)`` assertion, tensorflow-onnx
  #1713): QInt8 activations and weights with ActivationSymmetric/WeightSymmetric;
- weights as FP32 initializers followed by QuantizeLinear → DequantizeLinear
  (``AddQDQPairToWeight``): TensorRT 8.0–8.5, the JetPack 4.6–5.1 releases, reject INT8
  initializers feeding DequantizeLinear ("invalid weights type of Int8");
- biases left in FP32 (``QuantizeBias`` off): TensorRT 8.x rejects the INT32 DequantizeLinear
  that ONNX Runtime writes for biases ("only activation types allowed as input to this layer",
  onnxruntime #14229, onnx-tensorrt #850);
- per-channel weight scales along the output-channel axis (axis 0 of Conv weights), which needs
  opset ≥ 13 for the ``axis`` attribute; the model keeps the opset tf2onnx wrote (13);
- only standard-domain QuantizeLinear/DequantizeLinear (no ``com.microsoft`` contrib ops) and
  strictly positive scales.

``check_tensorrt_qdq`` verifies these properties on the written file; ``quantize_qdq`` calls it
so an artifact that TensorRT would refuse is never produced silently. Nothing here has been built
by a real TensorRT (no GPU on the project's machines).
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from pathlib import Path

from edgetrt.errors import ConversionError, EdgetrtError, MissingDependencyError, UsageError

# Chosen by agreement with the FP32 model on the four test photos (MobileNet v1 0.25/128, real
# weights, calibrated on the same photos): top-1 4/4 for both; top-5 overlap 12/20 percentile vs
# 11/20 minmax; summed KL(fp32 || int8) 2.11 vs 2.32. "entropy" equals "minmax" with ONNX
# Runtime's defaults (128 histogram bins = 128 quantized bins leaves one candidate threshold).
# tests/bench/test_quantize.py prints these figures again for each method.
DEFAULT_CALIBRATION_METHOD = "percentile"
CALIBRATION_METHODS = ("minmax", "entropy", "percentile")
MIN_OPSET = 13
# Operators whose inputs get Q/DQ pairs. TensorRT runs the weighted layers (and pooling) in INT8
# and propagates scales through the rest; quantizing Softmax/Reshape inputs buys nothing there.
OP_TYPES_TO_QUANTIZE = ("Conv", "ConvTranspose", "MatMul", "Gemm", "Add", "Mul",
                        "AveragePool", "GlobalAveragePool", "MaxPool", "Concat")
_INSTALL_HINT = "pip install 'edgetrt[tf]' (onnx, onnxruntime, pillow)"
#: whose rules the INT8 model made here follows (the manifest's int8 "shaped_for")
SHAPED_FOR = "tensorrt"
#: what a cell running the INT8 model measures, by its shape; said beside those cells in reports
#: (benchmarks/int8_shapes.py times it against FP32 and against a model quantized for ONNX
#: Runtime's CPU kernels; its figures are in benchmarks/README.md)
SHAPE_NOTES = {
    "tensorrt": "the Q/DQ INT8 model made for TensorRT's explicit quantization (symmetric INT8 activations, "
                "Q/DQ pairs on FP32 weights, FP32 biases), the one a TensorRT device is sent; ONNX Runtime's CPU "
                "kernels run much of it in FP32, so it can be slower than fp32 there",
}


#: said after the shape's note where ONNX Runtime ran the cell with its exact INT8 kernels
#: (agent/backends/onnxrt_runner.py: the fast ones saturate on x86 CPUs without VNNI)
EXACT_KERNELS_NOTE = ("; this CPU has no VNNI, so ONNX Runtime ran it with its exact, slower INT8 kernels "
                      "(its fast ones saturate there and give wrong answers)")


def int8_note(int8_block: dict | None, exact_kernels: bool = False) -> str | None:
    """What a cell running this artifact's INT8 model measures (``manifest["int8"]``), or None.
    Artifacts made before "shaped_for" was recorded hold the same TensorRT-shaped Q/DQ model."""
    if not int8_block:
        return None
    shape = int8_block.get("shaped_for") or (SHAPED_FOR if int8_block.get("format") == "QDQ" else None)
    note = SHAPE_NOTES.get(shape)
    return note + EXACT_KERNELS_NOTE if note and exact_kernels else note


def default_calibration_dir() -> Path:
    import edgetrt

    return Path(edgetrt.__file__).resolve().parents[1] / "tests" / "data" / "images"


def quantize_qdq(fp32_onnx: Path, out_path: Path, calibration_images: Path | None,
                 preprocessing: str, weights_kind: str, *,
                 calibration_method: str = DEFAULT_CALIBRATION_METHOD) -> dict:
    """Write the INT8 QDQ model to out_path (atomically); return the manifest's ``int8`` block."""
    from edgetrt.convert.images import image_files, load_images

    fp32_onnx, out_path = Path(fp32_onnx), Path(out_path)
    if calibration_method not in CALIBRATION_METHODS:
        raise UsageError(f"unknown calibration method {calibration_method!r}; "
                         f"choose from {', '.join(CALIBRATION_METHODS)}")
    if calibration_images is None:
        calibration_images = default_calibration_dir()
        if not calibration_images.is_dir():
            raise UsageError(f"no calibration images given and the default set {calibration_images} is missing",
                             hint="pass --calibration-images DIR with a few real photos of the model's classes")
    files = image_files(Path(calibration_images))
    onnx, ort, quantization = _import_quantization()

    model = _load(onnx, fp32_onnx)
    opset = _default_opset(model)
    if opset < MIN_OPSET:
        raise ConversionError(f"{fp32_onnx}: opset {opset} is too old for per-channel QDQ "
                              f"(TensorRT needs opset >= {MIN_OPSET}); convert with opset {MIN_OPSET} or newer")
    input_name, layout, size = _image_input(model, fp32_onnx)
    images = load_images(files, size, preprocessing)
    if layout == "NCHW":
        images = images.transpose(0, 3, 1, 2)
    images = images.astype("float32")

    out_path.parent.mkdir(parents=True, exist_ok=True)
    chatter = io.StringIO()  # ORT's calibrators print progress; the library never prints
    try:
        with tempfile.TemporaryDirectory(prefix=".quantize-", dir=out_path.parent) as tmp, \
                contextlib.redirect_stdout(chatter):
            prepared = Path(tmp) / "prepared.onnx"
            written = Path(tmp) / "int8.onnx"
            # Shape inference plus ORT's basic graph rewrites (constant folding, Conv+Mul/Add
            # fusion folds the batch-norm scale tf2onnx leaves after depthwise convolutions into
            # the weights, so per-channel scales cover it). Symbolic shape inference is for
            # transformer graphs and would need sympy; ONNX's own shape inference covers CNNs.
            quantization.shape_inference.quant_pre_process(str(fp32_onnx), str(prepared),
                                                           skip_symbolic_shape=True)
            quantization.quantize_static(
                str(prepared), str(written), _Reader(input_name, images),
                quant_format=quantization.QuantFormat.QDQ,
                activation_type=quantization.QuantType.QInt8,
                weight_type=quantization.QuantType.QInt8,
                per_channel=True,
                reduce_range=False,
                calibrate_method=_method(quantization, calibration_method),
                op_types_to_quantize=list(OP_TYPES_TO_QUANTIZE),
                extra_options={
                    "ActivationSymmetric": True,
                    "WeightSymmetric": True,
                    "AddQDQPairToWeight": True,
                    "QuantizeBias": False,
                    "UseQDQContribOps": False,
                },
            )
            quantized = _without_unused_domains(_load(onnx, written))
            onnx.save(quantized, str(written))
            problems = check_tensorrt_qdq(quantized)
            if problems:
                raise ConversionError(f"the INT8 model for {fp32_onnx.name} would not build in TensorRT: "
                                      + "; ".join(problems[:3]))
            os.replace(written, out_path)
    except EdgetrtError:
        raise
    except Exception as exc:  # noqa: BLE001 - ORT raises many types; all mean "could not quantize"
        raise ConversionError(f"INT8 quantization of {fp32_onnx.name} failed: {_one_line(exc)}") from exc

    return {
        "method": "onnxruntime.quantize_static",
        "format": "QDQ",
        "shaped_for": SHAPED_FOR,
        "calibration_images": len(files),
        "calibration_method": calibration_method,
        "per_channel": True,
        "symmetric": True,
        "activation_type": "int8",
        "weight_type": "int8",
        "opset": _default_opset(quantized),
        "weights_kind": weights_kind,
        "onnxruntime": ort.__version__,
    }


def check_tensorrt_qdq(model) -> list[str]:
    """What in a QDQ ModelProto TensorRT's explicit quantization would refuse (empty: nothing)."""
    from onnx import TensorProto, numpy_helper

    problems = []
    opset = _default_opset(model)
    if opset < MIN_OPSET:
        problems.append(f"opset {opset} < {MIN_OPSET}")
    inits = {i.name: i for i in model.graph.initializer}
    qdq = [n for n in model.graph.node if n.op_type in ("QuantizeLinear", "DequantizeLinear")]
    if not qdq:
        problems.append("no QuantizeLinear/DequantizeLinear nodes")
    for node in model.graph.node:
        if node.domain not in ("", "ai.onnx"):
            problems.append(f"node {node.name} is in domain {node.domain!r}")
    extra = sorted(e.domain for e in model.opset_import if e.domain not in ("", "ai.onnx", "ai.onnx.ml"))
    if extra:
        problems.append(f"opset imports of non-standard domains {extra}")
    for node in qdq:
        if len(node.input) < 3 or node.input[2] not in inits:
            problems.append(f"{node.name}: zero point missing or not a constant")
            continue
        zero_point = inits[node.input[2]]
        if zero_point.data_type != TensorProto.INT8:
            problems.append(f"{node.name}: zero point type {TensorProto.DataType.Name(zero_point.data_type)}, not INT8")
        if numpy_helper.to_array(zero_point).any():
            problems.append(f"{node.name}: zero point is not 0 (TensorRT is symmetric only)")
        scale = inits.get(node.input[1])
        if scale is None or not (numpy_helper.to_array(scale) > 0).all():
            problems.append(f"{node.name}: scale missing or not strictly positive")
        if node.op_type == "DequantizeLinear" and node.input[0] in inits:
            problems.append(f"{node.name}: dequantizes a pre-quantized initializer (TensorRT 8.x wants FP32 weights + Q/DQ)")
    return problems


class _Reader:
    """ONNX Runtime CalibrationDataReader over preprocessed images, one image per batch."""

    def __init__(self, input_name: str, images):
        self.input_name = input_name
        self.images = images
        self.index = 0

    def get_next(self):
        if self.index >= len(self.images):
            return None
        feed = {self.input_name: self.images[self.index:self.index + 1]}
        self.index += 1
        return feed

    def rewind(self):
        self.index = 0


def _import_quantization():
    try:
        import onnx
        import onnxruntime as ort
        from onnxruntime import quantization
        import onnxruntime.quantization.shape_inference  # noqa: F401 - quant_pre_process
    except ImportError as exc:
        raise MissingDependencyError(f"INT8 quantization needs {exc.name or 'onnxruntime'}",
                                     hint=_INSTALL_HINT) from exc
    return onnx, ort, quantization


def _load(onnx, path: Path):
    try:
        return onnx.load(str(path))
    except Exception as exc:  # noqa: BLE001
        raise ConversionError(f"cannot read ONNX model {path}: {_one_line(exc)}") from exc


def _without_unused_domains(model):
    """Drop opset imports no node uses: ORT's optimizer declares all of its own domains
    (com.microsoft, ...), which an older TensorRT parser need not know."""
    used = {node.domain for node in model.graph.node} | {"", "ai.onnx"}
    keep = [entry for entry in model.opset_import if entry.domain in used]
    del model.opset_import[:]
    model.opset_import.extend(keep)
    return model


def _default_opset(model) -> int:
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            return entry.version
    return 0


def _image_input(model, path: Path) -> tuple[str, str, int]:
    """(input name, NHWC/NCHW, square size) of the model's single image input."""
    initializers = {i.name for i in model.graph.initializer}
    inputs = [v for v in model.graph.input if v.name not in initializers]
    if len(inputs) != 1:
        raise ConversionError(f"{path}: INT8 calibration needs exactly one image input, found {len(inputs)}")
    value = inputs[0]
    dims = [d.dim_value if d.HasField("dim_value") else None for d in value.type.tensor_type.shape.dim]
    if len(dims) != 4:
        raise ConversionError(f"{path}: input {value.name!r} has shape {dims}, not an image batch (N,H,W,C)")
    if dims[3] in (1, 3):
        layout, height, width = "NHWC", dims[1], dims[2]
    elif dims[1] in (1, 3):
        layout, height, width = "NCHW", dims[2], dims[3]
    else:
        raise ConversionError(f"{path}: cannot tell the channel axis of input {value.name!r} {dims}")
    if not height or height != width:
        raise ConversionError(f"{path}: input {value.name!r} needs a fixed square size for calibration, has {dims}",
                              hint="convert with --input-size N")
    if dims[3 if layout == "NHWC" else 1] == 1:
        raise ConversionError(f"{path}: single-channel inputs are not supported for image calibration")
    return value.name, layout, height


def _method(quantization, name: str):
    return {"minmax": quantization.CalibrationMethod.MinMax,
            "entropy": quantization.CalibrationMethod.Entropy,
            "percentile": quantization.CalibrationMethod.Percentile}[name]


def _one_line(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
