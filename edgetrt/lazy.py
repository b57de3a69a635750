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


TOOL_DISTRIBUTIONS = ("tensorflow", "tensorflow-cpu", "keras", "tf2onnx", "onnx", "onnxruntime", "numpy")
_versions: dict | None = None


def tool_versions() -> dict:
    """Versions of the conversion tools that are installed (without importing them), read once
    per process: every deploy and bench keys its cached conversion with them."""
    global _versions
    if _versions is None:
        found = installed_versions(TOOL_DISTRIBUTIONS)
        _versions = {dist: found[dist] for dist in TOOL_DISTRIBUTIONS if dist in found}
    return dict(_versions)


def installed_versions(dists) -> dict:
    """dist name -> version for those of ``dists`` that are installed, read from the names of
    their ``NAME-VERSION.dist-info`` (or ``.egg-info``) directories on sys.path, the first entry
    winning as for imports; importlib.metadata only for a directory whose name has no version.

    importlib.metadata parses each METADATA file as an e-mail message: ~0.1 s for the tools'
    seven, most of an unchanged deploy's conversion check. A wheel's dist-info directory is named
    by its normalised name and its version (the binary distribution format), so listing the
    directories gives the same answer."""
    import re
    import sys

    def normal(name: str) -> str:
        return re.sub(r"[-_.]+", "_", name).lower()

    wanted = {normal(d): d for d in dists}
    found: dict = {}
    unnamed = []  # installed, but its metadata directory does not say the version
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            stem, dot, suffix = name.rpartition(".")
            if suffix not in ("dist-info", "egg-info") or not dot:
                continue
            dist, _, version = stem.partition("-")
            version = version.split("-")[0]  # NAME-VERSION-pyX.Y.egg-info
            dist = wanted.get(normal(dist))
            if dist is None or dist in found or dist in unnamed:
                continue
            if version:
                found[dist] = version
            else:
                unnamed.append(dist)
    if unnamed:
        from importlib import metadata

        for dist in unnamed:
            try:
                found[dist] = metadata.version(dist)
            except metadata.PackageNotFoundError:
                continue
    return found
