"""Heavy packages (TensorFlow, tf2onnx, onnx) imported on demand, quietly, with a clear error naming
what to install when they are missing; and the versions of the conversion tools, read without
importing them."""

from __future__ import annotations

import os

from edgetrt.errors import MissingDependencyError

_INSTALL_HINT = "pip install 'edgetrt[tf]' (TensorFlow, tf2onnx, onnx, onnxruntime)"


def import_tensorflow():
    """Return (tensorflow, keras)."""
    # C++ INFO/WARNING lines drown the progress display; errors still show.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import tensorflow as tf
        import keras
    except ImportError as exc:
        raise MissingDependencyError(f"TensorFlow is not installed ({exc.name})", hint=_INSTALL_HINT) from exc
    tf.get_logger().setLevel("ERROR")
    return tf, keras


def import_tf2onnx():
    import_tensorflow()
    try:
        import tf2onnx
    except ImportError as exc:
        raise MissingDependencyError("tf2onnx is not installed", hint=_INSTALL_HINT) from exc
    return tf2onnx


def import_onnx():
    try:
        import onnx
    except ImportError as exc:
        raise MissingDependencyError("onnx is not installed", hint=_INSTALL_HINT) from exc
    return onnx


def tool_versions() -> dict:
    """Versions of the conversion tools that are importable (without importing TF if absent)."""
    from importlib import metadata

    versions = {}
    for dist in ("tensorflow", "tensorflow-cpu", "keras", "tf2onnx", "onnx", "onnxruntime", "numpy"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return versions
