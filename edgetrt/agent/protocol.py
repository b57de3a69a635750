"""The agent protocol: what the host sends (a job of run specs) and what the agent answers.

This module is the one definition of the protocol. The agent writes by it; one host module
(``edgetrt.device.agent_client``) reads by it and validates every answer against it. Standard
library only and Python 3.6, like the rest of the agent.

Every agent command prints exactly one JSON document on stdout::

    {"protocol": PROTOCOL_VERSION, "kind": "probe"|"run"|"version", ...}

``run`` answers ``{"runs": [RESULT, ...], "python", "agent"}``; ``probe`` answers
``{"facts": {...}}``; ``version`` answers ``{"python", "agent", "entry"}``.
"""

PROTOCOL_VERSION = 2

#: How a run ended, best first. ``ok`` is the only status that carries measurements.
STATUSES = ("ok", "oom", "killed", "timeout", "crashed", "incompatible", "error")
FAILED_STATUSES = STATUSES[1:]
#: Made by the host only (run/execute.py), never by an agent: a cell the memory preflight kept
#: from running because it would not fit (``--force`` runs it anyway).
SKIPPED = "skipped"

BACKENDS = ("tf", "tftrt", "onnxruntime", "tensorrt")
PRECISIONS = ("fp32", "fp16", "int8")

# Which artifact form a cell runs, by (backend, precision). For TensorRT the precision is a
# builder flag up to TensorRT 10; TensorRT 11 and TensorRT-RTX are strongly typed, so the model
# itself carries it (an FP16 ONNX, a Q/DQ ONNX) and the key gains "strongly_typed".
_FORMATS = {
    ("tf", "fp32"): "savedmodel",
    ("tftrt", "fp32"): "tftrt_fp32",
    ("tftrt", "fp16"): "tftrt_fp16",
    ("tftrt", "int8"): "tftrt_int8",
    ("onnxruntime", "fp32"): "onnx",
    ("onnxruntime", "fp16"): "onnx",        # precision set on ONNX Runtime's TensorRT provider
    ("onnxruntime", "int8"): "onnx_int8",   # Q/DQ made on the host
    ("tensorrt", "fp32"): "onnx",
    ("tensorrt", "fp16"): "onnx",           # BuilderFlag.FP16
    ("tensorrt", "int8"): "onnx_int8",      # explicit (Q/DQ) INT8; calibration of "onnx" as fallback
    ("tensorrt", "fp16", "strongly_typed"): "onnx_fp16",
    ("tensorrt", "int8", "strongly_typed"): "onnx_int8",
}


def artifact_format(backend, precision, strongly_typed=False):
    """The artifact format a (backend, precision) cell runs, or None when there is no such cell
    (native TensorFlow measures fp32 only)."""
    if strongly_typed:
        fmt = _FORMATS.get((backend, precision, "strongly_typed"))
        if fmt is not None:
            return fmt
    return _FORMATS.get((backend, precision))


# What a run spec may hold: key -> (types, required). Sent by the host, read by the measuring child.
SPEC_FIELDS = {
    "backend": ((str,), True),
    "precision": ((str,), True),
    "batch": ((int,), True),
    "artifact_dir": ((str,), False),
    "warmup_ms": ((int, float), False),
    "min_iterations": ((int,), False),
    "min_seconds": ((int, float), False),
    "max_seconds": ((int, float, type(None)), False),
    "images_npy": ((str, type(None)), False),
    "seed": ((int,), False),
    "topk": ((int,), False),
    "timeout_s": ((int, float), False),
    "memory_limit_mb": ((int, type(None)), False),
    "options": ((dict,), False),
    "no_transfers": ((bool,), False),       # trtexec's --noDataTransfers (tensorrt)
    "rigorous": ((bool,), False),           # measure.RIGOROUS: steady-temperature warm-up, >= 1024 / 60 s
    "warmup_cap_s": ((int, float), False),  # --rigorous: the longest warm-up
    "lock_clocks": ((bool,), False),        # power/lock.py: jetson_clocks for the run, restored after
    "power_mode": ((int, type(None)), False),  # power/lock.py: nvpmodel -m N for the run, restored after
}

# What a spec's "rigorous" asks of the agent: MLPerf's first SingleStream rule (v0.5
# mlperf.conf: min_query_count 1024, min_duration 60 s) after a warm-up to a steady temperature
# (power/warmup.py), clocks locked where jetson_clocks exists (power/lock.py), p90 reported with
# its distribution-free confidence interval (stats.percentile_interval).
RIGOROUS = {"min_iterations": 1024, "min_seconds": 60.0, "warmup_cap_s": 600.0, "p90_confidence": 0.95}

# What one run result holds: key -> types. The host refuses other types for these keys; keys
# not listed here are dropped by the host's reader.
RESULT_FIELDS = {
    "backend": (str,),
    "precision": (str,),
    "batch": (int,),
    "status": (str,),
    "message": (str,),
    "first_run_ms": (int, float, type(None)),
    "load_ms": (int, float, type(None)),
    "first_inference_ms": (int, float, type(None)),
    "cold_start": (dict, type(None)),        # named phases in ms (parse, build, ... first_inference)
    "steady": (dict, type(None)),
    "peak_memory_mb": (int, float, type(None)),
    "harness_overhead_us": (int, float, type(None)),
    "wall_s": (int, float, type(None)),
    "facts": (dict, type(None)),
    "predictions": (list, type(None)),
    "profile": (dict, type(None)),
    "tegrastats": (dict, type(None)),
    "exit": (dict, type(None)),
    "stderr_tail": (list, type(None)),
    "retried_after": (dict, type(None)),
    "device_lock": (dict, type(None)),       # how long this run queued behind another job's runs
    "timed_window": (dict, type(None)),      # wall-clock start/end of the timed phase (measure.py)
    "power": (dict, type(None)),             # power and thermal context (power/context.py, lock.py)
    "throttled": (bool, type(None)),         # power/context.py's verdict; None: not measured
    "power_mean_w": (int, float, type(None)),       # mean input power over the timed phase
    "energy_mj": (int, float, type(None)),          # per inference (one call of the batch)
    "temperature_peak_c": (int, float, type(None)),  # hottest real sensor during the run
}

#: Keys every host-side run carries, in this order (report columns).
RESULT_KEYS_SHOWN = ("backend", "precision", "batch", "status", "first_run_ms", "steady",
                     "peak_memory_mb", "message")


def failed_result(spec, status, message):
    """The result of a run that produced no measurement: its identity, its status, no figures.

    The one place such a result is made, on the device (a child that raised, a child that died)
    and on the host (a cell whose conversion or device failed)."""
    if status not in FAILED_STATUSES and status != SKIPPED:
        raise ValueError("not a failure status: {!r}".format(status))
    return {
        "backend": spec.get("backend"),
        "precision": spec.get("precision") or "fp32",
        "batch": int(spec.get("batch") or 1),
        "status": status,
        "first_run_ms": None,
        "load_ms": None,
        "steady": None,
        "peak_memory_mb": None,
        "message": message,
    }
