"""Build a TensorRT engine from ONNX with the Python API, TensorRT 7.x to 10.x.

The ``tensorrt`` module is passed in (``trt``), never imported here, so this module imports only
the standard library. Version differences are handled by asking the module what it has:

- network: EXPLICIT_BATCH flag before TensorRT 10 (it is the default, and deprecated, from 10);
- workspace: ``config.set_memory_pool_limit(MemoryPoolType.WORKSPACE, n)`` where it exists (8.4+),
  ``config.max_workspace_size`` before (gone in 10);
- build: ``builder.build_serialized_network`` where it exists (8.0+), ``builder.build_engine`` +
  ``engine.serialize()`` before (gone in 10);
- timing cache: ``config.create_timing_cache`` / ``set_timing_cache`` from 8.0; none in 7.

An engine build that fails for lack of memory is retried once with half the workspace; the
TensorRT logger's messages are captured so the error that reaches the report is TensorRT's own.
"""

import re

from ... import outcome

DEFAULT_WORKSPACE_BYTES = 256 << 20  # a Jetson Nano shares 4 GB between CPU and GPU

# Real build-time OOM wordings beyond outcome's patterns (tests/fixtures/errors B67, TRT 8 logs).
_BUILD_OOM = [re.compile(p, re.IGNORECASE) for p in (
    r"allocation failed",
    r"could not be allocated",
    r"Cuda Error in allocate",
)]


class EngineBuildError(Exception):
    """TensorRT could not build (or parse, or load) an engine; the message carries its words."""


def version_tuple(version):
    parts = []
    for piece in str(version).split("."):
        digits = re.match(r"\d+", piece)
        if not digits:
            break
        parts.append(int(digits.group(0)))
    return tuple(parts)


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

        def errors(self):
            return [m for s, m in self.messages if s in ("ERROR", "INTERNAL_ERROR")]

        def text(self):
            return "\n".join("[{}] {}".format(s, m) for s, m in self.messages)

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


def check_platform(builder, precision, force_int8):
    """Refuse INT8 without fast INT8 (unless forced); return warnings (facts) as strings."""
    warnings = []
    if precision == "int8":
        fast = getattr(builder, "platform_has_fast_int8", None)
        if fast is False and not force_int8:
            from ..base import UnsupportedPrecision

            raise UnsupportedPrecision(
                "this GPU has no fast INT8 (builder.platform_has_fast_int8 is False): INT8 would "
                "run slower than FP16 here; measure fp16, or pass options force_int8 to measure "
                "it anyway")
        if fast is False:
            warnings.append("int8 forced on a GPU without fast INT8 (platform_has_fast_int8 False)")
    if precision == "fp16" and getattr(builder, "platform_has_fast_fp16", None) is False:
        warnings.append("fp16 requested but platform_has_fast_fp16 is False: expect no speed-up")
    return warnings


def parse_onnx(trt, builder, logger, onnx_path):
    """Network definition from an ONNX file; raises EngineBuildError with the parser's errors."""
    if version_tuple(trt.__version__)[:1] >= (10,):
        flags = 0  # explicit batch is the only mode; the flag is deprecated
    else:
        flags = 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    with open(onnx_path, "rb") as fh:
        ok = parser.parse(fh.read())
    if not ok:
        errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
        raise EngineBuildError("TensorRT could not parse {}: {}".format(
            onnx_path, "; ".join(errors) or "; ".join(logger.errors()) or "no parser error given"))
    # The parser must outlive the network it filled (it owns the weights in TRT 7/8).
    return network, parser


def _configure(trt, builder, network, settings, workspace_bytes, calibrator, timing_cache_bytes):
    config = builder.create_builder_config()
    if hasattr(config, "set_memory_pool_limit") and hasattr(trt, "MemoryPoolType"):
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace_bytes)
    else:
        config.max_workspace_size = workspace_bytes
    if settings.precision == "fp16":
        config.set_flag(trt.BuilderFlag.FP16)
    elif settings.precision == "int8":
        config.set_flag(trt.BuilderFlag.INT8)
    profile = _dynamic_profile(builder, network, settings.shapes)
    if profile is not None:
        config.add_optimization_profile(profile)
    if calibrator is not None:
        config.int8_calibrator = calibrator
        if profile is not None and hasattr(config, "set_calibration_profile"):
            config.set_calibration_profile(_calibration_profile(builder, network, calibrator))
    timing_cache = None
    if hasattr(config, "create_timing_cache"):
        timing_cache = config.create_timing_cache(timing_cache_bytes or b"")
        if not config.set_timing_cache(timing_cache, False) and timing_cache_bytes:
            # A cache from another build of TensorRT is refused; start an empty one.
            timing_cache = config.create_timing_cache(b"")
            config.set_timing_cache(timing_cache, False)
    return config, timing_cache


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


