"""One cell's figures as table text, the same in Markdown, CSV notes and HTML.

A cell that did not finish shows its status word instead of a number; a cell that was not run
shows ``—``; a headline figure from a profiled run says ``(profiled)``; agreement measured with
random weights is ``n/a (random weights)``. Nothing here invents a figure: a value the record
does not hold is ``—``.
"""

from __future__ import annotations

from edgetrt.bench.cells import Headline, agreement_meaningful, failed, is_profiled, steady_value
from edgetrt.bench.text import NOT_RUN, number, one_line

PROFILED = "(profiled)"
PROFILED_MEANING = ("(profiled): from a run with the profiler on (--profile); its timings can include "
                    "the profiler's cost (ONNX Runtime profiles inside the timed loop; TensorRT and "
                    "trtexec time their layers in extra inferences)")
RANDOM_WEIGHTS = "n/a (random weights)"
STATUS_MEANING = {
    "oom": "out of memory (MemoryError, CUDA/TensorRT out-of-memory text, or the kernel's OOM killer)",
    "killed": "killed by SIGKILL without an OOM-killer message",
    "timeout": "no result within the run's timeout (the seed's \"did not start\")",
    "crashed": "segmentation fault or abort inside the runtime",
    "incompatible": "engine or library version does not fit this device",
    "error": "any other failure; see the message",
    "skipped": "not run: the memory preflight estimated it would not fit (--force runs it)",
}


def show(cell: dict | None, value, render=number, mark_profiled: bool = True) -> str:
    """A timing of the cell's headline run: its status word when it failed, ``(profiled)`` after
    a figure the profiler was running for."""
    if cell is None:
        return NOT_RUN
    status = failed(cell)
    if status:
        return status
    if value is None:
        return NOT_RUN
    text = render(value)
    return f"{text} {PROFILED}" if mark_profiled and is_profiled(cell) else text


def latency_text(cell: dict | None) -> str:
    return show(cell, steady_value(cell, "latency_ms", "median"))


def fps_text(cell: dict | None) -> str:
    return show(cell, steady_value(cell, "fps", "median"))


def percentiles_text(cell: dict | None) -> str:
    """p50 / p90 / p95 / p99 of the steady state, ms (a figure the run did not give is —)."""
    if cell is None or failed(cell):
        return show(cell, None)
    return " / ".join(number(steady_value(cell, "latency_ms", k)) if steady_value(cell, "latency_ms", k)
                      is not None else NOT_RUN for k in ("median", "p90", "p95", "p99"))


def power_text(cell: dict | None) -> str:
    """Mean power · energy per inference · peak temperature · throttled, or why not measured."""
    if cell is None or failed(cell):
        return show(cell, None)
    power = cell.get("power") or {}
    if not power or power.get("source") is None:
        why = (power.get("not_measured") or {}).get("throttled")
        return "not measured" + (f" ({one_line(why)})" if why else "")
    verdict = {True: "throttled", False: "not throttled"}.get(cell.get("throttled"), "throttling not measured")
    parts = [f"{number(cell.get('power_mean_w'))} W" if cell.get("power_mean_w") is not None else "— W",
             f"{number(cell.get('energy_mj'))} mJ" if cell.get("energy_mj") is not None else "— mJ",
             f"{number(cell.get('temperature_peak_c'))} °C" if cell.get("temperature_peak_c") is not None else "— °C",
             verdict]
    return " · ".join(parts)


def first_run_text(cell: dict | None) -> str:
    text = show(cell, (cell or {}).get("first_run_ms"), mark_profiled=False)
    if cell and not failed(cell) and cell.get("build_ms") is not None:
        engine = one_line(cell["engine"]) if cell.get("engine") else None
        text += f" (build {number(cell['build_ms'])}{', ' + engine if engine else ''})"
    elif cell and not failed(cell) and cell.get("engine"):
        text += f" ({one_line(cell['engine'])} engine)"
    if cell and not failed(cell) and cell.get("first_run_ms") is not None and is_profiled(cell):
        text += f" {PROFILED}"
    return text


def memory_text(cell: dict | None) -> str:
    """Peak memory; a failed cell keeps its status word, with the peak it reached when known."""
    text = show(cell, (cell or {}).get("peak_memory_mb"), mark_profiled=False)
    if cell and failed(cell) and cell.get("peak_memory_mb") is not None:
        text += f" ({number(cell['peak_memory_mb'])})"
    return text


