"""Runtime backends on the device, Polygraphy-style: a runner loads (activate), infers, unloads.

Each backend module imports its runtime lazily inside ``activate`` so that a device without,
say, TensorFlow can still run the agent for the backends it has.
"""

from .base import BackendUnavailable, Runner, UnsupportedPrecision  # noqa: F401

# name -> "module:Class"; resolved lazily so importing this package imports no runtime.
RUNNERS = {
    "tf": "tf_runner:TFRunner",
    "tftrt": "tf_runner:TFTRTRunner",
    "onnxruntime": "onnxrt_runner:OnnxRuntimeRunner",
    "noop": "noop_runner:NoopRunner",
    "tensorrt": "tensorrt.runner:TensorRTRunner",
}


def runner_class(backend):
    import importlib

    try:
        target = RUNNERS[backend]
    except KeyError:
        raise BackendUnavailable("unknown backend {!r}; this agent knows: {}".format(
            backend, ", ".join(sorted(RUNNERS))))
    module_name, class_name = target.split(":")
    module = importlib.import_module("." + module_name, __name__)
    return getattr(module, class_name)
