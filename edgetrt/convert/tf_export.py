"""TensorFlow → SavedModel (the native baseline) and → ONNX (tf2onnx), with dynamic batch."""

from __future__ import annotations

from pathlib import Path

from edgetrt.lazy import import_onnx, import_tensorflow, import_tf2onnx
from edgetrt.errors import ConversionError

ONNX_OPSET = 13  # TensorRT 7.1+ (JetPack 4.4+) parses opset 13; QDQ needs >= 10


def serving_module(model, input_shape, input_name="input", output_name="probabilities"):
    """Wrap a Keras model in a tf.Module whose only signature has clean, stable tensor names."""
    tf, _ = import_tensorflow()

    class Serving(tf.Module):
        def __init__(self, wrapped):
            super().__init__()
            self.model = wrapped

        @tf.function(input_signature=[tf.TensorSpec([None, *input_shape], tf.float32, name=input_name)])
        def serve(self, x):
            return {output_name: self.model(x, training=False)}

    return Serving(model)


def save_savedmodel(module, out_dir: Path) -> None:
    tf, _ = import_tensorflow()
    try:
        tf.saved_model.save(module, str(out_dir), signatures={"serving_default": module.serve})
    except Exception as exc:  # noqa: BLE001 - TF raises many types; all mean "could not save"
        raise ConversionError(f"saving the SavedModel failed: {_one_line(exc)}") from exc


def function_to_onnx(fn, input_signature, out_path: Path, opset: int = ONNX_OPSET) -> None:
    """Convert a tf.function (batch dimension None → dynamic in ONNX) with tf2onnx."""
    tf2onnx = import_tf2onnx()
    try:
        tf2onnx.convert.from_function(fn, input_signature=input_signature, opset=opset,
                                      output_path=str(out_path))
    except Exception as exc:  # noqa: BLE001
        raise ConversionError(f"tf2onnx could not convert the model: {_one_line(exc)}") from exc


def onnx_io(path: Path) -> tuple[list[dict], list[dict]]:
    """Input and output names/shapes/dtypes of an ONNX model (-1 for dynamic dimensions)."""
    onnx = import_onnx()
    model = onnx.load(str(path), load_external_data=False)
    initializers = {i.name for i in model.graph.initializer}

    def describe(value):
        tensor = value.type.tensor_type
        shape = [d.dim_value if d.HasField("dim_value") else -1 for d in tensor.shape.dim]
        dtype = onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type).name
        return {"name": value.name, "shape": shape, "dtype": dtype}

    inputs = [describe(v) for v in model.graph.input if v.name not in initializers]
    outputs = [describe(v) for v in model.graph.output]
    return inputs, outputs


def _one_line(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
