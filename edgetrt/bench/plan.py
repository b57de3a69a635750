"""Which runs to make: backends × precisions × batches, checked against what the device can do."""

from __future__ import annotations

from dataclasses import dataclass

from edgetrt.config.devices import DeviceSpec
from edgetrt.errors import UsageError

BACKENDS = ("tf", "tftrt", "onnxruntime", "tensorrt")
PRECISIONS = ("fp32", "fp16", "int8")

# Which artifact formats each (backend, precision) needs from the host.
_FORMATS = {
    ("tf", "fp32"): ("savedmodel",),
    ("onnxruntime", "fp32"): ("onnx",),
    ("onnxruntime", "fp16"): ("onnx",),
    ("onnxruntime", "int8"): ("onnx", "onnx_int8"),
    ("tensorrt", "fp32"): ("onnx",),
    ("tensorrt", "fp16"): ("onnx",),
    ("tensorrt", "int8"): ("onnx", "onnx_int8"),
    ("tftrt", "fp32"): ("savedmodel", "tftrt_fp32"),
    ("tftrt", "fp16"): ("savedmodel", "tftrt_fp16"),
    ("tftrt", "int8"): ("savedmodel", "tftrt_int8"),
}


@dataclass(frozen=True)
class RunSpec:
    backend: str
    precision: str
    batch: int

    def to_agent(self) -> dict:
        return {"backend": self.backend, "precision": self.precision, "batch": self.batch}


def parse_list(value: str | None, allowed, what: str) -> list[str]:
    if not value:
        return []
    items = [v.strip().lower() for v in value.split(",") if v.strip()]
    for item in items:
        if item not in allowed:
            raise UsageError(f"unknown {what} {item!r}; choose from {', '.join(allowed)}")
    return list(dict.fromkeys(items))


def parse_batches(value: str | None) -> list[int]:
    if not value:
        return [1]
    try:
        batches = [int(v) for v in value.split(",") if v.strip()]
    except ValueError as exc:
        raise UsageError(f"--batch {value!r}: give whole numbers like 1,8") from exc
    if not batches or any(b < 1 or b > 4096 for b in batches):
        raise UsageError(f"--batch {value!r}: each batch must be within 1..4096")
    return list(dict.fromkeys(batches))


def default_backends(device: DeviceSpec) -> list[str]:
    """A device with an NVIDIA GPU gets TensorRT; the host (and CPU-only devices) TF and ONNX Runtime."""
    if device.facts.get("compute_capability") or device.profile == "x86-gpu":
        return ["tensorrt"]
    return ["tf", "onnxruntime"]


def default_precisions(device: DeviceSpec) -> list[str]:
    """FP16 where the GPU has fast FP16 (every Jetson), FP32 otherwise."""
    if device.facts.get("compute_capability") and device.facts.get("fast_fp16"):
        return ["fp16"]
    return ["fp32"]


def check_precision(device: DeviceSpec, precision: str, force_int8: bool) -> str | None:
    """Refuse INT8 where the GPU has no fast INT8 (unless forced); return a warning or None."""
    facts = device.facts
    if precision == "int8" and facts.get("fast_int8") is False and not force_int8:
        cc = facts.get("compute_capability")
        raise UsageError(
            f"{facts.get('board', device.profile)} (sm_{(cc or '?').replace('.', '')}) has no fast INT8: "
            "INT8 would run slower than FP16 there",
            hint="use --precision fp16 (fast on this GPU), or --force-int8 to measure it anyway")
    if precision == "fp16" and facts.get("fast_fp16") is False and device.profile != "local":
        return f"{facts.get('board', device.profile)} has no fast FP16: expect FP16 to be no faster than FP32"
    return None


def plan_runs(device: DeviceSpec, backends: list[str], precisions: list[str], batches: list[int],
              force_int8: bool = False) -> tuple[list[RunSpec], list[str], tuple[str, ...]]:
    """Return (runs, warnings, artifact formats needed)."""
    warnings: list[str] = []
    runs: list[RunSpec] = []
    formats: list[str] = []
    for precision in precisions:
        warning = check_precision(device, precision, force_int8)
        if warning and warning not in warnings:
            warnings.append(warning)
    for backend in backends:
        for precision in precisions:
            if backend == "tf" and precision != "fp32":
                # Native TensorFlow has one precision; fp16/int8 in TensorFlow is the tftrt backend.
                continue
            for batch in batches:
                runs.append(RunSpec(backend, precision, batch))
            formats.extend(_FORMATS.get((backend, precision), ()))
    if not runs:
        raise UsageError("nothing to run: the tf backend measures fp32 only; add --precision fp32, "
                         "or use tftrt / onnxruntime / tensorrt for fp16 and int8")
    return runs, warnings, tuple(dict.fromkeys(formats))
