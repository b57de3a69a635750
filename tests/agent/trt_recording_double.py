"""A RECORDING DOUBLE of TensorRT's Python module and of PyCUDA's driver: NOT TensorRT.

No TensorRT 7/8/10 and no GPU exist on this project's machines. This double stands in for them so
the code *around* the TensorRT seam (cache, retries, the version layer's choices, buffers,
measure.py's flow) runs for real in tests. It:

- records every call the agent makes (``state.calls``: "Class.method" strings, arguments in
  ``state.log``), so tests can assert the exact sequence per TensorRT version;
- mimics the API surfaces of TensorRT 7.2, 8.2, 8.6, 10.3 and TensorRT-RTX 1.7 ("rtx"): an API a
  version lacks raises AttributeError, as pybind11 objects do (10.x has no
  ``max_workspace_size``, no ``build_engine``, no ``execute_async_v2``; 7.2 has no
  ``build_serialized_network`` nor timing cache; ``set_memory_pool_limit`` from 8.4; the
  name-based tensor API from 8.5; RTX has no EXPLICIT_BATCH, no FP16/INT8 builder flags, no
  calibrator, no platform queries, and makes contexts from a runtime config);
- can write its serialized engines behind a REAL engine file's bytes (``State.engine_header``), so
  a host reads a real header from what the double "built", and can take a real ONNX file, reading
  the network's inputs and outputs from the artifact's manifest (``State.io_from_manifest``), for
  tests that run it behind the whole deploy pipeline;
- "executes" an engine with a made-up function (output[b, k] = sum(input[b]) + k), through device
  memory that is either the PyCUDA double's (a dict of bytearrays) or real host memory at the
  addresses a double libcudart (tests/agent/cudart_double.c) handed out, so the agent's copies in
  and out are checked for real.

Where it can be checked, it is: tests/agent/test_trt_double_surface.py holds the TensorRT-10-style
surface (which TensorRT-RTX shares) and the RTX surface against the real ``tensorrt_rtx_bindings``
module, names, enum values and call arities, so this file cannot drift from the real API there.
The 7.2/8.x surfaces have no real module here to be checked against.

What it cannot tell: whether real TensorRT accepts these calls on a real GPU, how long a build
takes, or what a real engine computes.
"""

import ctypes
import enum
import json
import os
import sys
import time
import types

import numpy as np

VERSIONS = ("7.2.3.4", "8.2.1.8", "8.6.1.6", "10.3.0.26")
RTX_VERSION = "1.7.1.116"  # as the module ``tensorrt_rtx``

ENGINE_MAGIC = b"DOUBLE-TRT-ENGINE\n"

# The real TensorRT 8 wording of a builder OOM (see outcome.py and tests/fixtures/errors).
OOM_MESSAGE = ("2: [virtualMemoryBuffer.cpp::resizePhysical::145] Error Code 2: OutOfMemory "
               "(no further information)")
VERSION_TAG_MESSAGE = ("1: [stdArchiveReader.cpp::StdArchiveReader::40] Error Code 1: Serialization "
                       "(Serialization assertion stdVersionRead == serializationVersion failed."
                       "Version tag does not match. Note: Current Version: 213, Serialized Engine "
                       "Version: 205)")

_BINDING_API = {"num_bindings", "get_binding_name", "binding_is_input", "get_binding_shape",
                "get_binding_dtype"}
_TENSOR_API = {"num_io_tensors", "get_tensor_name", "get_tensor_mode", "get_tensor_shape",
               "get_tensor_dtype"}
_CONTEXT_TENSOR_API = {"set_input_shape", "get_tensor_shape", "set_tensor_address", "execute_async_v3"}
_CONTEXT_BINDING_API = {"set_binding_shape", "get_binding_shape", "execute_async_v2"}
_TIMING_CACHE_API = {"create_timing_cache", "set_timing_cache", "get_timing_cache"}
_CALIBRATION_API = {"int8_calibrator", "set_calibration_profile"}
_PLATFORM_API = {"platform_has_fast_int8", "platform_has_fast_fp16"}

