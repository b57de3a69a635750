"""TensorRT: build (or load a cached) engine from the ONNX artifact on the device, then run it.

With the ``tensorrt`` Python module: the loader chain is "ONNX -> network -> serialized engine ->
engine -> execution context + device buffers" (trt_build, trt_io, trt_cuda), and measure.py times
``infer`` like every other backend. Without the module but with ``trtexec``: trtexec builds and
measures, and the runner says so (``measures_itself``; figures marked ``"source": "trtexec"``).

Options (``spec["options"]``, all optional):
    engine_cache_dir   where engines live on the device (default ~/.edgetrt/engines)
    workspace_bytes    builder workspace (default 256 MiB); halved once on an OOM build failure
    calibration_npy    preprocessed calibration images (.npy, N x input shape) for INT8 without
                       a Q/DQ model
    force_int8         build INT8 even where the GPU has no fast INT8
    cuda               "pycuda" or "cuda-python" (default: whichever imports)
    use_trtexec        measure with trtexec even when the Python module exists
    trtexec            path of trtexec (default /usr/src/tensorrt/bin/trtexec, then PATH)
    tensorrt_version, compute_capability   trtexec mode only: the probe's facts, for the cache key
"""

import time

from . import build as trt_build, engine_cache
from ..base import BackendUnavailable, Runner, UnsupportedPrecision


