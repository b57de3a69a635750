"""Memory preflight: will a cell's engine build and its run fit in the device's memory?

Per cell (backend, precision, batch) the estimate takes, in MiB:

- the model's weights at the cell's precision and its activations at the batch
  (preflight_graph.py: ONNX shape inference and a liveness walk over the graph);
- the builder workspace (TensorRT), which the builder may fill with tactic scratch;
- the runtime's own overheads per JetPack family (CUDA context, cuBLAS, cuDNN, the builder's
  kernel library) or for ONNX Runtime on the host — ``edgetrt/data/memory_overheads.json``, each
  figure with its source (real Nano logs in tests/fixtures where there are some);

and sets the peak against the memory available: the probe's MemAvailable (swap left out: on a
Jetson the GPU shares the DRAM and its allocations cannot be swapped), or, unprobed, the
profile's total less an assumed reserve for L4T, said so. Verdict: ``fits`` under 80 % of it,
``tight`` under 100 %, ``will not fit`` above, with the cure that makes it fit where one does (a
smaller workspace — what cures Nano "Killed" builds — FP16, a smaller batch).

A peak is the runtime's overheads plus the larger of two phases (``parts`` names every term),
the phases the real Nano log B58 shows one after the other (plan read into host memory, engine
deserialized, plan freed, execution context created):

    TensorRT build = CUDA context + cuBLAS + cuDNN + builder library + Python
                     + max(parse: 2 x weights fp32 (the ONNX protobuf and the parser's copy),
                           build: weights fp32 + 2 x engine (built, serialized) + workspace + activations)
    TensorRT run   = CUDA context + cuBLAS + cuDNN + Python + engine + 2 x I/O
                     + max(deserialize: the plan's bytes, execute: activations)
    ONNX Runtime   = runtime + weight copies x weights + activation factor x (activations + 2 x I/O)

engine = weights at the precision (fp32 4, fp16 2, int8 1 byte per parameter) + 2 MiB;
activations at fp32 4, fp16 2, int8 2 bytes per element (INT8 engines keep FP16 layers around
the INT8 ones). ONNX Runtime's figures are read from the graph it runs, with its own dtypes.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from edgetrt.errors import UsageError
from edgetrt.run.preflight_graph import GraphFacts, read_graph  # noqa: F401  (the estimate's input)

MB = float(1 << 20)
DATA = Path(__file__).resolve().parents[1] / "data" / "memory_overheads.json"
BYTES_PER_WEIGHT = {"fp32": 4, "fp16": 2, "int8": 1}
BYTES_PER_ACTIVATION = {"fp32": 4, "fp16": 2, "int8": 2}
DEFAULT_WORKSPACE_MB = 256          # the agent's default (backends/tensorrt/build.py)
WORKSPACE_STEP_MB = 16
SMALL_BOARD_MB = 4096               # boards of 4 GB or less: the workspace defaults to what is free
ENGINE_EXTRA_MB = 2.0
VERDICTS = ("fits", "tight", "will not fit", "unknown")


def overheads() -> dict:
    with open(DATA, encoding="utf-8") as fh:
        return json.load(fh)


# ---- the device ---------------------------------------------------------------------------------

def family_for(l4t: str | None, table: dict | None = None) -> str | None:
    """The JetPack family key (jetpack4/5/6) of an L4T release, or None (not a Jetson, unknown)."""
    table = table or overheads()
    try:
        major = int(str(l4t).split(".")[0]) if l4t else None
    except ValueError:
        return None
    for key, row in table["tensorrt"].items():
        if major is not None and row["l4t_major"] == major:
            return key
    return None


def available_memory(device, probe: dict | None = None, table: dict | None = None) -> tuple[float | None, str]:
    """(MiB the cell may use, where that figure comes from)."""
    table = table or overheads()
    fact = ((probe or {}).get("facts") or {}).get("mem_available_mb") or {}
    if fact.get("value"):
        return float(fact["value"]), f"probe: MemAvailable ({fact.get('source') or '/proc/meminfo'}), swap not counted"
    total = device.facts.get("memory_mb")
    if total:
        reserve = round(table["os_reserve"]["fraction"] * total)
        return float(total - reserve), (f"not probed: the profile's {total} MB less {reserve} MB assumed for "
                                        "L4T and its desktop (--probe reads the device's own figure)")
    return None, "no memory figure: the device was not probed and its profile names no memory size"


# ---- the estimate -------------------------------------------------------------------------------

@dataclass(frozen=True)
class CellEstimate:
    backend: str
    precision: str
    batch: int
    build_mb: float | None
    run_mb: float
    available_mb: float | None
    verdict: str
    advice: str = ""
    available_from: str = ""
    workspace_mb: float | None = None
    parts: dict = field(default_factory=dict)
    notes: tuple = ()

    @property
    def peak_mb(self) -> float:
        return max(self.build_mb or 0.0, self.run_mb)

    def to_dict(self) -> dict:
        doc = asdict(self)
        doc["notes"] = list(self.notes)
        for key in ("build_mb", "run_mb", "available_mb", "workspace_mb"):
            if doc[key] is not None:
                doc[key] = round(doc[key])
        doc["parts"] = {phase: {k: round(v, 1) for k, v in terms.items()} for phase, terms in self.parts.items()}
        return doc


def verdict_for(peak_mb: float, available_mb: float | None, fits_below: float = 0.8) -> str:
    if available_mb is None or available_mb <= 0:
        return "unknown"
    if peak_mb <= fits_below * available_mb:
        return "fits"
    return "tight" if peak_mb <= available_mb else "will not fit"


def tensorrt_peaks(graph: GraphFacts, precision: str, family: str, workspace_mb: float,
                   table: dict) -> tuple[float, float, dict]:
    """(build MiB, run MiB, parts by phase) of a TensorRT cell."""
    row = table["tensorrt"][family]
    weights32 = graph.params * 4 / MB
    engine = graph.params * BYTES_PER_WEIGHT[precision] / MB + ENGINE_EXTRA_MB
    activations = graph.activation_peak_elements * BYTES_PER_ACTIVATION[precision] / MB
    runtime = {"cuda_context": row["cuda_context_mb"], "cublas": row["cublas_mb"], "cudnn": row["cudnn_mb"],
               "python": row["python_runtime_mb"]}
    parts = {
        "runtime": runtime,
        "build_runtime": {"builder_library": row["builder_library_mb"]},
        "parse": {"onnx_protobuf_fp32": weights32, "parser_weights_fp32": weights32},
        "build": {"network_weights_fp32": weights32, "engine": engine, "serialized_engine": engine,
                  "workspace": float(workspace_mb), "activations": activations},
        "run": {"engine": engine, "io": 2 * graph.io_bytes / MB},
        "deserialize": {"plan_bytes": engine},
        "execute": {"activations": activations},
    }
    base = sum(runtime.values())
    build = base + row["builder_library_mb"] + max(sum(parts["parse"].values()), sum(parts["build"].values()))
    run = base + sum(parts["run"].values()) + max(engine, activations)
    return build, run, parts


def onnxruntime_run(graph: GraphFacts, table: dict) -> tuple[float, dict]:
    row = table["onnxruntime_host"]
    parts = {"run": {"runtime": row["runtime_mb"], "weights": row["weight_copies"] * graph.weight_bytes / MB,
                     "activations_and_io": row["activation_factor"] * (graph.activation_peak_bytes
                                                                       + 2 * graph.io_bytes) / MB}}
    return sum(parts["run"].values()), parts


def estimate_cell(graphs, backend: str, precision: str, batch: int, device, probe: dict | None = None,
                  workspace_mb: float | None = None, table: dict | None = None, advise_fix: bool = True) -> CellEstimate:
    """The estimate for one cell. ``graphs(fmt, batch) -> GraphFacts`` reads (and caches) the
    artifact's graph of format ``fmt``."""
    from edgetrt.agent.protocol import artifact_format

    table = table or overheads()
    available, source = available_memory(device, probe, table)
    fits_below = table["verdicts"]["fits_below"]
    notes = []
    if backend == "tensorrt":
        family = family_for(_l4t(device, probe), table)
        if family is None:
            family = "jetpack6"
            notes.append("not a Jetson release the overheads table knows: JetPack 6's figures assumed")
        graph = graphs("onnx", batch)
        if workspace_mb is None:
            workspace_mb = default_workspace_mb(graph, precision, family, available, device, table)
        build_mb, run_mb, parts = tensorrt_peaks(graph, precision, family, workspace_mb, table)
    elif backend == "onnxruntime":
        graph = graphs(artifact_format(backend, precision) or "onnx", batch)
        run_mb, parts = onnxruntime_run(graph, table)
        build_mb, workspace_mb = None, None
        if device.facts.get("l4t"):
            notes.append("ONNX Runtime's overheads were measured on an x86 host, not on a Jetson")
    else:
        raise UsageError(f"the memory preflight estimates tensorrt and onnxruntime cells, not {backend}",
                         hint="tf and tftrt load a SavedModel whose memory this estimate does not model")
    if graph.unknown_shapes:
        notes.append(f"{graph.unknown_shapes} tensors without a static shape are not counted")
    estimate = CellEstimate(backend, precision, batch, build_mb, run_mb, available,
                            verdict_for(max(build_mb or 0.0, run_mb), available, fits_below), "", source,
                            workspace_mb, parts, tuple(notes))
    if not advise_fix:
        return estimate
    return replace(estimate, advice=advise(estimate, graphs, device, probe, table))