# What each version LACKS, per class (module-level names under "module").
ABSENT = {
    "7.2": {"module": {"MemoryPoolType", "TensorIOMode"},
            "Builder": {"build_serialized_network"},
            "IBuilderConfig": {"set_memory_pool_limit"} | _TIMING_CACHE_API,
            "ICudaEngine": _TENSOR_API | {"create_runtime_config"},
            "IExecutionContext": _CONTEXT_TENSOR_API},
    "8.2": {"module": {"MemoryPoolType", "TensorIOMode"},
            "Builder": set(),
            "IBuilderConfig": {"set_memory_pool_limit"},
            "ICudaEngine": _TENSOR_API | {"create_runtime_config"},
            "IExecutionContext": _CONTEXT_TENSOR_API},
    "8.6": {"module": set(), "Builder": set(), "IBuilderConfig": set(),
            "ICudaEngine": {"create_runtime_config"}, "IExecutionContext": set()},
    "10.3": {"module": set(),
             "Builder": {"build_engine"},
             "IBuilderConfig": {"max_workspace_size"},
             "ICudaEngine": _BINDING_API | {"create_runtime_config"},
             "IExecutionContext": _CONTEXT_BINDING_API},
    # TensorRT-RTX 1.7: each name here is proved absent from the real module by the surface test.
    "rtx": {"module": {"IInt8EntropyCalibrator2"},
            "Builder": {"build_engine"} | _PLATFORM_API,
            "IBuilderConfig": {"max_workspace_size"} | _CALIBRATION_API,
            "ICudaEngine": _BINDING_API,
            "IExecutionContext": _CONTEXT_BINDING_API},
}

# Enum members per version; values as the real modules number them (RTX's checked against it).
ENUM_MEMBERS = {
    "NetworkDefinitionCreationFlag": {"7.2": {"EXPLICIT_BATCH": 0}, "8.2": {"EXPLICIT_BATCH": 0},
                                      "8.6": {"EXPLICIT_BATCH": 0},
                                      "10.3": {"EXPLICIT_BATCH": 0, "STRONGLY_TYPED": 1},
                                      "rtx": {"STRONGLY_TYPED": 0}},
    "BuilderFlag": {"7.2": {"FP16": 0, "INT8": 1}, "8.2": {"FP16": 0, "INT8": 1},
                    "8.6": {"FP16": 0, "INT8": 1}, "10.3": {"FP16": 0, "INT8": 1},
                    "rtx": {"REFIT": 4}},
}


def series_of(version):
    return "rtx" if version == RTX_VERSION else ".".join(version.split(".")[:2])


class DictMemory(object):
    """The PyCUDA double's device memory: address -> bytearray."""

    def __init__(self):
        self.blocks = {}
        self.next_address = 0x1000

    def allocate(self, nbytes):
        address = self.next_address
        self.next_address += max(256, nbytes)
        self.blocks[address] = bytearray(nbytes)
        return address

    def read(self, address, nbytes):
        return bytes(self.blocks[address][:nbytes])

    def write(self, address, data):
        self.blocks[address][:len(data)] = data


class HostPointerMemory(object):
    """Device memory that a double libcudart allocated with malloc: real host addresses."""

    def read(self, address, nbytes):
        return ctypes.string_at(address, nbytes)

    def write(self, address, data):
        ctypes.memmove(address, data, len(data))