class TensorRTRunner(Runner):
    name = "tensorrt"
    #: True in trtexec mode: measure.py calls run_benchmark() instead of timing infer()
    measures_itself = False
    #: set by measure.py to its PhaseFile.set, so a kill during the build names the workspace
    report_phase = None

    def _phase(self, text):
        if self.report_phase is not None:
            self.report_phase(text)

    # -- choosing the artifact and shapes -------------------------------------------------

    def _artifact(self):
        """(ONNX path, int8 mode or None)."""
        if self.precision in ("fp32", "fp16"):
            return self.artifact_path("onnx"), None
        if self.precision != "int8":
            raise UnsupportedPrecision("tensorrt: unknown precision {!r}".format(self.precision))
        if "onnx_int8" in self.manifest.get("formats", {}):
            return self.artifact_path("onnx_int8"), "explicit"
        if self.options.get("calibration_npy"):
            return self.artifact_path("onnx"), "calibrate"
        raise UnsupportedPrecision(
            "int8 with TensorRT needs a Q/DQ model (artifact format onnx_int8) or calibration "
            "images (options calibration_npy); this artifact has neither")

    def _shapes(self):
        """{input: {"min", "opt", "max"}}: the batch dimension dynamic over 1..batch."""
        shapes = {}
        for spec in self.manifest.get("inputs", []):
            rest = list(spec["shape"][1:])
            if any(d is None or d < 0 for d in rest):
                raise UnsupportedPrecision(
                    "input {!r} has dynamic dimensions besides the batch ({}); the tensorrt "
                    "backend needs them fixed in the ONNX".format(spec["name"], spec["shape"]))
            shapes[spec["name"]] = {"min": [1] + rest, "opt": [self.batch] + rest,
                                    "max": [self.batch] + rest}
        if not shapes:
            raise UnsupportedPrecision("the manifest lists no inputs")
        return shapes

    def _workspace(self):
        return int(self.options.get("workspace_bytes") or trt_build.DEFAULT_WORKSPACE_BYTES)

    # -- activate ------------------------------------------------------------------------

    def _activate(self):
        trt = None if self.options.get("use_trtexec") else _import_tensorrt()
        if trt is None:
            from . import trtexec as trtexec_runner

            path = trtexec_runner.find_trtexec(self.options)
            if path is None:
                raise BackendUnavailable(
                    "TensorRT's Python module is not installed here and no trtexec was found "
                    "(looked at options trtexec, {}, PATH)".format(", ".join(trtexec_runner.TRTEXEC_PATHS)))
            from .trtexec import TrtexecBackend

            self._trtexec = TrtexecBackend(self, path)
            self._trtexec.activate()
            self.measures_itself = True
            return
        self._activate_python(trt)

    def _activate_python(self, trt):
        import numpy as np

        from . import cuda as trt_cuda, engine_io as trt_io

        version = str(trt.__version__)
        self.facts["tensorrt"] = version
        self.facts["builder"] = "python"
        onnx_path, int8_mode = self._artifact()
        shapes = self._shapes()
        # The CUDA context first: TensorRT then works in it (PyCUDA makes and pushes one).
        self._cuda = cuda = trt_cuda.open_cuda(self.options.get("cuda"))
        self.facts["cuda_library"] = cuda.library
        logger = trt_build.capturing_logger(trt)
        self._logger = logger
        builder = trt.Builder(logger)
        warnings = trt_build.check_platform(builder, self.precision, bool(self.options.get("force_int8")))
        if warnings:
            self.facts["warnings"] = warnings
        cc = cuda.compute_capability()
        self.facts["compute_capability"] = cc

        extra = {"builder": "python"}
        calibration = None
        if int8_mode:
            extra["int8_mode"] = int8_mode
            self.facts["int8_mode"] = int8_mode
        if int8_mode == "calibrate":
            from .calibrator import CalibrationData

            sample = shapes[sorted(shapes)[0]]["opt"][1:]
            calibration = CalibrationData(self.options["calibration_npy"], sample,
                                          int(self.options.get("calibration_batch") or 1), np)
            extra["calibration_sha256"] = engine_cache.sha256_file(calibration.path)
            extra["calibration_batch"] = calibration.batch

        requested = self._workspace()
        key = engine_cache.engine_key(engine_cache.sha256_file(onnx_path), version, cc,
                                      self.precision, shapes, requested, extra)
        cache = engine_cache.EngineCache(engine_cache.cache_dir(self.options))
        paths = cache.paths(key)
        self.facts["engine_file"] = paths["engine"]
        runtime = trt.Runtime(logger)

        engine, plan = None, cache.load(key)
        if plan is not None:
            engine, why = trt_build.deserialize(runtime, plan, logger)
            if engine is None:
                cache.remove(key)
                self.facts["cached_engine_rejected"] = why[-400:]
            else:
                self.facts["engine"] = "cached"
                self.facts["engine_bytes"] = _nbytes(plan)
                built = cache.built_info(key)
                self.facts["workspace_bytes"] = built.get("workspace_bytes", requested)
        if engine is None:
            engine = self._build(trt, builder, logger, runtime, cache, key, onnx_path, shapes,
                                 requested, int8_mode, calibration, cc, version, np)
        del plan
        self._engine = engine
        self._context = engine.create_execution_context()
        if self._context is None:
            raise trt_build.EngineBuildError("TensorRT could not create an execution context: "
                                             + "; ".join(logger.errors()[-3:]))
        run_shapes = dict((name, spec["opt"]) for name, spec in shapes.items())
        self._io = trt_io.engine_io(trt, engine, self._context, cuda, run_shapes, np)
        self.facts["io"] = self._io.describe()

    def _build(self, trt, builder, logger, runtime, cache, key, onnx_path, shapes, requested,
               int8_mode, calibration, cc, version, np):
        settings = trt_build.BuildSettings(onnx_path, self.precision, shapes, requested, int8_mode)
        timing_path = None
        timing_bytes = None
        if trt_build.version_tuple(version) >= (8,):
            timing_path = cache.timing_cache_path(version, cc)
            timing_bytes = engine_cache.read_bytes(timing_path)
        make_calibrator = None
        if calibration is not None:
            from .calibrator import make_entropy_calibrator

            calib_path = cache.paths(key)["calib"]

            def make_calibrator():
                return make_entropy_calibrator(trt, self._cuda, calibration, calib_path, np)

        def on_attempt(workspace):
            self._phase("build workspace_bytes={}".format(workspace))

        t0 = time.perf_counter()
        network, parser = trt_build.parse_onnx(trt, builder, logger, onnx_path)
        plan, info = trt_build.build_serialized(trt, builder, network, logger, settings,
                                                make_calibrator, timing_bytes, on_attempt)
        build_ms = (time.perf_counter() - t0) * 1e3
        del parser
        timing = info.pop("timing_cache")
        if timing and timing_path:
            engine_cache.atomic_write(timing_path, timing)
            self.facts["timing_cache"] = {"file": timing_path, "reused": bool(timing_bytes)}
        info["build_ms"] = build_ms
        cache.store(key, plan, built=info)
        self._phase("load")
        engine, why = trt_build.deserialize(runtime, plan, logger)
        if engine is None:
            cache.remove(key)
            raise trt_build.EngineBuildError("the engine TensorRT just built does not load: " + why)
        self.facts["engine"] = "built"
        self.facts["build_ms"] = build_ms
        self.facts["engine_bytes"] = _nbytes(plan)
        self.facts["workspace_bytes"] = info["workspace_bytes"]
        if info.get("oom_retries"):
            self.facts["oom_retries"] = info["oom_retries"]
            self.facts["failed_attempts"] = info.get("failed_attempts")
        return engine

    # -- infer / benchmark ---------------------------------------------------------------

    def _infer(self, feed):
        if self.measures_itself:
            raise RuntimeError("in trtexec mode trtexec runs the inferences; use run_benchmark()")
        return self._io.infer(feed)

    def run_benchmark(self, settings):
        """trtexec mode: measure with trtexec; returns the steady block (source "trtexec")."""
        return self._trtexec.benchmark(settings)

    def profile_layers(self, feed, iterations=20, top=15):
        """Per-layer times, after the timed loop so they do not disturb it.

        Python mode: an IProfiler on the execution context over ``iterations`` inferences.
        trtexec mode: the --dumpProfile table trtexec printed in its separate profiling run.
        """
        if self.measures_itself:
            layers = self._trtexec.profile_layers or []
            return {"source": "trtexec", "layers": layers[:top], "nodes": len(layers)}
        trt = _import_tensorrt()
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
        self._io = None
        self._context = None
        self._engine = None
        cuda = getattr(self, "_cuda", None)
        if cuda is not None:
            cuda.close()
            self._cuda = None


def _nbytes(plan):
    if isinstance(plan, (bytes, bytearray)):
        return len(plan)
    return memoryview(plan).nbytes


def _import_tensorrt():
    """The tensorrt module, or None when it is not installed (a broken one raises as is)."""
    try:
        import tensorrt
    except ImportError as exc:
        if "No module named" in str(exc) and "tensorrt" in str(exc):
            return None
        raise
    return tensorrt