def _fixed_build(parts: dict) -> float:
    """What the build phase needs besides the workspace."""
    return sum(v for k, v in parts["build"].items() if k != "workspace")


def workspace_that_fits(estimate: CellEstimate, table: dict) -> float | None:
    """The largest workspace (a multiple of 16 MiB) under which the build fits, or None."""
    parts, target = estimate.parts, table["verdicts"]["fits_below"] * (estimate.available_mb or 0)
    base = sum(parts["runtime"].values()) + sum(parts["build_runtime"].values())
    if base + sum(parts["parse"].values()) > target:
        return None
    steps = math.floor((target - base - _fixed_build(parts)) / WORKSPACE_STEP_MB) * WORKSPACE_STEP_MB
    return float(steps) if steps >= WORKSPACE_STEP_MB else None


def default_workspace_mb(graph: GraphFacts, precision: str, family: str, available: float | None, device,
                         table: dict) -> float:
    """On boards of 4 GB or less, what the rest of the build leaves free under the fits margin,
    16 MiB at least and never more than the agent's usual 256 MiB (a larger one is what gets
    Nano builds "Killed"); elsewhere the agent's 256 MiB."""
    total = device.facts.get("memory_mb") or 0
    if not total or total > SMALL_BOARD_MB or available is None:
        return float(DEFAULT_WORKSPACE_MB)
    _, _, parts = tensorrt_peaks(graph, precision, family, 0, table)
    probe = CellEstimate("tensorrt", precision, graph.batch, None, 0.0, available, "", parts=parts)
    fitting = workspace_that_fits(probe, table)
    return min(float(DEFAULT_WORKSPACE_MB), fitting or float(WORKSPACE_STEP_MB))


