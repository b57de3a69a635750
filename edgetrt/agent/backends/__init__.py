"""Runtime backends on the device, Polygraphy-style: a runner loads (activate), infers, unloads.

Each backend module imports its runtime lazily inside ``activate`` so that a device without,
say, TensorFlow can still run the agent for the backends it has.
"""

import importlib

from .base import BackendUnavailable, Runner, UnsupportedPrecision  # noqa: F401

# name -> "module:Class"; resolved lazily so importing this package imports no runtime.
RUNNERS = {
    "tf": "tf_runner:TFRunner",
    "tftrt": "tf_runner:TFTRTRunner",
    "onnxruntime": "onnxrt_runner:OnnxRuntimeRunner",
    "noop": "noop_runner:NoopRunner",
}

# Backends with more than one runner: name -> "module:function(options) -> (class, choice)".
# TensorRT runs through its Python bindings or through trtexec, whichever this device has.
CHOSEN_PER_DEVICE = {
    "tensorrt": "tensorrt.path:choose_runner",
}


def _load(target):
    module_name, attribute = target.split(":")
    return getattr(importlib.import_module("." + module_name, __name__), attribute)


def only_runner(backend):
    """The runner class of a backend that has one (None for one chosen per device: TensorRT)."""
    return _load(RUNNERS[backend]) if backend in RUNNERS else None


def runner_for(backend, options=None):
    """``(runner class, choice)`` for ``backend`` on this device.

    ``choice`` is {} for a backend with one runner, else ``{"path": ..., "why": ...}``: which
    runner was taken and why, recorded in the run's facts.
    """
    if backend in RUNNERS:
        return _load(RUNNERS[backend]), {}
    if backend in CHOSEN_PER_DEVICE:
        return _load(CHOSEN_PER_DEVICE[backend])(options or {})
    raise BackendUnavailable("unknown backend {!r}; this agent knows: {}".format(
        backend, ", ".join(sorted(set(RUNNERS) | set(CHOSEN_PER_DEVICE)))))
