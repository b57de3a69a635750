"""What to run: models × devices × backends × precisions × batches, checked before any work.

A :class:`Plan` is built from the command line (or a script) in one place for `deploy` and
`bench`. Every model name and device name is resolved here, so a typo fails in a second, not
after a conversion; cells the device cannot run (INT8 without fast INT8) are refused or warned
about here; backends that cannot take a model (native TensorFlow and an ONNX file) are left out
with one note.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from edgetrt.agent.protocol import BACKENDS, PRECISIONS, artifact_format
from edgetrt.config.devices import DeviceSpec
from edgetrt.convert.sources import ModelOptions
from edgetrt.errors import UsageError


@dataclass(frozen=True)
class MeasureOptions:
    """How each cell is measured on the device (the agent's method, recorded in every report)."""

    warmup_ms: float = 200.0
    min_iterations: int = 10
    min_seconds: float = 3.0
    timeout_s: float = 600.0
    memory_limit_mb: int | None = None
    #: jetson_clocks for each run, restored after (agent/power/lock.py)
    lock_clocks: bool = False
    #: nvpmodel -m N for each run, restored after
    power_mode: int | None = None
    #: TensorRT: time without host<->device copies (trtexec's --noDataTransfers)
    no_transfers: bool = False
    #: agent measure.RIGOROUS: steady-temperature warm-up, >= 1024 queries and 60 s, locked clocks
    rigorous: bool = False
    #: TensorRT builder workspace; None: 256 MiB, or on boards of 4 GB or less what the memory
    #: preflight leaves free (run/preflight.py)
    workspace_mb: int | None = None
    extra: dict = field(default_factory=dict)

    def agent_settings(self) -> dict:
        settings = {"warmup_ms": self.warmup_ms, "min_iterations": self.min_iterations,
                    "min_seconds": self.min_seconds, **self.extra}
        for key, value in (("lock_clocks", self.lock_clocks), ("no_transfers", self.no_transfers),
                           ("rigorous", self.rigorous)):
            if value:
                settings[key] = True
        if self.power_mode is not None:
            settings["power_mode"] = int(self.power_mode)
        return settings

    def report_settings(self) -> dict:
        return {"warmup_ms": self.warmup_ms, "min_iterations": self.min_iterations,
                "min_seconds": self.min_seconds, "timeout_s": self.timeout_s,
                "memory_limit_mb": self.memory_limit_mb, "lock_clocks": self.lock_clocks,
                "power_mode": self.power_mode, "no_transfers": self.no_transfers, "rigorous": self.rigorous,
                "workspace_mb": self.workspace_mb,
                "percentiles": "linear interpolation between closest ranks (numpy default)",
                "rules": measurement_rules(self.rigorous)}


def measurement_rules(rigorous: bool) -> dict:
    """Which rule each figure follows (the README's "How measurements are made" says the same)."""
    from edgetrt.agent.protocol import RIGOROUS

    if rigorous:
        latency = (f"--rigorous (MLPerf SingleStream, v0.5 rules): warm-up until the temperature changes less "
                   f"than 1 C/min (cap {RIGOROUS['warmup_cap_s']:.0f} s), then >= {RIGOROUS['min_iterations']} "
                   f"queries and >= {RIGOROUS['min_seconds']:.0f} s with clocks locked; p90 with its "
                   f"{RIGOROUS['p90_confidence'] * 100:.0f} % distribution-free interval")
    else:
        latency = "trtexec's defaults: warm-up 200 ms, then >= 10 iterations and >= 3 s"
    return {"latency": latency,
            "breakdown": "trtexec's: H2D, GPU compute (CUDA events), D2H and enqueue time per query",
            "throttled": "nvbench's: GPU clock below 75 % of its maximum in more than 5 % of the busy timed "
                         "samples, or a sensor at its passive trip point",
            "power": "tegrastats' input rail, mean over the timed phase; energy per inference = mean power / "
                     "inferences per second"}


@dataclass(frozen=True)
class Cell:
    """One measurement: a model on a device with one backend, precision and batch."""

    model: str
    backend: str
    precision: str
    batch: int

    @property
    def label(self) -> str:
        return f"{self.backend} {self.precision} b{self.batch}"


@dataclass(frozen=True)
class DevicePlan:
    device: DeviceSpec
    backends: tuple[str, ...]
    precisions: tuple[str, ...]
    batches: tuple[int, ...]
    warnings: tuple[str, ...] = ()

    def cells(self, model: str, source_kind: str) -> list[Cell]:
        """The cells of one model here; native TensorFlow measures fp32 of TensorFlow models only."""
        cells = []
        for backend in self.backends:
            if backend in ("tf", "tftrt") and source_kind == "onnx":
                continue
            for precision in self.precisions:
                if backend == "tf" and precision != "fp32":
                    continue
                cells.extend(Cell(model, backend, precision, b) for b in self.batches)
        return cells


@dataclass(frozen=True)
class Plan:
    models: tuple[ModelOptions, ...]
    devices: tuple[DevicePlan, ...]
    #: model string -> source kind ("zoo", "onnx", ...): resolved up front
    sources: dict
    measure: MeasureOptions = MeasureOptions()
    force_int8: bool = False
    profile: bool = False
    #: measure accuracy agreement on real images (bench)
    agreement: bool = False
    images: Path | None = None
    notes: tuple[str, ...] = ()
    #: engines built once per kind of board and passed on to the others (run/sharing.py)
    share_engines: bool = True
    #: run cells the memory preflight says will not fit
    force_fit: bool = False


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
            f"{facts.get('board') or device.profile} (sm_{(cc or '?').replace('.', '')}) has no fast INT8: "
            "INT8 would run slower than FP16 there",
            hint="use --precision fp16 (fast on this GPU), or --force-int8 to measure it anyway")
    if precision == "fp16" and facts.get("fast_fp16") is False and device.profile != "local":
        return f"{facts.get('board') or device.profile} has no fast FP16: expect FP16 to be no faster than FP32"
    return None