def agreement_text(cell: dict | None, record: dict) -> str:
    if cell is None:
        return NOT_RUN
    status = failed(cell)
    if status:
        return status
    agree = cell.get("agreement")
    if not agree:
        return NOT_RUN
    if not agreement_meaningful(cell, record):
        return RANDOM_WEIGHTS
    images = agree.get("images") or 0
    top1 = agree.get("top1")
    top1_text = f"{round(top1 * images)}/{images}" if images and top1 is not None else number(top1)
    return f"{top1_text} · {number(agree.get('top5_overlap'), 2)} · {number(agree.get('max_abs_diff'), 3)}"


# The order TensorRT starts up in (the agent's runners time these phases); a record saved as JSON
# with sorted keys still reads in this order. Phases not listed follow, by name.
COLD_START_ORDER = ("parse_ms", "build_ms", "serialize_ms", "cache_read_ms", "deserialize_ms", "context_ms",
                    "first_inference_ms", "first_run_ms")


def cold_start_text(cell: dict) -> str | None:
    """TensorRT's start-up phases: 'parse 812, build 128000, deserialize 95 ms (trtexec's figures)'."""
    cold = cell.get("cold_start") or {}
    keys = sorted((k for k in cold if k.endswith("_ms")),
                  key=lambda k: (COLD_START_ORDER.index(k) if k in COLD_START_ORDER else len(COLD_START_ORDER), k))
    parts = [f"{key[:-3].replace('_', ' ')} {number(cold[key])}" for key in keys
             if isinstance(cold[key], (int, float)) and not isinstance(cold[key], bool)]
    if not parts:
        return None
    source = cold.get("source")
    return ", ".join(parts) + " ms" + (f" ({one_line(source)}'s figures)" if source else "")


# The per-cell tables of every report: (key, title, the text of one headline run).
PER_CELL_TABLES = (
    ("latency", "Steady-state latency, median ms (lower is better)", latency_text),
    ("percentiles", "Steady-state latency ms: p50 / p90 / p95 / p99", percentiles_text),
    ("fps", "Throughput, median items/s (higher is better)", fps_text),
    ("power", "Power during the timed phase: mean board input W · energy per inference mJ · peak "
              "temperature · throttled (GPU clock < 75 % of max in > 5 % of samples, or a thermal cap)",
     power_text),
    ("first_run", "First run ms: load (and engine build) + first inference", first_run_text),
    ("memory", "Peak memory MB (resident set; a lower bound for GPU memory on Jetson)", memory_text),
)


def headline_note(headline: Headline) -> str | None:
    """Why a cell's figures come from the run they come from, when the cell has more than one."""
    if not headline.others:
        return None
    label = f"{headline.key.model} {headline.key.label()}"
    if headline.unprofiled_heads_profiled:
        set_aside = [c for c in headline.others if is_profiled(c)]
        said = ", ".join(f"median {number(steady_value(c, 'latency_ms', 'median'))} ms" if not failed(c)
                         else failed(c) for c in set_aside)
        return (f"{label}: figures from the unprofiled run; the profiled run ({said}) is kept for its "
                f"layer times, not as the headline")
    statuses = ", ".join(c.get("status") or "error" for c in headline.others)
    return f"{label}: {len(headline.runs())} runs; the table shows the first that finished (others: {statuses})"


def failure_line(label: str, cell: dict) -> str:
    """'resnet_v1_50 onnxruntime fp32 b1: crashed — SIGSEGV in the measuring child'."""
    message = one_line(cell.get("message") or "")
    return f"{label}: {failed(cell)}" + (f" — {message}" if message else "")


def board_text(cell: dict) -> str | None:
    """tegrastats' summary of the run: board RAM peak and GPU load."""
    board = cell.get("tegrastats") or {}
    if not board or board.get("ram_used_peak_mb") is None:
        return None
    text = f"board RAM peak {number(board['ram_used_peak_mb'])}"
    if board.get("ram_total_mb"):
        text += f"/{number(board['ram_total_mb'])}"
    text += " MB"
    if board.get("gpu_load_mean_pct") is not None:
        text += f", GPU load mean {number(board['gpu_load_mean_pct'])}%"
        if board.get("gpu_load_peak_pct") is not None:
            text += f" (peak {number(board['gpu_load_peak_pct'])}%)"
    return text + " (tegrastats)"