def advise(estimate: CellEstimate, graphs, device, probe, table) -> str:
    """What makes the cell fit, tried in order: a smaller workspace, FP16, a smaller batch."""
    if estimate.verdict == "fits":
        return ""
    if estimate.verdict == "unknown":
        return "probe the device (--probe) to compare with its available memory"
    tips = []
    if estimate.backend == "tensorrt":
        workspace = workspace_that_fits(estimate, table)
        target = table["verdicts"]["fits_below"] * estimate.available_mb
        if workspace is not None and workspace < estimate.workspace_mb and estimate.run_mb <= target:
            tips.append(f"--workspace-mb {workspace:.0f}: a smaller builder workspace is the known cure for Nano "
                        "'Killed' builds")
        if estimate.precision == "fp32":
            other = estimate_cell(graphs, "tensorrt", "fp16", estimate.batch, device, probe, None, table, False)
            if other.verdict in ("fits", "tight"):
                tips.append(f"--precision fp16 ({_peaks(other)}, {other.verdict}): half the bytes per weight "
                            "and activation")
    for batch in _smaller_batches(estimate.batch):
        other = estimate_cell(graphs, estimate.backend, estimate.precision, batch, device, probe, None, table, False)
        if other.verdict == "fits":
            tips.append(f"--batch {batch} ({_peaks(other)}, fits)")
            break
    if not tips and estimate.backend == "tensorrt":
        run_alone = verdict_for(estimate.run_mb, estimate.available_mb, table["verdicts"]["fits_below"])
        tips.append("nothing this preflight tries makes it fit: build the engine on a board with more memory, "
                    f"the same JetPack and the same GPU, and copy it (the run alone: {estimate.run_mb:.0f} MB, "
                    f"{run_alone}), or pick a smaller model")
    elif not tips:
        tips.append("pick a smaller model or a device with more memory")
    return "; ".join(tips)


def _peaks(estimate: CellEstimate) -> str:
    if estimate.build_mb is not None:
        return f"build {estimate.build_mb:.0f} / run {estimate.run_mb:.0f} MB"
    return f"run {estimate.run_mb:.0f} MB"


def _smaller_batches(batch: int) -> list[int]:
    out, b = [], batch // 2
    while b >= 1:
        out.append(b)
        b //= 2
    return out


def _l4t(device, probe) -> str | None:
    facts = (probe or {}).get("facts") or {}
    return (facts.get("l4t") or {}).get("value") or device.facts.get("l4t")
