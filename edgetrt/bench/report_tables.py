"""A bench record → the tables people assemble by hand (Markdown and CSV).

Rows are models, columns are backend × precision (× batch when the run had more than one), as in
the TF-TRT blog tables: steady-state median latency and fps, first run, peak memory, original vs
optimized size, agreement with native TensorFlow, and the top-5 predictions side by side. A cell
that did not finish shows its status word (``oom``, ``killed``, ``timeout``, ``crashed``,
``incompatible``, ``error``) instead of a number; a cell that was not run shows ``—``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from edgetrt.bench.history import FAILED_STATUSES

BACKEND_ORDER = ("tf", "onnxruntime", "tensorrt")
PRECISION_ORDER = ("fp32", "fp16", "int8")
REFERENCE = ("tf", "fp32")
NOT_RUN = "—"
STATUS_MEANING = {
    "oom": "out of memory (MemoryError, CUDA/TensorRT out-of-memory text, or the kernel's OOM killer)",
    "killed": "killed by SIGKILL without an OOM-killer message",
    "timeout": "no result within the run's timeout (the seed's \"did not start\")",
    "crashed": "segmentation fault or abort inside the runtime",
    "incompatible": "engine or library version does not fit this device",
    "error": "any other failure; see the message",
    "skipped": "not run: the memory preflight estimated it would not fit (--force runs it)",
}


@dataclass(frozen=True)
class Column:
    backend: str
    precision: str
    batch: int

    def label(self, show_batch: bool) -> str:
        text = f"{self.backend} {self.precision}"
        return f"{text} b{self.batch}" if show_batch else text

    @property
    def is_reference(self) -> bool:
        return (self.backend, self.precision) == REFERENCE


@dataclass
class Table:
    key: str
    title: str
    header: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)


class Grid:
    """The record's cells indexed by model and column, in a stable display order."""

    def __init__(self, record: dict):
        self.record = record
        cells = record.get("cells") or []
        self.models = list(dict.fromkeys(c["model"] for c in cells))
        keys = {Column(c["backend"], c["precision"], int(c.get("batch") or 1)) for c in cells}
        self.columns = sorted(keys, key=_column_order)
        self.show_batch = len({c.batch for c in self.columns}) > 1
        self.cells = {(c["model"], Column(c["backend"], c["precision"], int(c.get("batch") or 1))): c
                      for c in cells}

    def cell(self, model: str, column: Column) -> dict | None:
        return self.cells.get((model, column))

    def labels(self, columns=None) -> list[str]:
        return [c.label(self.show_batch) for c in (columns if columns is not None else self.columns)]

    def original_bytes(self, model: str) -> int | None:
        for column in self.columns:
            cell = self.cell(model, column)
            if cell and cell.get("original_bytes"):
                return cell["original_bytes"]
        return None


def _column_order(column: Column):
    def rank(value, order):
        return (order.index(value), "") if value in order else (len(order), value)

    return (rank(column.backend, BACKEND_ORDER), rank(column.precision, PRECISION_ORDER), column.batch)


# ---- values -------------------------------------------------------------------------------

def number(value, digits: int | None = None) -> str:
    """Human figures: 3 significant digits below 100, whole numbers above."""
    if value is None:
        return NOT_RUN
    value = float(value)
    if digits is not None:
        return f"{value:.{digits}f}"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def size(nbytes) -> str:
    if nbytes is None:
        return NOT_RUN
    nbytes = float(nbytes)
    for unit in ("B", "KB", "MB", "GB"):
        if nbytes < 1024 or unit == "GB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024.0
    return NOT_RUN  # pragma: no cover


def failed(cell: dict | None) -> str | None:
    """The status word of a cell that did not finish, else None."""
    if cell is None:
        return None
    status = cell.get("status") or "error"
    return None if status == "ok" else status


def steady_value(cell: dict | None, block: str, stat: str):
    steady = (cell or {}).get("steady") or {}
    return (steady.get(block) or {}).get(stat)


def _show(cell: dict | None, value, render=number) -> str:
    if cell is None:
        return NOT_RUN
    status = failed(cell)
    if status:
        return status
    return render(value) if value is not None else NOT_RUN


def percentiles_text(cell: dict | None) -> str:
    """p50 / p90 / p95 / p99 of the steady state, ms (a figure the run did not give is —)."""
    if cell is None or failed(cell):
        return _show(cell, None)
    return " / ".join(number(steady_value(cell, "latency_ms", k)) for k in ("median", "p90", "p95", "p99"))


def power_text(cell: dict | None) -> str:
    """Mean power · energy per inference · peak temperature · throttled, or why not measured."""
    if cell is None or failed(cell):
        return _show(cell, None)
    power = cell.get("power") or {}
    if not power or power.get("source") is None:
        why = (power.get("not_measured") or {}).get("throttled")
        return "not measured" + (f" ({why})" if why else "")
    verdict = {True: "throttled", False: "not throttled"}.get(cell.get("throttled"), "throttling not measured")
    parts = [f"{number(cell.get('power_mean_w'))} W" if cell.get("power_mean_w") is not None else "— W",
             f"{number(cell.get('energy_mj'))} mJ" if cell.get("energy_mj") is not None else "— mJ",
             f"{number(cell.get('temperature_peak_c'))} °C" if cell.get("temperature_peak_c") is not None else "— °C",
             verdict]
    return " · ".join(parts)


