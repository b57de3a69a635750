"""FP32 ONNX → FP16 ONNX with FP32 inputs and outputs: the ``onnx_fp16`` artifact form.

TensorRT 11 and TensorRT-RTX build strongly typed networks: the FP16 builder flag is gone and the
precision is the model's (TensorRT 11's migration guide), so an FP16 engine needs an FP16 model.
The conversion is onnxconverter-common's ``float16.convert_float_to_float16`` (the converter
ONNX Runtime's own FP16 tooling uses) with ``keep_io_types=True``: inputs and outputs stay FP32, so
the agent feeds and reads the same arrays as for the FP32 model, and Cast nodes at the edges do
the conversion inside the engine. Weights outside FP16's range are clamped by the converter (the
manifest block counts them); operators it keeps in FP32 are its default block list.

Agreement with the FP32 model is checked on real photos with real weights in
tests/convert/test_fp16.py (top-1, top-5 overlap, largest probability difference).
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

from edgetrt.errors import ConversionError, MissingDependencyError

_INSTALL_HINT = "pip install 'edgetrt[tf]' (onnx, onnxconverter-common)"
CONVERTER = "onnxconverter-common float16.convert_float_to_float16(keep_io_types=True)"


def _import_converter():
    try:
        import onnx
        from onnxconverter_common import float16
    except ImportError as exc:
        raise MissingDependencyError(f"the FP16 converter needs {exc.name}, which is not installed",
                                     hint=_INSTALL_HINT) from exc
    return onnx, float16


def make_fp16_onnx(fp32_onnx: Path, out_path: Path) -> dict:
    """Write the FP16 model (FP32 I/O) to ``out_path`` atomically; return the manifest's ``fp16``
    block: the converter and its version, and the I/O element types as written."""
    onnx, float16 = _import_converter()
    from importlib import metadata

    model = onnx.load(str(fp32_onnx))
    try:
        with warnings.catch_warnings(record=True) as caught:
            # it warns once per weight it clamps into FP16's range: keep them for the manifest
            warnings.simplefilter("always")
            converted = float16.convert_float_to_float16(model, keep_io_types=True)
        onnx.checker.check_model(converted)
    except Exception as exc:  # the converter's and checker's own words, one line
        raise ConversionError(f"FP16 conversion of {fp32_onnx} failed: {type(exc).__name__}: "
                              f"{' '.join(str(exc).split())[:300]}") from exc
    io_types = {v.name: onnx.TensorProto.DataType.Name(v.type.tensor_type.elem_type)
                for v in list(converted.graph.input) + list(converted.graph.output)}
    not_fp32 = sorted(name for name, kind in io_types.items() if kind != "FLOAT")
    if not_fp32:
        raise ConversionError(f"FP16 conversion of {fp32_onnx} changed the type of {', '.join(not_fp32)}; "
                              "inputs and outputs must stay FP32")
    out_path = Path(out_path)
    fd, tmp = tempfile.mkstemp(dir=str(out_path.parent), prefix=out_path.name, suffix=".tmp")
    os.close(fd)
    try:
        onnx.save(converted, tmp)
        os.replace(tmp, out_path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    initializers = {onnx.TensorProto.DataType.Name(t.data_type) for t in converted.graph.initializer}
    return {"converter": CONVERTER, "onnxconverter_common": metadata.version("onnxconverter-common"),
            "io_types": io_types, "initializer_types": sorted(initializers),
            "values_clamped": len(caught),
            "converter_warnings": sorted({str(w.message) for w in caught})[:5]}