def plan_device(device: DeviceSpec, backends: str | None, precisions: str | None, batches: str | None,
                force_int8: bool) -> DevicePlan:
    backend_list = parse_list(backends, BACKENDS, "backend") or default_backends(device)
    precision_list = parse_list(precisions, PRECISIONS, "precision") or default_precisions(device)
    warnings = []
    for precision in precision_list:
        warning = check_precision(device, precision, force_int8)
        if warning and warning not in warnings:
            warnings.append(warning)
    if backend_list == ["tf"] and "fp32" not in precision_list:
        raise UsageError("nothing to run: the tf backend measures fp32 only; add --precision fp32, "
                         "or use tftrt / onnxruntime / tensorrt for fp16 and int8")
    return DevicePlan(device, tuple(backend_list), tuple(precision_list), tuple(parse_batches(batches)),
                      tuple(warnings))


def make_plan(models: list[ModelOptions], devices: list[DeviceSpec], *, backends: str | None = None,
              precisions: str | None = None, batches: str | None = None, force_int8: bool = False,
              measure: MeasureOptions = MeasureOptions(), profile: bool = False, agreement: bool = False,
              images: Path | None = None, share_engines: bool = True, force_fit: bool = False) -> Plan:
    """Check every name and flag, and say what will run where. Nothing is converted or connected."""
    if not models:
        raise UsageError("no model given")
    devices = tuple(plan_device(device, backends, precisions, batches, force_int8) for device in devices)
    sources = {opts.model: opts.resolve().kind for opts in models}
    notes = []
    for opts in models:
        for dp in devices:
            if sources[opts.model] == "onnx" and set(dp.backends) & {"tf", "tftrt"}:
                note = f"{opts.model}: an ONNX file runs on onnxruntime and tensorrt only; tf/tftrt left out"
                if note not in notes:
                    notes.append(note)
            if not dp.cells(opts.model, sources[opts.model]):
                raise UsageError(f"nothing to run for {opts.model} on {dp.device.name} with backends "
                                 f"{', '.join(dp.backends)}")
    return Plan(tuple(models), devices, sources, measure, force_int8, profile, agreement, images, tuple(notes),
                share_engines, force_fit)


def strongly_typed(probe: dict | None) -> bool:
    """True when the device's TensorRT takes precision from the model (TensorRT 11+, TensorRT-RTX),
    by the agent's own table of TensorRT generations."""
    from edgetrt.agent.backends.tensorrt.library import UnsupportedTensorRT, generation_for

    facts = (probe or {}).get("facts") or {}
    bindings = (facts.get("tensorrt_bindings") or {}).get("value") or {}
    flavour = bindings.get("flavour") or "tensorrt"
    version = bindings.get("version") or (facts.get("tensorrt") or {}).get("value")
    if not version:
        return False
    try:
        return generation_for(flavour, version).strongly_typed
    except UnsupportedTensorRT:
        return False


def formats_for(cells: list[Cell], strongly: bool) -> tuple[str, ...]:
    """The artifact formats these cells run (the converter adds what they are made from)."""
    formats = []
    for cell in cells:
        fmt = artifact_format(cell.backend, cell.precision, strongly_typed=strongly and cell.backend == "tensorrt")
        if fmt:
            formats.append(fmt)
    return tuple(dict.fromkeys(formats))
