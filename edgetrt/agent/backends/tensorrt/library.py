"""Which TensorRT this is, and the one table of how each version's Python API is spoken.

The choice is made once, from the module itself: its flavour (``tensorrt``, or ``tensorrt_rtx``
for TensorRT for RTX, whose pip wheel installs as ``tensorrt_rtx_bindings``) and its full version.
Every version-dependent call of the backend goes through ``TensorRTLibrary``; nothing else asks a
TensorRT object whether it has an attribute.

===================  =================  ====================  =====================  ======  =========  ========
API generation       create_network     workspace             build                  timing  precision  I/O
===================  =================  ====================  =====================  ======  =========  ========
TensorRT 7.x         1<<EXPLICIT_BATCH  max_workspace_size    build_engine+serialize no      flags      bindings
TensorRT 8.0-8.3     1<<EXPLICIT_BATCH  max_workspace_size    build_serialized_net.  yes     flags      bindings
TensorRT 8.4         1<<EXPLICIT_BATCH  set_memory_pool_limit build_serialized_net.  yes     flags      bindings
TensorRT 8.5-9.x     1<<EXPLICIT_BATCH  set_memory_pool_limit build_serialized_net.  yes     flags      tensors
TensorRT 10.x        0                  set_memory_pool_limit build_serialized_net.  yes     flags      tensors
TensorRT 11.x        0                  set_memory_pool_limit build_serialized_net.  yes     the model  tensors
TensorRT-RTX 1.x     0                  set_memory_pool_limit build_serialized_net.  no (*)  the model  tensors
===================  =================  ====================  =====================  ======  =========  ========

- "flags": FP16 is ``BuilderFlag.FP16`` on the FP32 ONNX; INT8 is ``BuilderFlag.INT8`` on
  the Q/DQ ONNX (or an IInt8EntropyCalibrator2 on the FP32 one). "the model": the network is
  strongly typed, the flags and calibrators are gone (TensorRT 11's migration guide, TensorRT-RTX
  1.5+), so FP16 is the artifact's ``onnx_fp16`` form and INT8 its ``onnx_int8`` (Q/DQ) form.
- "bindings": binding indices and ``execute_async_v2``; "tensors": tensor names,
  ``set_tensor_address`` and ``execute_async_v3`` (8.5 still has bindings; we use names there,
  as Polygraphy does).
- (*) TensorRT-RTX keeps the timing-cache calls as no-ops, and one makes its CPU-only
  ahead-of-time build query a GPU (RTX 1.3 notes), so none is used.
- TensorRT-RTX compiles kernels just in time when an execution context is made:
  ``engine.create_runtime_config()`` then ``create_execution_context(runtime_config)``. Its AOT
  engine is portable across GPUs, so the engine cache keys it by library, not by the GPU.
- ``platform_has_fast_fp16/int8`` exist up to TensorRT 10 and are gone in 11 and RTX.
"""

import collections
import importlib
import re
import time

#: Modules tried, in order, when the run names none: JetPack's, then TensorRT for RTX's.
MODULE_NAMES = ("tensorrt", "tensorrt_rtx", "tensorrt_rtx_bindings")

Generation = collections.namedtuple("Generation", [
    "name", "flavour", "first", "end",
    "explicit_batch_flag",  # create_network(1 << EXPLICIT_BATCH)
    "workspace",            # "max_workspace_size" or "memory_pool"
    "build",                # "build_engine" (then engine.serialize) or "build_serialized_network"
    "timing_cache",         # create_timing_cache / set_timing_cache are used
    "strongly_typed",       # precision comes from the model: no FP16/INT8 flags, no calibrators
    "platform_queries",     # builder.platform_has_fast_fp16 / _int8 exist
    "io",                   # "bindings" or "tensors"
    "runtime_config",       # create_execution_context(engine.create_runtime_config())
    "engine_for_device",    # the engine is only valid on the GPU model that built it
])

