"""TensorRT through its Python bindings: build (or load a cached) engine from the ONNX artifact on
the device, then run it. (Without the bindings, trtexec.TrtexecRunner; path.py chooses.)

The loader chain is "ONNX path -> network -> serialized engine -> engine -> execution context +
device buffers" (build.py, engine_io.py, cuda.py); every TensorRT version difference is in
library.TensorRTLibrary; measure.py times ``infer`` like every other backend. The start-up is
timed phase by phase into ``cold_start()``.

Options (``spec["options"]``, all optional):
    engine_cache_dir   where engines live on the device (default ~/.edgetrt/engines)
    workspace_bytes    builder workspace (default 256 MiB); retries: see retry.py
    shared_engines     engines devices of the same TensorRT build and GPU built (engine_cache.adopt)
    shared_timing_cache  such a device's builder timing cache (engine_cache.take_timing_cache)
    calibration_npy    preprocessed calibration images (.npy, N x input shape) for INT8 without
                       a Q/DQ model (TensorRT 7 to 10 only)
    force_int8         build INT8 even where the GPU has no fast INT8
    tensorrt_module    the Python module to use (default: tensorrt, then tensorrt_rtx)
    cuda               "pycuda", "cuda-python" or "cudart" (default: the first one present)
    cudart             path of the libcudart to load (default: found under /usr/local/cuda*)
"""

import time

from . import engine_cache
from .build import (DEFAULT_WORKSPACE_BYTES, BuildSettings, ContextFromEngine, EngineBytesFromNetwork,
                    EngineFromBytes, EngineLoadError, NetworkFromOnnxPath, capturing_logger,
                    check_platform)
from ..base import BackendUnavailable, Runner, UnsupportedPrecision

#: what a TensorRT-RTX engine's cache key says instead of a GPU: it is built ahead of time for
#: the library's default targets and runs on any of them
PORTABLE = "portable (ahead-of-time default targets)"

# The start-up of a run, each in ms, None where it did not happen (a cached engine is not
# parsed or built). parse: ONNX parser; build: the builder (every attempt of retry.py's);
# serialize: the engine to bytes in the engine cache (TensorRT 7 also engine.serialize());
# cache_read: looking the engine up, and reading it when cached; deserialize: Runtime;
# context: the execution context (TensorRT-RTX's JIT compile); first_inference: measure.py's.
COLD_START_KEYS = ("parse_ms", "build_ms", "serialize_ms", "cache_read_ms", "deserialize_ms",
                   "context_ms", "first_inference_ms")


def input_shapes(manifest, batch):
    """{input: {"min", "opt", "max"}}: the batch dimension dynamic over 1..batch."""
    shapes = {}
    for spec in manifest.get("inputs", []):
        rest = list(spec["shape"][1:])
        if any(d is None or d < 0 for d in rest):
            raise UnsupportedPrecision(
                "input {!r} has dynamic dimensions besides the batch ({}); the tensorrt "
                "backend needs them fixed in the ONNX".format(spec["name"], spec["shape"]))
        shapes[spec["name"]] = {"min": [1] + rest, "opt": [batch] + rest, "max": [batch] + rest}
    if not shapes:
        raise UnsupportedPrecision("the manifest lists no inputs")
    return shapes


def workspace_bytes(options):
    return int(options.get("workspace_bytes") or DEFAULT_WORKSPACE_BYTES)


