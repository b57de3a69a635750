"""User-supplied ONNX files: checked before they become an artifact."""

from __future__ import annotations

import shutil
from pathlib import Path

from edgetrt.lazy import import_onnx
from edgetrt.errors import ModelFileError


def copy_checked_onnx(src: Path, dst: Path) -> None:
    onnx = import_onnx()
    try:
        model = onnx.load(str(src), load_external_data=False)
        onnx.checker.check_model(model)
    except Exception as exc:  # noqa: BLE001 - protobuf DecodeError, ValidationError, ...
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise ModelFileError(f"{src} is not a valid ONNX model (truncated or corrupt?): {detail}",
                             hint="re-export the ONNX file and check its size") from exc
    if not model.graph.input:
        raise ModelFileError(f"{src}: the ONNX graph has no inputs")
    shutil.copyfile(src, dst)