GENERATIONS = (
    Generation("TensorRT 7.x", "tensorrt", (7,), (8,), True, "max_workspace_size", "build_engine",
               False, False, True, "bindings", False, True),
    Generation("TensorRT 8.0-8.3", "tensorrt", (8, 0), (8, 4), True, "max_workspace_size",
               "build_serialized_network", True, False, True, "bindings", False, True),
    Generation("TensorRT 8.4", "tensorrt", (8, 4), (8, 5), True, "memory_pool",
               "build_serialized_network", True, False, True, "bindings", False, True),
    Generation("TensorRT 8.5-9.x", "tensorrt", (8, 5), (10,), True, "memory_pool",
               "build_serialized_network", True, False, True, "tensors", False, True),
    Generation("TensorRT 10.x", "tensorrt", (10,), (11,), False, "memory_pool",
               "build_serialized_network", True, False, True, "tensors", False, True),
    Generation("TensorRT 11.x", "tensorrt", (11,), None, False, "memory_pool",
               "build_serialized_network", True, True, False, "tensors", False, True),
    Generation("TensorRT-RTX 1.x", "tensorrt_rtx", (1,), None, False, "memory_pool",
               "build_serialized_network", False, True, False, "tensors", True, False),
)


class UnsupportedTensorRT(Exception):
    """A TensorRT-family module this agent has no API generation for (e.g. TensorRT 6)."""


def version_tuple(version):
    parts = []
    for piece in str(version).split("."):
        digits = re.match(r"\d+", piece)
        if not digits:
            break
        parts.append(int(digits.group(0)))
    return tuple(parts)


def flavour_of(module_name):
    return "tensorrt_rtx" if module_name.split(".")[0].startswith("tensorrt_rtx") else "tensorrt"


def generation_for(flavour, version):
    numbers = version_tuple(version)
    for row in GENERATIONS:
        if row.flavour == flavour and numbers >= row.first and (row.end is None or numbers < row.end):
            return row
    raise UnsupportedTensorRT("{} {} is not a TensorRT this agent speaks (it knows: {})".format(
        flavour, version, "; ".join(row.name for row in GENERATIONS)))


def import_tensorrt(names=None):
    """(module, None) for the first TensorRT-family module that imports, or (None, why not).

    Only a missing module counts as absent; one that is installed but fails to load (a missing
    libnvinfer, a CUDA mismatch) raises with its own words."""
    tried = []
    for name in names or MODULE_NAMES:
        try:
            return importlib.import_module(name), None
        except ImportError as exc:
            # absent only when the module itself is missing, not something it imports
            if getattr(exc, "name", None) not in (name, name.split(".")[0]):
                raise
            tried.append(name)
    return None, "no TensorRT Python module (tried: {})".format(", ".join(tried))


def choose_artifact(api, version, precision, formats, calibration_images):
    """(artifact format, int8 mode or None) a run of ``precision`` builds from, with API ``api``.

    ``formats``: the manifest's formats; ``calibration_images``: whether the run ships calibration
    data (implicit INT8, weakly typed versions only). Raises UnsupportedPrecision naming the
    form that is missing."""
    from ...protocol import artifact_format
    from ..base import UnsupportedPrecision

    if precision not in ("fp32", "fp16", "int8"):
        raise UnsupportedPrecision("tensorrt: unknown precision {!r}".format(precision))
    fmt = artifact_format("tensorrt", precision, strongly_typed=api.strongly_typed)
    if fmt in formats:
        return fmt, ("explicit" if precision == "int8" else None)
    if precision == "int8" and not api.strongly_typed and calibration_images:
        return "onnx", "calibrate"
    if api.strongly_typed:
        raise UnsupportedPrecision(
            "{} ({}) is strongly typed: {} needs the artifact's {} form (made on the host), and "
            "this artifact has only: {}".format(api.name, version, precision, fmt,
                                                ", ".join(sorted(formats)) or "nothing"))
    if precision == "int8":
        raise UnsupportedPrecision(
            "int8 with TensorRT needs a Q/DQ model (artifact format onnx_int8) or calibration "
            "images (options calibration_npy); this artifact has neither")
    raise UnsupportedPrecision("the artifact has no {} form (it has: {})".format(
        fmt, ", ".join(sorted(formats)) or "nothing"))


