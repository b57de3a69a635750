"""Heavy packages (TensorFlow, tf2onnx, onnx) imported on demand, quietly, with a clear error naming
what to install when they are missing; and the versions of the conversion tools, read without
importing them."""

from __future__ import annotations

import contextlib
import os

from edgetrt.errors import MissingDependencyError

_INSTALL_HINT = "pip install 'edgetrt[tf]' (TensorFlow, tf2onnx, onnx, onnxruntime)"


# Lines TensorFlow's C++ side writes at import whatever TF_CPP_MIN_LOG_LEVEL says (absl logs before
# it is initialised; oneDNN announces itself): noise for a person at a terminal or a --json reader.
_NATIVE_NOISE = ("WARNING: All log messages before absl::InitializeLog()", "oneDNN custom operations are on",
                 "This TensorFlow binary is optimized", "To enable the following instructions")


@contextlib.contextmanager
def quiet_native_stderr():
    """Hold what native code writes to stderr (fd 2) while the block runs, then pass on every line
    but the known import noise. EDGETRT_VERBOSE=1 (the CLI's --verbose) lets everything through."""
    if os.environ.get("EDGETRT_VERBOSE") == "1":
        yield
        return
    import sys
    import tempfile

    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            for line in held.read().decode("utf-8", "replace").splitlines(keepends=True):
                if not any(noise in line for noise in _NATIVE_NOISE):
                    sys.stderr.write(line)
            sys.stderr.flush()


def import_tensorflow():
    """Return (tensorflow, keras)."""
    # C++ INFO/WARNING lines drown the progress display; errors still show.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        with quiet_native_stderr():
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