class TensorRTRunner(Runner):
    name = "tensorrt"
    can_profile = True
    times_parts = True

    def __init__(self, *args, **kwargs):
        Runner.__init__(self, *args, **kwargs)
        self._cuda = self._engine = self._context = self._io = self._timing = None
        self._cold = dict((k, None) for k in COLD_START_KEYS)
        self._cold.update(source="tensorrt", engine=None)

    def cold_start(self):
        return dict(self._cold)

    def _timed(self, key, call, *args):
        t0 = time.perf_counter()
        try:
            return call(*args)
        finally:
            self._cold[key] = (self._cold[key] or 0.0) + (time.perf_counter() - t0) * 1e3

    # -- activate ------------------------------------------------------------------------

    def _activate(self):
        import numpy as np

        from .library import TensorRTLibrary, import_tensorrt

        names = [self.options["tensorrt_module"]] if self.options.get("tensorrt_module") else None
        module, why_not = import_tensorrt(names)
        if module is None:
            raise BackendUnavailable(why_not)
        library = self.library = TensorRTLibrary(module)
        trt = library.trt
        self.facts.update(builder="python", tensorrt=library.version, library=library.describe(),
                          precision_from=library.precision_source(self.precision))
        self._cold["source"] = "{} {} Python API".format(library.flavour, library.version)
        fmt, int8_mode = library.artifact_format(self.precision, self.manifest.get("formats", {}),
                                                 bool(self.options.get("calibration_npy")))
        onnx_path = self.artifact_path(fmt)
        self.facts["artifact_format"] = fmt
        shapes = input_shapes(self.manifest, self.batch)
        logger = self._logger = capturing_logger(trt)
        builder = trt.Builder(logger)
        warnings = check_platform(library, builder, self.precision, bool(self.options.get("force_int8")))
        if warnings:
            self.facts["warnings"] = warnings
        if library.api.engine_for_device:
            # The engine is for this GPU only: the key needs its compute capability now.
            key_cc = self._open_cuda().compute_capability()
            self.facts["compute_capability"] = key_cc
        else:
            key_cc = PORTABLE

        extra = {"builder": "python"}
        calibration = None
        if int8_mode:
            extra["int8_mode"] = self.facts["int8_mode"] = int8_mode
        if int8_mode == "calibrate":
            from .calibrator import CalibrationData

            sample = shapes[sorted(shapes)[0]]["opt"][1:]
            calibration = CalibrationData(self.options["calibration_npy"], sample,
                                          int(self.options.get("calibration_batch") or 1), np)
            extra["calibration_sha256"] = engine_cache.sha256_file(calibration.path)
            extra["calibration_batch"] = calibration.batch
        requested = workspace_bytes(self.options)
        key = engine_cache.engine_key(engine_cache.sha256_file(onnx_path), library.flavour,
                                      library.version, key_cc, self.precision, shapes, requested, extra)
        cache = engine_cache.EngineCache(engine_cache.cache_dir(self.options))
        self.facts["engine_file"] = cache.paths(key)["engine"]
        runtime = trt.Runtime(logger)
        settings = BuildSettings(onnx_path, self.precision, shapes, requested, int8_mode)

        self.facts["engine_key"] = key
        self._timing = self._take_timing_cache(cache, key_cc)
        if cache.load(key) is None:
            cache.adopt(key, self.options.get("shared_engines"))
        plan = self._timed("cache_read_ms", cache.load, key)
        if plan is not None:
            built_info = cache.built_info(key)
            reuse(self.facts, self._cold, built_info)
            self.facts["engine_bytes"] = _nbytes(plan)
            self.facts["workspace_bytes"] = built_info.get("workspace_bytes", requested)
        else:
            plan = self._build(builder, cache, key, settings, calibration, key_cc, np)
        cuda = self._open_cuda()  # TensorRT-RTX: the first CUDA call of the run is here
        if "compute_capability" not in self.facts:
            self.facts["compute_capability"] = cuda.compute_capability()
        self.phase("deserialize")
        try:
            engine = self._timed("deserialize_ms", EngineFromBytes(runtime, logger), plan)
        except EngineLoadError as exc:
            if self._cold["engine"] not in ("cached", "shared"):
                cache.remove(key)
                raise EngineLoadError("the engine TensorRT just built does not load: {}".format(exc))
            # From another TensorRT or GPU, or corrupt: rebuild it once (build 1 of this run).
            cache.remove(key)
            self.facts["cached_engine_rejected"] = str(exc)[-400:]
            plan = self._build(builder, cache, key, settings, calibration, key_cc, np)
            self._cold["deserialize_ms"] = None
            engine = self._timed("deserialize_ms", EngineFromBytes(runtime, logger), plan)
        del plan
        self._engine = engine
        self.phase("context")
        self._context = self._timed("context_ms", ContextFromEngine(library, logger), engine)
        from . import engine_io

        run_shapes = dict((name, spec["opt"]) for name, spec in shapes.items())
        self._io = engine_io.engine_io(library, engine, self._context, cuda, run_shapes, np)
        self.facts["io"] = self._io.describe()

    def _open_cuda(self):
        if self._cuda is None:
            from .cuda import open_cuda

            self._cuda = open_cuda(self.options)
            self.facts["cuda_library"] = self._cuda.library
        return self._cuda

    def _take_timing_cache(self, cache, key_cc):
        """(path, key, what became of the host's offer) of this library's and GPU's builder timing
        cache; None where the library keeps none (TensorRT 7, TensorRT-RTX). The timing cache an
        identical device wrote is taken now, where this device has none, whether or not this run
        builds (engine_cache.take_timing_cache); ``timing_cache_offer`` records what became of it."""
        library = self.library
        if not library.api.timing_cache:
            return None
        key = engine_cache.timing_cache_key(library.flavour, library.version, key_cc)
        path = cache.timing_cache_path(library.flavour, library.version, key_cc)
        provided = cache.take_timing_cache(path, key, self.options.get("shared_timing_cache"))
        if provided:
            self.facts["timing_cache_offer"] = provided
        return path, key, provided

    def _build(self, builder, cache, key, settings, calibration, key_cc, np):
        library, logger = self.library, self._logger
        timing_path, timing_key, provided = self._timing or (None, None, {})
        timing_bytes = engine_cache.read_bytes(timing_path) if timing_path else None
        make_calibrator = None
        if calibration is not None:
            from .calibrator import make_entropy_calibrator

            calib_path = cache.paths(key)["calib"]
            cuda = self._open_cuda()

            def make_calibrator():
                return make_entropy_calibrator(library.trt, cuda, calibration, calib_path, np)

        self.phase("parse")
        parsed = self._timed("parse_ms", NetworkFromOnnxPath(library, logger, builder, settings.onnx_path))
        built = EngineBytesFromNetwork(library, logger, settings, make_calibrator, timing_bytes,
                                       self.options, self.phase)(parsed)
        del parsed
        self._cold["build_ms"] = built.build_ms
        t0 = time.perf_counter()
        plan = bytes(memoryview(built.plan))
        cache.store(key, plan, built=dict(built.record, build_ms=built.build_ms))
        self.facts["engine_sha256"] = cache.built_info(key).get("sha256")
        self._cold["serialize_ms"] = built.serialize_ms + (time.perf_counter() - t0) * 1e3
        if built.timing_cache and timing_path:
            engine_cache.atomic_write(timing_path, built.timing_cache)
            self.facts["timing_cache"] = engine_cache.record_timing_cache(timing_path, timing_key, built.timing_cache,
                                                                          bool(timing_bytes), provided)
        self._cold["engine"] = self.facts["engine"] = "built"
        self.facts.update(build_ms=built.build_ms, engine_bytes=len(plan),
                          workspace_bytes=built.record["workspace_bytes"], build=built.record)
        return plan

    # -- infer / profile -----------------------------------------------------------------

    def _infer(self, feed):
        return self._io.infer(feed)

    def begin_timed(self, feed, no_transfers=False):
        """The timed loop splits every inference (engine_io.start_parts); --no-transfers copies
        the inputs once here and none in the loop."""
        self._io.start_parts(feed, no_transfers)
        self.no_transfers_applied = bool(no_transfers)
        return None

    def end_timed(self):
        return self._io.stop_parts()

    def profile(self, feed, iterations=20, top=15):
        """Per-layer times from an IProfiler on the execution context, over ``iterations``
        inferences after the timed loop (so the profiler's cost is not in the latencies)."""
        trt = self.library.trt
        times, calls = {}, {}

        class LayerTimes(trt.IProfiler):
            def __init__(self):
                trt.IProfiler.__init__(self)

            def report_layer_time(self, layer_name, ms):
                times[layer_name] = times.get(layer_name, 0.0) + float(ms)
                calls[layer_name] = calls.get(layer_name, 0) + 1

        profiler = LayerTimes()
        self._context.profiler = profiler
        try:
            for _ in range(iterations):
                self._io.infer(feed)
        finally:
            self._keep_profiler = profiler  # TensorRT holds a pointer: keep the object alive
        grand = sum(times.values())
        layers = [{"name": name, "time_ms": times[name] / calls[name], "calls": calls[name],
                   "percent": 100.0 * times[name] / grand if grand else 0.0}
                  for name in sorted(times, key=lambda n: -times[n])]
        return {"source": "tensorrt", "layers": layers[:top], "nodes": len(layers)}

    def _deactivate(self):
        self._io = self._context = self._engine = None
        if self._cuda is not None:
            self._cuda.close()
            self._cuda = None


def reuse(facts, cold, built_info):
    """The facts of an engine found in the cache: "cached", or "shared" when another device of the
    same TensorRT build and GPU built it (the host passed it on), with that device's build time."""
    if built_info.get("shared_from"):
        cold["engine"] = facts["engine"] = "shared"
        facts["shared_from"] = built_info["shared_from"]
        facts["build_ms"] = built_info.get("build_ms")
    else:
        cold["engine"] = facts["engine"] = "cached"
    facts["engine_sha256"] = built_info.get("sha256")


def _nbytes(plan):
    if isinstance(plan, (bytes, bytearray)):
        return len(plan)
    return memoryview(plan).nbytes
