"""Artifacts with every form a strongly typed TensorRT builds from (onnx, onnx_fp16, onnx_int8),
made by the project's own converter: for the tests that drive the real TensorRT-RTX module.

The model is converted once per test session (the pipeline's content cache, which the session's
isolated EDGETRT_CACHE holds) and copied for each use, so adding the FP16 form never edits the
cached artifact.
"""

import json
import shutil

import pytest


def rtx_module():
    """The real TensorRT-RTX module, or skip (it is the `trt-rtx` extra that `.[dev]` includes)."""
    return pytest.importorskip("tensorrt_rtx_bindings", reason="the TensorRT-RTX wheels are not installed "
                                                               "(pip install -e '.[trt-rtx]')")


def artifact_with_all_forms(model, directory):
    """A copy of ``model``'s artifact (random weights) with onnx, onnx_int8 and onnx_fp16."""
    from edgetrt.convert.fp16 import make_fp16_onnx
    from edgetrt.convert.pipeline import convert
    from edgetrt.convert.sources import resolve_source
    from edgetrt.zoo.weights import WeightsChoice

    result = convert(resolve_source(model), WeightsChoice.parse("random"), formats=("onnx", "onnx_int8"))
    target = directory / model
    shutil.copytree(str(result.artifact.path), str(target))
    info = make_fp16_onnx(target / "model.onnx", target / "model.fp16.onnx")
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["formats"]["onnx_fp16"] = "model.fp16.onnx"
    manifest["fp16"] = info
    (target / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return target