class State(object):
    """Everything the doubles share: the call record, device memory, injected failures."""

    def __init__(self, version, inputs, outputs, fast_int8=True, fast_fp16=True, cc=(5, 3),
                 memory=None, engine_header=b"", io_from_manifest=False):
        self.version = version
        # Bytes the double's serialized engines start with: a REAL engine file's (tests/fixtures
        # engines, of the version the double claims), so a host reading an engine header reads a
        # real one. The double's own plan follows them; a plan not starting so does not load.
        self.engine_header = engine_header
        # The double reads no ONNX: with this set, the parser accepts a real ONNX file (a protobuf
        # ModelProto, whose first field is ir_version) and takes the network's inputs and outputs
        # from the artifact's manifest.json beside it, as edgetrt's converter wrote them.
        self.io_from_manifest = io_from_manifest
        self.series = series_of(version)
        self.inputs = inputs      # [(name, shape with -1 batch)]
        self.outputs = outputs    # [(name, shape with -1 batch)]
        self.fast_int8 = fast_int8
        self.fast_fp16 = fast_fp16
        self.cc = cc
        self.calls = []
        self.log = []
        self.device = memory or DictMemory()
        self.build_failures = []  # consumed per build: "oom" or "error"
        self.builds = 0
        self.calibration_batches = 0

    def record(self, name, *args):
        self.calls.append(name)
        self.log.append((name, args))

    def absent(self, cls):
        return ABSENT[self.series].get(cls, set())

    def args_of(self, name):
        return [args for call, args in self.log if call == name]


def _gated(state, cls_name):
    """A base class whose instances raise AttributeError for the APIs this version lacks."""
    absent = state.absent(cls_name)

    class Gated(object):
        def __getattribute__(self, name):
            if name in absent:
                raise AttributeError("'tensorrt.{}' object has no attribute '{}' (TensorRT {} "
                                     "double)".format(cls_name, name, state.version))
            return object.__getattribute__(self, name)

        def __setattr__(self, name, value):
            if name in absent:
                raise AttributeError("'tensorrt.{}' object has no attribute '{}' (TensorRT {} "
                                     "double)".format(cls_name, name, state.version))
            object.__setattr__(self, name, value)

    Gated.__name__ = cls_name
    return Gated


#: what the double's execution contexts report to an attached IProfiler (not measurements)
DOUBLE_LAYER_TIMES_MS = (("conv1 + relu1", 0.30), ("fc", 0.10))


