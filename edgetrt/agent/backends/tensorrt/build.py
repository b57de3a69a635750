"""Loaders for the TensorRT Python path, in Polygraphy's shape: ONNX path -> network -> engine
bytes -> engine. Each is a small object, its settings in the constructor and its work in one call::

    parsed = NetworkFromOnnxPath(library, logger, builder, onnx_path)()
    built = EngineBytesFromNetwork(library, logger, settings, ...)(parsed)
    engine = EngineFromBytes(runtime, logger)(built.plan)

The TensorRT module arrives inside ``library`` (library.TensorRTLibrary, which holds every
version difference); nothing here imports it. Builds go through the one retry policy
(retry.build_with_retry). The TensorRT logger's messages are captured, so an error that reaches
the report is TensorRT's own.
"""

import collections
import re
import time

from ... import outcome
from ..base import RuntimeReported
from .retry import BuildFailed, build_with_retry

DEFAULT_WORKSPACE_BYTES = 256 << 20  # a Jetson Nano shares 4 GB between CPU and GPU

# Real build-time OOM wordings beyond outcome's patterns (tests/fixtures/errors B67, TRT 8 logs).
_BUILD_OOM = [re.compile(p, re.IGNORECASE) for p in (
    r"allocation failed",
    r"could not be allocated",
    r"Cuda Error in allocate",
)]


class EngineBuildError(BuildFailed):
    """TensorRT could not parse or build an engine; the message carries its words (and
    ``errors``, the parser's or builder's messages one by one)."""


class EngineLoadError(RuntimeReported):
    """TensorRT could not deserialize an engine or make its execution context."""


def build_text_says_oom(text):
    return outcome.text_says_oom(text) or any(p.search(text or "") for p in _BUILD_OOM)


def capturing_logger(trt, keep=400):
    """A ``trt.ILogger`` that keeps TensorRT's messages (VERBOSE dropped) for error reports."""
    info = int(trt.ILogger.Severity.INFO)

    class CapturingLogger(trt.ILogger):
        def __init__(self):
            trt.ILogger.__init__(self)
            self.messages = []

        def log(self, severity, msg):
            if int(severity) > info:
                return
            label = getattr(severity, "name", None) or str(severity).split(".")[-1]
            self.messages.append((str(label), str(msg)))
            if len(self.messages) > keep:
                del self.messages[0]

        def errors(self, since=0):
            return [m for s, m in self.messages[since:] if s in ("ERROR", "INTERNAL_ERROR")]

    return CapturingLogger()


class BuildSettings(object):
    """What one engine build is asked for (everything that goes into the engine cache key)."""

    def __init__(self, onnx_path, precision, shapes, workspace_bytes, int8_mode=None):
        self.onnx_path = onnx_path
        self.precision = precision
        #: {input name: {"min": [...], "opt": [...], "max": [...]}}
        self.shapes = shapes
        self.workspace_bytes = int(workspace_bytes)
        #: "explicit" (QDQ ONNX) or "calibrate" (IInt8EntropyCalibrator2), for int8 only
        self.int8_mode = int8_mode


def check_platform(library, builder, precision, force_int8):
    """Refuse INT8 without fast INT8 (unless forced); return warnings (facts) as strings."""
    fast = library.platform_fast(builder)
    warnings = []
    if precision == "int8" and fast.get("int8") is False:
        if not force_int8:
            from ..base import UnsupportedPrecision

            raise UnsupportedPrecision(
                "this GPU has no fast INT8 (builder.platform_has_fast_int8 is False): INT8 would "
                "run slower than FP16 here; measure fp16, or pass options force_int8 to measure "
                "it anyway")
        warnings.append("int8 forced on a GPU without fast INT8 (platform_has_fast_int8 False)")
    if precision == "fp16" and fast.get("fp16") is False:
        warnings.append("fp16 requested but platform_has_fast_fp16 is False: expect no speed-up")
    return warnings


ParsedNetwork = collections.namedtuple("ParsedNetwork", "builder network parser")


class NetworkFromOnnxPath(object):
    """A network definition parsed from an ONNX file by TensorRT's ONNX parser."""

    def __init__(self, library, logger, builder, onnx_path):
        self.library = library
        self.logger = logger
        self.builder = builder
        self.onnx_path = onnx_path

    def __call__(self):
        network = self.library.create_network(self.builder)
        parser = self.library.trt.OnnxParser(network, self.logger)
        seen = len(self.logger.messages)
        if not self.library.parse_onnx(parser, self.onnx_path):
            # The parser's own errors name the node and its operator.
            errors = [str(parser.get_error(i)) for i in range(parser.num_errors)] \
                or self.logger.errors(seen)
            error = EngineBuildError("TensorRT could not parse {}: {}".format(
                self.onnx_path, "; ".join(errors) or "no parser error given"))
            error.errors = errors
            raise error
        # The parser must outlive the network it filled (it owns the weights in TRT 7/8).
        return ParsedNetwork(self.builder, network, parser)


BuiltPlan = collections.namedtuple("BuiltPlan", "plan record timing_cache build_ms serialize_ms")