def first_run_text(cell: dict | None) -> str:
    text = _show(cell, (cell or {}).get("first_run_ms"))
    if cell and not failed(cell) and cell.get("build_ms") is not None:
        engine = cell.get("engine")
        text += f" (build {number(cell['build_ms'])}{', ' + engine if engine else ''})"
    elif cell and not failed(cell) and cell.get("engine"):
        text += f" ({cell['engine']} engine)"
    return text


def memory_text(cell: dict | None) -> str:
    """Peak memory; a failed cell keeps its status word, with the peak it reached when known."""
    text = _show(cell, (cell or {}).get("peak_memory_mb"))
    if cell and failed(cell) and cell.get("peak_memory_mb") is not None:
        text += f" ({number(cell['peak_memory_mb'])})"
    return text


def agreement_text(cell: dict | None) -> str:
    if cell is None:
        return NOT_RUN
    status = failed(cell)
    if status:
        return status
    agree = cell.get("agreement")
    if not agree:
        return NOT_RUN
    if agree.get("meaningful") is False:
        return "n/a (random weights)"
    images = agree.get("images") or 0
    top1 = agree.get("top1")
    top1_text = f"{round(top1 * images)}/{images}" if images and top1 is not None else number(top1)
    return f"{top1_text} · {number(agree.get('top5_overlap'), 2)} · {number(agree.get('max_abs_diff'), 3)}"


# ---- tables -------------------------------------------------------------------------------

def tables(record: dict) -> list[Table]:
    grid = Grid(record)
    per_cell = [
        ("latency", "Steady-state latency, median ms (lower is better)",
         lambda c: _show(c, steady_value(c, "latency_ms", "median"))),
        ("percentiles", "Steady-state latency ms: p50 / p90 / p95 / p99", percentiles_text),
        ("fps", "Throughput, median items/s (higher is better)",
         lambda c: _show(c, steady_value(c, "fps", "median"))),
        ("power", "Power during the timed phase: mean board input W · energy per inference mJ · peak "
                  "temperature · throttled (GPU clock < 75 % of max in > 5 % of samples, or a thermal cap)",
         power_text),
        ("first_run", "First run ms: load (and engine build) + first inference", first_run_text),
        ("memory", "Peak memory MB (resident set; a lower bound for GPU memory on Jetson)", memory_text),
    ]
    out = []
    for key, title, render in per_cell:
        rows = [[model] + [render(grid.cell(model, col)) for col in grid.columns] for model in grid.models]
        out.append(Table(key, title, ["Model"] + grid.labels(), rows))

    size_rows = []
    for model in grid.models:
        row = [model, size(grid.original_bytes(model))]
        for col in grid.columns:
            cell = grid.cell(model, col)
            if cell is not None and cell.get("artifact_bytes") is not None:
                row.append(size(cell["artifact_bytes"]))
            else:
                row.append(failed(cell) or NOT_RUN)
        size_rows.append(row)
    out.append(Table("size", "File size: original model vs what each cell ran",
                     ["Model", "original"] + grid.labels(), size_rows))

    optimized = [c for c in grid.columns if not c.is_reference]
    if optimized:
        rows = [[model] + [agreement_text(grid.cell(model, col)) for col in optimized] for model in grid.models]
        out.append(Table("agreement", "Agreement with native TensorFlow (tf fp32) on the real photos",
                         ["Model"] + grid.labels(optimized), rows,
                         ["each cell: top-1 agreeing images · mean top-5 overlap (0–1) · max |Δp|"]))
    return out


def failure_notes(record: dict) -> list[str]:
    grid = Grid(record)
    notes = []
    for model in grid.models:
        for col in grid.columns:
            cell = grid.cell(model, col)
            status = failed(cell)
            if status:
                message = " ".join(str(cell.get("message") or "").split())
                notes.append(f"{model} {col.label(True)}: {status}" + (f" — {message}" if message else ""))
    return notes


def prediction_lines(record: dict) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """[(model, image, [(column label, 'name 0.61, name 0.20, ...'), ...]), ...]."""
    from edgetrt.bench.labels import class_name

    grid = Grid(record)
    out = []
    for model in grid.models:
        per_image: dict[str, list[tuple[str, str]]] = {}
        for col in grid.columns:
            cell = grid.cell(model, col)
            if not cell or failed(cell) or not cell.get("predictions"):
                continue
            classes = int(cell.get("classes") or 1000)
            for pred in cell["predictions"]:
                names = ", ".join(f"{class_name(k, classes)} {float(p):.2f}" for k, p in pred.get("top5", [])[:5])
                label = col.label(grid.show_batch) + (" (native)" if col.is_reference else "")
                per_image.setdefault(pred.get("image", "?"), []).append((label, names))
        for image, rows in per_image.items():
            out.append((model, image, rows))
    return out