def make_tensorrt(state, module_name="tensorrt"):
    """The TensorRT module double for ``state.version`` (named ``module_name``)."""
    trt = types.ModuleType(module_name)
    trt.__version__ = state.version
    trt.__doc__ = "RECORDING DOUBLE of {} {} (tests/agent/trt_recording_double.py)".format(
        module_name, state.version)
    record = state.record

    class Severity(enum.IntEnum):
        INTERNAL_ERROR = 0
        ERROR = 1
        WARNING = 2
        INFO = 3
        VERBOSE = 4

        def __str__(self):  # pybind11 enums print "Severity.ERROR"
            return "Severity." + self.name

    class ILogger(object):
        def __init__(self):
            pass

        def log(self, severity, msg):
            pass

    class IProfiler(object):
        """Subclassed by callers; the double's contexts call report_layer_time per layer."""

        def __init__(self):
            pass

        def report_layer_time(self, layer_name, ms):
            pass

    ILogger.Severity = Severity

    class DataType(enum.IntEnum):
        FLOAT = 0
        HALF = 1
        INT8 = 2
        INT32 = 3

    def nptype(dtype):
        return {DataType.FLOAT: np.float32, DataType.HALF: np.float16, DataType.INT8: np.int8,
                DataType.INT32: np.int32}[dtype]

    NetworkDefinitionCreationFlag = enum.IntEnum(
        "NetworkDefinitionCreationFlag", ENUM_MEMBERS["NetworkDefinitionCreationFlag"][state.series])
    BuilderFlag = enum.IntEnum("BuilderFlag", ENUM_MEMBERS["BuilderFlag"][state.series])

    class MemoryPoolType(enum.IntEnum):
        WORKSPACE = 0

    class TensorIOMode(enum.IntEnum):
        NONE = 0
        INPUT = 1
        OUTPUT = 2

    class IInt8EntropyCalibrator2(object):
        def __init__(self):
            record("IInt8EntropyCalibrator2.__init__")

    class Tensor(object):
        def __init__(self, name, shape):
            self.name = name
            self.shape = tuple(shape)

    class INetworkDefinition(object):
        def __init__(self, flags):
            self.flags = flags
            self.inputs = []

        @property
        def num_inputs(self):
            return len(self.inputs)

        def get_input(self, index):
            return self.inputs[index]

    class OnnxParser(object):
        def __init__(self, network, logger):
            record("OnnxParser", network.flags)
            self.network = network
            self.num_errors = 0

        def parse(self, model, path=None):
            record("OnnxParser.parse", len(model))
            return self._parse(bytes(model))

        def parse_from_file(self, model):
            with open(model, "rb") as fh:
                data = fh.read()
            record("OnnxParser.parse_from_file", model, len(data))
            if state.io_from_manifest and data[:1] == b"\x08":
                return self._io_from_manifest(model)
            return self._parse(data)

        def _io_from_manifest(self, model):
            directory = os.path.dirname(os.path.abspath(model))
            for _ in range(4):  # the artifact directory holds manifest.json; the ONNX may be deeper
                if os.path.isfile(os.path.join(directory, "manifest.json")):
                    break
                directory = os.path.dirname(directory)
            with open(os.path.join(directory, "manifest.json")) as fh:
                manifest = json.load(fh)

            def io(specs):
                return [(t["name"], [-1 if d is None else d for d in t["shape"]]) for t in specs]

            state.inputs, state.outputs = io(manifest["inputs"]), io(manifest["outputs"])
            self.network.inputs = [Tensor(n, s) for n, s in state.inputs]
            return True

        def _parse(self, data):
            if not data.startswith(b"ONNX-DOUBLE"):
                self.num_errors = 1
                return False
            self.network.inputs = [Tensor(n, s) for n, s in state.inputs]
            return True

        def get_error(self, index):
            return "In node -1 (parseGraph): INVALID_GRAPH: this is not an ONNX model (double)"

    class IOptimizationProfile(object):
        def set_shape(self, input, min, opt, max):  # noqa: A002 - the real parameter names
            record("IOptimizationProfile.set_shape", input, list(min), list(opt), list(max))
            self.shapes = getattr(self, "shapes", {})
            self.shapes[input] = (list(min), list(opt), list(max))

    class ITimingCache(object):
        def __init__(self, data):
            self.data = bytes(data)

        def serialize(self):
            record("ITimingCache.serialize")
            return self.data + b"+timing"

    Config = _gated(state, "IBuilderConfig")

    class IBuilderConfig(Config):
        def __init__(self):
            object.__setattr__(self, "flag_names", [])
            object.__setattr__(self, "profiles", [])
            object.__setattr__(self, "workspace", None)
            object.__setattr__(self, "calibrator", None)
            object.__setattr__(self, "timing", None)

        @property
        def max_workspace_size(self):
            return self.workspace

        @max_workspace_size.setter
        def max_workspace_size(self, value):
            record("IBuilderConfig.max_workspace_size=", value)
            object.__setattr__(self, "workspace", value)

        def set_memory_pool_limit(self, pool, pool_size):
            record("IBuilderConfig.set_memory_pool_limit", pool.name, pool_size)
            object.__setattr__(self, "workspace", pool_size)

        def set_flag(self, flag):
            record("IBuilderConfig.set_flag", flag.name)
            self.flag_names.append(flag.name)

        def add_optimization_profile(self, profile):
            record("IBuilderConfig.add_optimization_profile")
            self.profiles.append(profile)
            return len(self.profiles) - 1

        @property
        def int8_calibrator(self):
            return self.calibrator

        @int8_calibrator.setter
        def int8_calibrator(self, calibrator):
            record("IBuilderConfig.int8_calibrator=")
            object.__setattr__(self, "calibrator", calibrator)

        def set_calibration_profile(self, profile):
            record("IBuilderConfig.set_calibration_profile", profile.shapes)

        def create_timing_cache(self, serialized_timing_cache):
            record("IBuilderConfig.create_timing_cache", bytes(serialized_timing_cache))
            return ITimingCache(serialized_timing_cache)

        def set_timing_cache(self, cache, ignore_mismatch):
            record("IBuilderConfig.set_timing_cache", ignore_mismatch)
            object.__setattr__(self, "timing", cache)
            return True

        def get_timing_cache(self):
            record("IBuilderConfig.get_timing_cache")
            return self.timing

    BuilderBase = _gated(state, "Builder")

    class Builder(BuilderBase):
        def __init__(self, logger):
            record("Builder", type(logger).__name__)
            object.__setattr__(self, "logger", logger)

        @property
        def platform_has_fast_int8(self):
            return state.fast_int8

        @property
        def platform_has_fast_fp16(self):
            return state.fast_fp16

        def create_network(self, flags=0):
            record("Builder.create_network", flags)
            return INetworkDefinition(flags)

        def create_builder_config(self):
            record("Builder.create_builder_config")
            return IBuilderConfig()

        def create_optimization_profile(self):
            record("Builder.create_optimization_profile")
            return IOptimizationProfile()

        def _plan(self, network, config):
            state.builds += 1
            failure = state.build_failures.pop(0) if state.build_failures else None
            if failure == "oom":
                self.logger.log(Severity.ERROR, OOM_MESSAGE)
                return None
            if failure == "error":
                self.logger.log(Severity.ERROR, "4: [network.cpp::validate::2965] Error Code 4: "
                                                "Internal Error (network validation failed)")
                return None
            calibrator = config.calibrator
            if calibrator is not None:
                cached = calibrator.read_calibration_cache()
                if not cached:
                    names = [t.name for t in network.inputs]
                    while calibrator.get_batch(names) is not None:
                        state.calibration_batches += 1
                    calibrator.write_calibration_cache(b"double-calibration-table")
            doc = {"version": state.version, "flags": config.flag_names, "workspace": config.workspace,
                   "inputs": state.inputs, "outputs": state.outputs}
            return state.engine_header + ENGINE_MAGIC + json.dumps(doc).encode("utf-8")

        def build_serialized_network(self, network, config):
            record("Builder.build_serialized_network")
            plan = self._plan(network, config)
            return None if plan is None else IHostMemory(plan)

        def build_engine(self, network, config):
            record("Builder.build_engine")
            plan = self._plan(network, config)
            return None if plan is None else ICudaEngine(plan)

    class IHostMemory(bytes):
        """Buffer-protocol object like TensorRT's IHostMemory (bytes underneath)."""

        @property
        def nbytes(self):
            return len(self)

    class IRuntimeConfig(object):
        """TensorRT-RTX's runtime configuration (JIT settings) for an execution context."""

    EngineBase = _gated(state, "ICudaEngine")

    class ICudaEngine(EngineBase):
        def __init__(self, plan):
            data = bytes(plan)
            doc = json.loads(data[data.index(ENGINE_MAGIC) + len(ENGINE_MAGIC):].decode("utf-8"))
            object.__setattr__(self, "doc", doc)
            io = [(n, tuple(s), True) for n, s in doc["inputs"]] + \
                 [(n, tuple(s), False) for n, s in doc["outputs"]]
            object.__setattr__(self, "io", io)
            object.__setattr__(self, "plan", bytes(plan))

        def serialize(self):
            record("ICudaEngine.serialize")
            return IHostMemory(self.plan)

        def create_runtime_config(self):
            record("ICudaEngine.create_runtime_config")
            return IRuntimeConfig()

        def create_execution_context(self, runtime_config=None):
            record("ICudaEngine.create_execution_context",
                   type(runtime_config).__name__ if runtime_config is not None else None)
            return IExecutionContext(self)

        # binding API (7.x to 8.x)
        @property
        def num_bindings(self):
            record("ICudaEngine.num_bindings")
            return len(self.io)

        def get_binding_name(self, index):
            return self.io[index][0]

        def binding_is_input(self, index):
            return self.io[index][2]

        def get_binding_shape(self, index):
            return self.io[index][1]

        def get_binding_dtype(self, index):
            return DataType.FLOAT

        # tensor API (8.5+)
        @property
        def num_io_tensors(self):
            record("ICudaEngine.num_io_tensors")
            return len(self.io)

        def get_tensor_name(self, index):
            return self.io[index][0]

        def _find(self, name):
            return [t for t in self.io if t[0] == name][0]

        def get_tensor_mode(self, name):
            return TensorIOMode.INPUT if self._find(name)[2] else TensorIOMode.OUTPUT

        def get_tensor_shape(self, name):
            return self._find(name)[1]

        def get_tensor_dtype(self, name):
            return DataType.FLOAT

    ContextBase = _gated(state, "IExecutionContext")

    class IExecutionContext(ContextBase):
        def __init__(self, engine):
            object.__setattr__(self, "engine", engine)
            object.__setattr__(self, "shapes", {})
            object.__setattr__(self, "addresses", {})

        def _out_shape(self, name):
            batch = list(self.shapes.values())[0][0]
            shape = list(self.engine._find(name)[1])
            return tuple([batch] + shape[1:])

        def set_binding_shape(self, binding, shape):
            record("IExecutionContext.set_binding_shape", binding, tuple(shape))
            self.shapes[self.engine.io[binding][0]] = tuple(shape)
            return True

        def get_binding_shape(self, binding):
            name, shape, is_input = self.engine.io[binding]
            return self.shapes.get(name, shape) if is_input else self._out_shape(name)

        def execute_async_v2(self, bindings, stream_handle):
            record("IExecutionContext.execute_async_v2", list(bindings), stream_handle)
            names = [t[0] for t in self.engine.io]
            return self._run(dict(zip(names, bindings)))

        def set_input_shape(self, name, shape):
            record("IExecutionContext.set_input_shape", name, tuple(shape))
            self.shapes[name] = tuple(shape)
            return True

        def get_tensor_shape(self, name):
            if self.engine._find(name)[2]:
                return self.shapes[name]
            return self._out_shape(name)

        def set_tensor_address(self, name, memory):
            record("IExecutionContext.set_tensor_address", name, memory)
            self.addresses[name] = memory
            return True

        def execute_async_v3(self, stream_handle):
            record("IExecutionContext.execute_async_v3", stream_handle)
            return self._run(self.addresses)

        def _run(self, addresses):
            profiler = getattr(self, "profiler", None)
            if profiler is not None:
                # Fixed per-layer times: a DOUBLE's numbers, used only to test the aggregation.
                for layer, ms in DOUBLE_LAYER_TIMES_MS:
                    profiler.report_layer_time(layer, ms)
            (in_name, _, _), = [t for t in self.engine.io if t[2]]
            in_shape = self.shapes[in_name]
            count = int(np.prod(in_shape))
            data = np.frombuffer(state.device.read(addresses[in_name], count * 4), dtype=np.float32)
            data = data.reshape(in_shape)
            for name, _, is_input in self.engine.io:
                if is_input:
                    continue
                shape = self._out_shape(name)
                out = data.reshape(shape[0], -1).sum(axis=1)[:, None] + np.arange(shape[1])
                state.device.write(addresses[name], out.astype(np.float32).tobytes())
            return True

    class Runtime(object):
        def __init__(self, logger):
            record("Runtime")
            self.logger = logger

        def deserialize_cuda_engine(self, serialized_engine):
            record("Runtime.deserialize_cuda_engine")
            data = bytes(serialized_engine)
            if not data.startswith(state.engine_header + ENGINE_MAGIC):
                self.logger.log(Severity.ERROR, VERSION_TAG_MESSAGE)
                return None
            return ICudaEngine(data)

    for name, value in dict(
            ILogger=ILogger, IProfiler=IProfiler, DataType=DataType, nptype=nptype, Builder=Builder,
            Runtime=Runtime, OnnxParser=OnnxParser, IBuilderConfig=IBuilderConfig,
            NetworkDefinitionCreationFlag=NetworkDefinitionCreationFlag, BuilderFlag=BuilderFlag,
            MemoryPoolType=MemoryPoolType, TensorIOMode=TensorIOMode,
            IInt8EntropyCalibrator2=IInt8EntropyCalibrator2, ICudaEngine=ICudaEngine,
            IExecutionContext=IExecutionContext, IOptimizationProfile=IOptimizationProfile,
            ITimingCache=ITimingCache, IHostMemory=IHostMemory, IRuntimeConfig=IRuntimeConfig,
            INetworkDefinition=INetworkDefinition).items():
        if name not in state.absent("module"):
            setattr(trt, name, value)
    return trt