def precision_source(api, precision):
    """What carries the precision in a build by API ``api``, for the run's facts."""
    if api.strongly_typed:
        return "the model ({}; the network is strongly typed)".format(
            {"fp32": "FP32 ONNX", "fp16": "FP16 ONNX, onnx_fp16",
             "int8": "Q/DQ ONNX, onnx_int8"}[precision])
    return {"fp32": "FP32 ONNX, no precision flag", "fp16": "BuilderFlag.FP16 on the FP32 ONNX",
            "int8": "BuilderFlag.INT8"}[precision]


class TensorRTLibrary(object):
    """One imported TensorRT-family module and the version-dependent calls made on it."""

    def __init__(self, module):
        self.trt = module
        self.module_name = module.__name__
        self.flavour = flavour_of(self.module_name)
        self.version = str(module.__version__)
        self.api = generation_for(self.flavour, self.version)

    def describe(self):
        return {"module": self.module_name, "flavour": self.flavour, "version": self.version,
                "api": self.api.name}

    # -- what the run builds from ----------------------------------------------------------

    def artifact_format(self, precision, formats, calibration_images):
        """(artifact format, int8 mode or None) for ``precision``: see ``choose_artifact``."""
        return choose_artifact(self.api, self.version, precision, formats, calibration_images)

    def precision_source(self, precision):
        return precision_source(self.api, precision)

    # -- builder -----------------------------------------------------------------------

    def parse_onnx(self, parser, path):
        """Parse the ONNX file from its path (so external weights resolve), as 7.1+ can."""
        if version_tuple(self.version) >= (7, 1) or self.flavour == "tensorrt_rtx":
            return parser.parse_from_file(path)
        with open(path, "rb") as fh:
            return parser.parse(fh.read())

    def platform_fast(self, builder):
        """{"fp16": bool, "int8": bool} where this version can say, else {}."""
        if not self.api.platform_queries:
            return {}
        return {"fp16": bool(builder.platform_has_fast_fp16),
                "int8": bool(builder.platform_has_fast_int8)}

    def create_network(self, builder):
        if self.api.explicit_batch_flag:
            return builder.create_network(1 << int(self.trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH))
        return builder.create_network(0)

    def set_workspace(self, config, nbytes):
        if self.api.workspace == "memory_pool":
            config.set_memory_pool_limit(self.trt.MemoryPoolType.WORKSPACE, int(nbytes))
        else:
            config.max_workspace_size = int(nbytes)

    def set_precision(self, config, precision):
        if self.api.strongly_typed or precision == "fp32":
            return
        config.set_flag(self.trt.BuilderFlag.FP16 if precision == "fp16" else self.trt.BuilderFlag.INT8)

    def use_timing_cache(self, config, data):
        """Attach a timing cache made from ``data`` (bytes or None); returns it, or None."""
        if not self.api.timing_cache:
            return None
        cache = config.create_timing_cache(data or b"")
        if not config.set_timing_cache(cache, False) and data:
            # A cache from another build of TensorRT is refused; start an empty one.
            cache = config.create_timing_cache(b"")
            config.set_timing_cache(cache, False)
        return cache

    def timing_cache_bytes(self, config):
        return bytes(memoryview(config.get_timing_cache().serialize()))

    def build_plan(self, builder, network, config):
        """(serialized engine or None, ms spent serializing it).

        From 8.0 the builder returns the serialized engine itself (serializing is part of the
        build: 0 ms of our own); TensorRT 7 builds an engine and we serialize it."""
        if self.api.build == "build_serialized_network":
            return builder.build_serialized_network(network, config), 0.0
        engine = builder.build_engine(network, config)
        if engine is None:
            return None, 0.0
        t0 = time.perf_counter()
        plan = engine.serialize()
        return plan, (time.perf_counter() - t0) * 1e3

    # -- runtime -----------------------------------------------------------------------

    def create_context(self, engine):
        """An execution context; TensorRT-RTX compiles its kernels here (JIT)."""
        if self.api.runtime_config:
            return engine.create_execution_context(engine.create_runtime_config())
        return engine.create_execution_context()

    def nptype(self, dtype):
        return self.trt.nptype(dtype)