def prediction_block(record: dict) -> str | None:
    """The predictions side by side as plain text, the way the seed prints them (None if none)."""
    block = []
    for model, image, rows in prediction_lines(record):
        block.append(f"{model} — {image}")
        width = max(len(label) for label, _ in rows)
        block += [f"  {label.ljust(width)}  [{names}]" for label, names in rows]
    return "\n".join(block) if block else None


def title_of(record: dict) -> str:
    device = record.get("device") or {}
    name = device.get("name") or "unknown device"
    profile = device.get("profile")
    return (f"edgetrt bench {record.get('run_id') or ''} — {name}"
            + (f" ({profile})" if profile and profile != name else "")
            + f" — {record.get('timestamp') or ''}").replace("  ", " ")


def settings_line(record: dict) -> str:
    s = record.get("settings") or {}
    parts = []
    if s.get("warmup_ms") is not None:
        parts.append(f"warm-up {number(s['warmup_ms'])} ms")
    if s.get("min_iterations") is not None:
        parts.append(f"≥ {s['min_iterations']} iterations")
    if s.get("min_seconds") is not None:
        parts.append(f"≥ {number(s['min_seconds'])} s timed")
    if s.get("images"):
        parts.append(f"{len(s['images'])} photos")
    return ", ".join(parts)


# ---- Markdown -----------------------------------------------------------------------------

def _md_escape(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(_md_escape(h) for h in header) + " |",
             "| " + " | ".join(["---"] + ["---:"] * (len(header) - 1)) + " |"]
    lines += ["| " + " | ".join(_md_escape(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def markdown(record: dict) -> str:
    parts = [f"# {title_of(record)}"]
    line = settings_line(record)
    if line:
        parts.append(line)
    for table in tables(record):
        parts.append(f"## {table.title}")
        parts.append(markdown_table(table.header, table.rows))
        parts += [f"_{note}_" for note in table.notes]
    predictions = prediction_block(record)
    if predictions:
        parts.append("## Predictions (top-5, probability)")
        parts.append("```\n" + predictions + "\n```")
    notes = failure_notes(record)
    if notes:
        parts.append("## Cells that did not finish")
        parts.append("\n".join(f"- {_md_escape(n)}" for n in notes))
        present = sorted({failed(c) for c in record.get("cells", []) if failed(c)},
                         key=lambda s: FAILED_STATUSES.index(s) if s in FAILED_STATUSES else 99)
        parts.append("\n".join(f"- `{s}`: {STATUS_MEANING.get(s, 'see the message')}" for s in present))
    return "\n\n".join(parts) + "\n"


# ---- CSV ----------------------------------------------------------------------------------

CSV_METRICS = (
    ("status", lambda c: c.get("status")),
    ("latency_median_ms", lambda c: steady_value(c, "latency_ms", "median")),
    ("latency_mean_ms", lambda c: steady_value(c, "latency_ms", "mean")),
    ("latency_p90_ms", lambda c: steady_value(c, "latency_ms", "p90")),
    ("latency_p95_ms", lambda c: steady_value(c, "latency_ms", "p95")),
    ("latency_p99_ms", lambda c: steady_value(c, "latency_ms", "p99")),
    ("fps_median", lambda c: steady_value(c, "fps", "median")),
    ("first_run_ms", lambda c: c.get("first_run_ms")),
    ("build_ms", lambda c: c.get("build_ms")),
    ("peak_memory_mb", lambda c: c.get("peak_memory_mb")),
    ("power_mean_w", lambda c: c.get("power_mean_w")),
    ("energy_mj", lambda c: c.get("energy_mj")),
    ("temperature_peak_c", lambda c: c.get("temperature_peak_c")),
    ("throttled", lambda c: {True: "yes", False: "no"}.get(c.get("throttled"))),
    ("artifact_bytes", lambda c: c.get("artifact_bytes")),
    ("original_bytes", lambda c: c.get("original_bytes")),
    ("top1_agreement", lambda c: (c.get("agreement") or {}).get("top1")),
    ("top5_overlap", lambda c: (c.get("agreement") or {}).get("top5_overlap")),
    ("max_abs_diff", lambda c: (c.get("agreement") or {}).get("max_abs_diff")),
)


def csv_text(record: dict) -> str:
    """One row per (model, metric), one column per backend × precision (× batch); failed cells
    carry their status word in every metric row, cells not run are empty."""
    grid = Grid(record)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["model", "metric"] + [c.label(grid.show_batch) for c in grid.columns])
    for model in grid.models:
        for metric, get in CSV_METRICS:
            row = [model, metric]
            for col in grid.columns:
                cell = grid.cell(model, col)
                if cell is None:
                    row.append("")
                elif metric != "status" and failed(cell) and metric not in ("artifact_bytes", "original_bytes"):
                    row.append(failed(cell))
                else:
                    value = get(cell)
                    row.append("" if value is None else (f"{value:.6g}" if isinstance(value, float) else value))
            writer.writerow(row)
    return buf.getvalue()