def make_pycuda(state):
    """``pycuda`` and ``pycuda.driver`` doubles over ``state.device`` (no GPU anywhere)."""
    package = types.ModuleType("pycuda")
    driver = types.ModuleType("pycuda.driver")
    driver.__doc__ = "RECORDING DOUBLE of pycuda.driver"
    package.driver = driver
    record = state.record

    class DeviceAllocation(object):
        def __init__(self, nbytes):
            self.address = state.device.allocate(nbytes)

        def __int__(self):
            return self.address

        def free(self):
            record("cuda.free")
            state.device.blocks.pop(self.address, None)

    class Context(object):
        def pop(self):
            record("cuda.Context.pop")

    class Device(object):
        def __init__(self, ordinal):
            record("cuda.Device", ordinal)

        def compute_capability(self):
            return state.cc

        def make_context(self):
            record("cuda.Device.make_context")
            return Context()

    class Stream(object):
        handle = 0xCAFE

        def synchronize(self):
            record("cuda.Stream.synchronize")

    class Event(object):
        """A DOUBLE of pycuda.driver.Event: record() notes the host clock (no GPU timeline), so
        elapsed times are host time between records, not GPU time."""

        def __init__(self):
            record("cuda.Event")
            self.at = None

        def record(self, stream=None):
            record("cuda.Event.record")
            self.at = time.perf_counter()

        def synchronize(self):
            pass

        def time_since(self, start):
            return (self.at - start.at) * 1e3

    def init():
        record("cuda.init")

    def mem_alloc(nbytes):
        record("cuda.mem_alloc", nbytes)
        return DeviceAllocation(nbytes)

    def pagelocked_empty(shape, dtype):
        return np.zeros(shape, dtype=dtype)

    def memcpy_htod_async(address, host, stream):
        record("cuda.memcpy_htod_async", int(address))
        state.device.write(int(address), np.ascontiguousarray(host).tobytes())

    def memcpy_dtoh_async(host, address, stream):
        record("cuda.memcpy_dtoh_async", int(address))
        raw = state.device.read(int(address), host.nbytes)
        host[...] = np.frombuffer(raw, dtype=host.dtype).reshape(host.shape)

    for name, value in dict(init=init, Device=Device, Stream=Stream, Event=Event, mem_alloc=mem_alloc,
                            pagelocked_empty=pagelocked_empty, memcpy_htod_async=memcpy_htod_async,
                            memcpy_dtoh_async=memcpy_dtoh_async).items():
        setattr(driver, name, value)
    return package, driver


def install(monkeypatch, version, inputs=(("input", (-1, 8, 8, 3)),), outputs=(("output", (-1, 4)),),
            cuda="pycuda", **kw):
    """Put the doubles into sys.modules (undone by monkeypatch); return the shared State.

    ``cuda="pycuda"``: the PyCUDA double holds device memory. ``cuda="host-pointers"``: no PyCUDA
    (the agent then takes libcudart through ctypes: pass it the double libcudart) and the engine
    reads and writes the real host memory those addresses point at. The module is ``tensorrt``,
    or ``tensorrt_rtx`` for ``RTX_VERSION``."""
    memory = HostPointerMemory() if cuda == "host-pointers" else DictMemory()
    state = State(version, [(n, list(s)) for n, s in inputs], [(n, list(s)) for n, s in outputs],
                  memory=memory, **kw)
    name = "tensorrt_rtx" if state.series == "rtx" else "tensorrt"
    monkeypatch.setitem(sys.modules, name, make_tensorrt(state, name))
    if cuda == "pycuda":
        package, driver = make_pycuda(state)
        monkeypatch.setitem(sys.modules, "pycuda", package)
        monkeypatch.setitem(sys.modules, "pycuda.driver", driver)
    return state
