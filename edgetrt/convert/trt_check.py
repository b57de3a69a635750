"""Does TensorRT's ONNX parser accept this artifact, and does a builder build it? Checked on the
host, before anything is uploaded, with TensorRT-RTX's Python wheels (they parse and build
ahead of time without a GPU).

The parse and build are the agent's own loaders (edgetrt/agent/backends/tensorrt/build.py) over
the version layer, so the check runs the code a device runs. TensorRT-RTX is strongly typed: each
precision is checked on the artifact form it builds from (fp32: onnx, fp16: onnx_fp16, int8: the
Q/DQ onnx_int8). Its parser (TensorRT-RTX 1.7) is newer than a Jetson's TensorRT (8.2 on a Nano),
so a pass is necessary, not sufficient: an operator 1.7 knows may be unknown to 8.2.
"""

from __future__ import annotations

import json
from pathlib import Path

from edgetrt.errors import MissingDependencyError, UsageError

RTX_MODULES = ("tensorrt_rtx", "tensorrt_rtx_bindings")
INSTALL_HINT = "pip install -e '.[trt-rtx]' (the TensorRT-RTX 1.7.1.116 wheels, exact pins)"
CAVEAT = ("TensorRT-RTX {version}'s parser and builder, newer than a Jetson's TensorRT (8.2 on a "
          "Nano): a pass is necessary, not sufficient")
DEFAULT_WORKSPACE_BYTES = 256 << 20


def load_library(modules=RTX_MODULES):
    """The agent's TensorRTLibrary over the installed TensorRT-RTX module."""
    from edgetrt.agent.backends.tensorrt.library import TensorRTLibrary, import_tensorrt

    module, why_not = import_tensorrt(modules)
    if module is None:
        raise MissingDependencyError(f"TensorRT-RTX is not installed: {why_not}", hint=INSTALL_HINT)
    return TensorRTLibrary(module)


def check_artifact(artifact_dir: Path, precisions=("fp32", "fp16", "int8"), *, batch: int = 1,
                   workspace_bytes: int = DEFAULT_WORKSPACE_BYTES, library=None) -> dict:
    """Parse and build each precision's form of the artifact; the JSON document `edgetrt check`
    prints. ``library``: a TensorRTLibrary (default: TensorRT-RTX's, or MissingDependencyError)."""
    artifact_dir = Path(artifact_dir)
    try:
        manifest = json.loads((artifact_dir / "manifest.json").read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"{artifact_dir} is not an artifact directory (manifest.json: {exc})") from exc
    library = library or load_library()
    checks = [_check_one(library, artifact_dir, manifest, precision, batch, workspace_bytes)
              for precision in precisions]
    return {"model": manifest.get("model") or artifact_dir.name,
            "library": {"name": library.flavour, "version": library.version, "module": library.module_name},
            "note": CAVEAT.format(version=library.version),
            "checks": checks}


def _check_one(library, artifact_dir, manifest, precision, batch, workspace_bytes) -> dict:
    from edgetrt.agent.backends.base import UnsupportedPrecision
    from edgetrt.agent.backends.tensorrt.build import (BuildSettings, EngineBuildError,
                                                       EngineBytesFromNetwork, NetworkFromOnnxPath,
                                                       capturing_logger)
    from edgetrt.agent.backends.tensorrt.retry import BuildFailed
    from edgetrt.agent.backends.tensorrt.runner import input_shapes
    from edgetrt.agent.protocol import artifact_format

    check = {"precision": precision,
             "format": artifact_format("tensorrt", precision, strongly_typed=library.api.strongly_typed),
             "parsed": None, "built": None, "build_ms": None, "engine_bytes": None, "errors": []}
    try:
        fmt, int8_mode = library.artifact_format(precision, manifest.get("formats", {}), False)
        shapes = input_shapes(manifest, batch)
    except UnsupportedPrecision as exc:
        check["errors"].append(str(exc))
        return check
    onnx_path = str(artifact_dir / manifest["formats"][fmt])
    logger = capturing_logger(library.trt)
    builder = library.trt.Builder(logger)
    try:
        parsed = NetworkFromOnnxPath(library, logger, builder, onnx_path)()
    except EngineBuildError as exc:
        check.update(parsed=False, errors=list(exc.errors) or [str(exc)])
        return check
    check["parsed"] = True
    settings = BuildSettings(onnx_path, precision, shapes, workspace_bytes, int8_mode)
    try:
        built = EngineBytesFromNetwork(library, logger, settings)(parsed)
    except BuildFailed as exc:
        check.update(built=False, errors=list(exc.errors) or [str(exc)])
        return check
    check.update(built=True, build_ms=built.build_ms, engine_bytes=memoryview(built.plan).nbytes)
    return check