class EngineBytesFromNetwork(object):
    """A serialized engine built from a parsed network, under the retry policy.

    ``make_calibrator()`` gives a fresh INT8 calibrator per attempt (implicit INT8 only);
    ``timing_cache_bytes`` seeds the builder's timing cache where the version uses one;
    ``options`` carry the supervisor's ``build_retry``; ``report_phase`` hears each attempt."""

    def __init__(self, library, logger, settings, make_calibrator=None, timing_cache_bytes=None,
                 options=None, report_phase=None):
        self.library = library
        self.logger = logger
        self.settings = settings
        self.make_calibrator = make_calibrator
        self.timing_cache_bytes = timing_cache_bytes
        self.options = options or {}
        self.report_phase = report_phase or (lambda name, **detail: None)

    def __call__(self, parsed):
        spent = {"build_ms": 0.0}

        def build_once(workspace):
            t0 = time.perf_counter()
            try:
                return self._build_once(parsed, workspace)
            finally:
                spent["build_ms"] += (time.perf_counter() - t0) * 1e3

        (plan, timing, serialize_ms), record = build_with_retry(
            build_once, self.settings.workspace_bytes, self.options, self.report_phase)
        return BuiltPlan(plan, record, timing, spent["build_ms"] - serialize_ms, serialize_ms)

    def _build_once(self, parsed, workspace):
        library, logger = self.library, self.logger
        seen = len(logger.messages)
        calibrator = self.make_calibrator() if self.make_calibrator is not None else None
        config = parsed.builder.create_builder_config()
        library.set_workspace(config, workspace)
        library.set_precision(config, self.settings.precision)
        profile = _dynamic_profile(parsed.builder, parsed.network, self.settings.shapes)
        if profile is not None:
            config.add_optimization_profile(profile)
        if calibrator is not None:
            config.int8_calibrator = calibrator
            if profile is not None:
                config.set_calibration_profile(_calibration_profile(parsed.builder, parsed.network,
                                                                    calibrator))
        timing_cache = library.use_timing_cache(config, self.timing_cache_bytes)
        plan, raised, serialize_ms = None, None, 0.0
        try:
            plan, serialize_ms = library.build_plan(parsed.builder, parsed.network, config)
        except Exception as exc:  # TensorRT raises RuntimeError/pybind11 errors with its text
            raised = "{}: {}".format(type(exc).__name__, exc)
        if plan is None:
            text = "; ".join(([raised] if raised else []) + logger.errors(seen)) \
                or "the builder returned no engine"
            error = EngineBuildError("TensorRT engine build failed (workspace {} bytes): {}".format(
                workspace, text[-800:]), text, build_text_says_oom(text))
            error.errors = ([raised] if raised else []) + logger.errors(seen)
            raise error
        cache = library.timing_cache_bytes(config) if timing_cache is not None else None
        return plan, cache, serialize_ms


def _dynamic_profile(builder, network, shapes):
    """One optimisation profile (min/opt/max) when any network input has a dynamic dimension."""
    profile = None
    for i in range(network.num_inputs):
        tensor = network.get_input(i)
        dims = list(tensor.shape)
        if not any(d < 0 for d in dims):
            continue
        if tensor.name not in shapes:
            raise EngineBuildError("network input {!r} is dynamic but the manifest gives no shape "
                                   "for it (inputs: {})".format(tensor.name, ", ".join(shapes)))
        if profile is None:
            profile = builder.create_optimization_profile()
        spec = shapes[tensor.name]
        profile.set_shape(tensor.name, spec["min"], spec["opt"], spec["max"])
    return profile


def _calibration_profile(builder, network, calibrator):
    profile = builder.create_optimization_profile()
    for i in range(network.num_inputs):
        tensor = network.get_input(i)
        shape = [calibrator.get_batch_size()] + list(calibrator.sample_shape)
        profile.set_shape(tensor.name, shape, shape, shape)
    return profile


class EngineFromBytes(object):
    """An ICudaEngine deserialized from a plan; EngineLoadError with TensorRT's words if not."""

    def __init__(self, runtime, logger):
        self.runtime = runtime
        self.logger = logger

    def __call__(self, plan):
        seen = len(self.logger.messages)
        try:
            engine = self.runtime.deserialize_cuda_engine(plan)
        except Exception as exc:
            raise EngineLoadError("{}: {}".format(type(exc).__name__, exc))
        if engine is None:
            raise EngineLoadError("; ".join(self.logger.errors(seen))
                                  or "deserialize_cuda_engine returned None")
        return engine


class ContextFromEngine(object):
    """An execution context (TensorRT-RTX compiles its kernels here, just in time)."""

    def __init__(self, library, logger):
        self.library = library
        self.logger = logger

    def __call__(self, engine):
        seen = len(self.logger.messages)
        try:
            context = self.library.create_context(engine)
        except Exception as exc:
            raise EngineLoadError("TensorRT could not create an execution context: {}: {}".format(
                type(exc).__name__, exc))
        if context is None:
            raise EngineLoadError("TensorRT could not create an execution context: "
                                  + ("; ".join(self.logger.errors(seen)[-3:]) or "it returned None"))
        return context