def _build_once(trt, builder, network, config):
    """Serialized engine (IHostMemory or bytes) or None, the way this TensorRT builds."""
    if hasattr(builder, "build_serialized_network"):
        return builder.build_serialized_network(network, config)
    engine = builder.build_engine(network, config)  # TensorRT 7
    if engine is None:
        return None
    return engine.serialize()


def build_serialized(trt, builder, network, logger, settings, make_calibrator=None,
                     timing_cache_bytes=None, on_attempt=None):
    """Build; on an out-of-memory failure retry once with half the workspace.

    Returns ``(plan, info)``: plan is the serialized engine, info records the attempts
    (``workspace_bytes`` actually used, ``oom_retries``) and ``timing_cache`` (bytes or None).
    ``on_attempt(workspace_bytes)`` is called before each attempt (the runner writes the phase).
    Raises EngineBuildError carrying TensorRT's error text.
    """
    workspace = settings.workspace_bytes
    attempts = []
    while True:
        if on_attempt is not None:
            on_attempt(workspace)
        seen = len(logger.messages)
        calibrator = make_calibrator() if make_calibrator is not None else None
        config, timing_cache = _configure(trt, builder, network, settings, workspace, calibrator,
                                          timing_cache_bytes)
        plan, raised = None, None
        try:
            plan = _build_once(trt, builder, network, config)
        except Exception as exc:  # TensorRT raises RuntimeError/pybind11 errors with its text
            raised = "{}: {}".format(type(exc).__name__, exc)
        if plan is not None:
            info = {"workspace_bytes": workspace, "oom_retries": len(attempts),
                    "requested_workspace_bytes": settings.workspace_bytes}
            if attempts:
                info["failed_attempts"] = attempts
            cache = None
            if timing_cache is not None:
                cache = bytes(memoryview(config.get_timing_cache().serialize()))
            return plan, dict(info, timing_cache=cache)
        errors = [m for s, m in logger.messages[seen:] if s in ("ERROR", "INTERNAL_ERROR")]
        text = "; ".join(([raised] if raised else []) + errors) or "the builder returned no engine"
        attempts.append({"workspace_bytes": workspace, "error": text[-800:]})
        oom = build_text_says_oom(text)
        if oom and len(attempts) == 1 and workspace > 1:
            workspace //= 2
            continue
        if oom:
            raise EngineBuildError(
                "TensorRT engine build ran out of memory with workspace {} and {} bytes: {}".format(
                    attempts[0]["workspace_bytes"], workspace, text[-800:]))
        raise EngineBuildError("TensorRT engine build failed (workspace {} bytes): {}".format(
            workspace, text[-800:]))


def deserialize(runtime, plan, logger):
    """ICudaEngine, or (None, reason) when the plan is corrupt or from another TensorRT/GPU."""
    seen = len(logger.messages)
    try:
        engine = runtime.deserialize_cuda_engine(plan)
    except Exception as exc:
        return None, "{}: {}".format(type(exc).__name__, exc)
    if engine is None:
        errors = [m for s, m in logger.messages[seen:] if s in ("ERROR", "INTERNAL_ERROR")]
        return None, "; ".join(errors) or "deserialize_cuda_engine returned None"
    return engine, None


def parse_build_phase(phase):
    """``"build workspace_bytes=N"`` -> N; None for any other phase text."""
    parts = (phase or "").split()
    if not parts or parts[0] != "build":
        return None
    for part in parts[1:]:
        if part.startswith("workspace_bytes="):
            try:
                return int(part.split("=", 1)[1])
            except ValueError:
                return None
    return None


def retry_spec_after_killed_build(spec, result):
    """The spec to run again when a tensorrt child was killed while building, else None.

    A build the kernel kills (SIGKILL from the OOM killer, or an abort on a failed allocation)
    cannot retry in its own process; the supervisor runs it once more with half the workspace
    the phase file says was being tried.
    """
    if spec.get("backend") != "tensorrt" or result.get("status") not in ("killed", "oom"):
        return None
    exit_info = result.get("exit") or {}
    returncode = exit_info.get("returncode")
    if returncode is None or returncode >= 0:
        return None  # the child wrote its own result (it already retried in-process)
    options = dict(spec.get("options") or {})
    if options.get("killed_build_retry"):
        return None
    attempted = parse_build_phase(exit_info.get("phase"))
    if not attempted or attempted < 2:
        return None
    options["workspace_bytes"] = attempted // 2
    options["killed_build_retry"] = {"after": result.get("status"), "workspace_bytes": attempted}
    retry = dict(spec)
    retry["options"] = options
    return retry
