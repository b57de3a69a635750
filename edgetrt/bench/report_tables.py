"""One bench record → the tables people assemble by hand (Markdown and CSV).

Rows are models, columns are backend × precision (× batch when the run had more than one), as in
the TF-TRT blog tables: steady-state median latency and fps, first run, peak memory, original vs
optimized size, agreement with native TensorFlow, the top-5 predictions side by side and, with
``--profile``, each cell's slowest layers. A cell that did not finish shows its status word
(``oom``, ``killed``, ``timeout``, ``crashed``, ``incompatible``, ``error``) instead of a number; a
cell that was not run shows ``—``. Each cell shows its headline run (cells.headlines).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from edgetrt.agent.protocol import FAILED_STATUSES
from edgetrt.bench import cell_text
from edgetrt.bench.cells import (CellKey, Headline, agreement_meaningful, failed, headlines, is_profiled,
                                 random_weights_models, steady_value)
from edgetrt.bench.device_facts import device_facts, device_status
from edgetrt.bench.layers import layer_tables
from edgetrt.bench.runs import (nothing_measured_banner, random_weights_banner, settings_line, title_of,
                                warnings_of)
from edgetrt.bench.text import NOT_RUN, csv_field, markdown_section, markdown_table, md_cell, one_line, size


@dataclass(frozen=True)
class Column:
    backend: str
    precision: str
    batch: int

    def label(self, show_batch: bool) -> str:
        return CellKey("", self.backend, self.precision, self.batch).label(show_batch)

    @property
    def is_reference(self) -> bool:
        return CellKey("", self.backend, self.precision, self.batch).is_reference


@dataclass
class Table:
    key: str
    title: str
    header: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)


class Grid:
    """The record's headline runs indexed by model and column, in a stable display order."""

    def __init__(self, record: dict):
        self.record = record
        self.headlines: dict[CellKey, Headline] = headlines(record.get("cells") or [])
        keys = list(self.headlines)
        self.models = list(dict.fromkeys(k.model for k in keys))
        ordered = sorted(keys, key=lambda k: k.sort_key([]))
        self.columns = list(dict.fromkeys(Column(k.backend, k.precision, k.batch) for k in ordered))
        self.show_batch = len({c.batch for c in self.columns}) > 1

    def key(self, model: str, column: Column) -> CellKey:
        return CellKey(model, column.backend, column.precision, column.batch)

    def cell(self, model: str, column: Column) -> dict | None:
        headline = self.headlines.get(self.key(model, column))
        return headline.cell if headline else None

    def labels(self, columns=None) -> list[str]:
        return [c.label(self.show_batch) for c in (columns if columns is not None else self.columns)]

    def cell_label(self, key: CellKey) -> str:
        return f"{key.model} {key.label(self.show_batch)}"

    def original_bytes(self, model: str) -> int | None:
        for column in self.columns:
            cell = self.cell(model, column)
            if cell and cell.get("original_bytes"):
                return cell["original_bytes"]
        return None


def tables(record: dict) -> list[Table]:
    """The record's tables; none for a record without cells (its device failed before measuring)."""
    grid = Grid(record)
    if not grid.headlines:
        return []
    profiled_note = _profiled_note(grid)
    out = []
    for key, title, render in cell_text.PER_CELL_TABLES:
        rows = [[model] + [render(grid.cell(model, col)) for col in grid.columns] for model in grid.models]
        notes = list(profiled_note) + _measures_notes(grid) if key == "latency" else []
        if key == "first_run":
            notes += _start_up_notes(grid)
        if key == "memory":
            notes += [f"{grid.cell_label(k)}: {t}" for k, h in grid.headlines.items()
                      if (t := cell_text.board_text(h.cell))]
        out.append(Table(key, title, ["Model"] + grid.labels(), rows, notes))

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
        rows = [[model] + [cell_text.agreement_text(grid.cell(model, col), record) for col in optimized]
                for model in grid.models]
        notes = ["each cell: top-1 agreeing images · mean top-5 overlap (0–1) · max |Δp|"]
        if any(not agreement_meaningful(h.cell, record) for h in grid.headlines.values()):
            notes.append("n/a (random weights): the model ran with random weights, so agreement means nothing")
        out.append(Table("agreement", "Agreement with native TensorFlow (tf fp32) on the real photos",
                         ["Model"] + grid.labels(optimized), rows, notes))
    return out


def _profiled_note(grid: Grid) -> list[str]:
    notes = [n for h in grid.headlines.values() if (n := cell_text.headline_note(h))]
    if any(is_profiled(h.cell) for h in grid.headlines.values()):
        notes.insert(0, cell_text.PROFILED_MEANING)
    return notes


def _measures_notes(grid: Grid) -> list[str]:
    """What a backend × precision ran, where that does not say it all (the INT8 model's shape): once each."""
    said: dict[str, str] = {}
    for key, headline in grid.headlines.items():
        if headline.cell.get("measures"):
            said.setdefault(f"{key.backend} {key.precision}", headline.cell["measures"])
    return [f"{label} measures {text}" for label, text in said.items()]


def _start_up_notes(grid: Grid) -> list[str]:
    return [f"{grid.cell_label(k)}: {t}" for k, h in grid.headlines.items()
            if not failed(h.cell) and (t := cell_text.cold_start_text(h.cell))]


def failure_notes(record: dict) -> list[str]:
    grid = Grid(record)
    notes = []
    for key, headline in grid.headlines.items():
        for run in headline.runs():
            if failed(run):
                notes.append(cell_text.failure_line(f"{key.model} {key.label()}", run))
    return notes


def status_meanings(records: list[dict]) -> list[str]:
    present = sorted({failed(c) for r in records for c in r.get("cells") or [] if failed(c)},
                     key=lambda s: FAILED_STATUSES.index(s) if s in FAILED_STATUSES else 99)
    return [f"`{s}`: {cell_text.STATUS_MEANING.get(s, 'see the message')}" for s in present]


def profile_tables(record: dict):
    grid = Grid(record)
    return layer_tables(grid.headlines, grid.cell_label)


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
                per_image.setdefault(one_line(pred.get("image", "?")), []).append((label, names))
        for image, rows in per_image.items():
            out.append((model, image, rows))
    return out


def prediction_block(record: dict) -> str | None:
    """The predictions side by side as plain text, the way the seed prints them (None if none)."""
    block = []
    for model, image, rows in prediction_lines(record):
        block.append(f"{one_line(model)} — {image}")
        width = max(len(label) for label, _ in rows)
        block += [f"  {label.ljust(width)}  [{names}]" for label, names in rows]
    return "\n".join(block) if block else None


RANDOM_PREDICTIONS = "random weights: these classes and probabilities come from untrained weights and mean nothing"


# ---- Markdown -----------------------------------------------------------------------------

def facts_markdown(record: dict) -> str:
    rows = [[f.label, f.text()] for f in device_facts(record)]
    return markdown_table(["Device", one_line((record.get("device") or {}).get("name") or "?")], rows)


def markdown(record: dict, level: int = 1) -> str:
    """The record as Markdown; ``level`` is the title's heading level (sections one below)."""
    h1, h2, h3 = "#" * level, "#" * (level + 1), "#" * (level + 2)
    parts = [f"{h1} {md_cell(title_of(record))}"]
    for banner in (random_weights_banner([record]), nothing_measured_banner([record])):
        if banner:
            parts.append(f"> **{md_cell(banner)}**")
    device = record.get("device") or {}
    if device.get("error"):
        parts.append(f"**Device {md_cell(device_status(record))}**")
    parts.append(facts_markdown(record))
    line = settings_line(record)
    if line:
        parts.append(line)
    warnings = warnings_of(record)
    if warnings:
        parts.append("\n".join(f"- warning: {md_cell(w)}" for w in warnings))
    for table in tables(record):
        parts += markdown_section(h2, table.title, table)
    layer_sections = profile_tables(record)
    if layer_sections:
        parts.append(f"{h2} Slowest layers (--profile, top {len(layer_sections[0].rows)} by time per inference)")
        for table in layer_sections:
            parts += markdown_section(h3, md_cell(table.title), table)
    predictions = prediction_block(record)
    if predictions:
        parts.append(f"{h2} Predictions (top-5, probability)")
        parts.append("```\n" + predictions.replace("```", "'''") + "\n```")
        if random_weights_models(record):
            parts.append(f"_{RANDOM_PREDICTIONS}_")
    notes = failure_notes(record)
    if notes:
        parts.append(f"{h2} Cells that did not finish")
        parts.append("\n".join(f"- {md_cell(n)}" for n in notes))
        parts.append("\n".join(f"- {m}" for m in status_meanings([record])))
    return "\n\n".join(parts) + "\n"


# ---- CSV ----------------------------------------------------------------------------------

def _agreement_value(stat: str):
    def get(cell: dict, record: dict):
        agree = cell.get("agreement") or {}
        if agree and not agreement_meaningful(cell, record):
            return cell_text.RANDOM_WEIGHTS
        return agree.get(stat)
    return get


CSV_METRICS = (
    ("status", lambda c, r: c.get("status")),
    ("profiled", lambda c, r: is_profiled(c)),
    ("latency_median_ms", lambda c, r: steady_value(c, "latency_ms", "median")),
    ("latency_mean_ms", lambda c, r: steady_value(c, "latency_ms", "mean")),
    ("latency_p90_ms", lambda c, r: steady_value(c, "latency_ms", "p90")),
    ("latency_p95_ms", lambda c, r: steady_value(c, "latency_ms", "p95")),
    ("latency_p99_ms", lambda c, r: steady_value(c, "latency_ms", "p99")),
    ("fps_median", lambda c, r: steady_value(c, "fps", "median")),
    ("first_run_ms", lambda c, r: c.get("first_run_ms")),
    ("build_ms", lambda c, r: c.get("build_ms")),
    ("engine", lambda c, r: c.get("engine")),
    ("timing_cache", lambda c, r: c.get("timing_cache")),
    ("peak_memory_mb", lambda c, r: c.get("peak_memory_mb")),
    ("power_mean_w", lambda c, r: c.get("power_mean_w")),
    ("energy_mj", lambda c, r: c.get("energy_mj")),
    ("temperature_peak_c", lambda c, r: c.get("temperature_peak_c")),
    ("throttled", lambda c, r: {True: "yes", False: "no"}.get(c.get("throttled"))),
    ("artifact_bytes", lambda c, r: c.get("artifact_bytes")),
    ("original_bytes", lambda c, r: c.get("original_bytes")),
    ("top1_agreement", _agreement_value("top1")),
    ("top5_overlap", _agreement_value("top5_overlap")),
    ("max_abs_diff", _agreement_value("max_abs_diff")),
)
# Metrics that stay meaningful for a run that did not finish (the rest show its status word).
_KEPT_WHEN_FAILED = ("status", "profiled", "artifact_bytes", "original_bytes")


def csv_value(metric: str, get, cell: dict | None, record: dict) -> str:
    """One CSV field: empty when the cell was not run, its status word where a failed run has no
    such figure, else the value."""
    if cell is None:
        return ""
    if failed(cell) and metric not in _KEPT_WHEN_FAILED:
        return failed(cell)
    return csv_field(get(cell, record))


def csv_text(record: dict) -> str:
    """One row per (model, metric), one column per backend × precision (× batch); failed cells
    carry their status word in every metric row, cells not run are empty."""
    grid = Grid(record)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["model", "metric"] + [c.label(grid.show_batch) for c in grid.columns])
    for model in grid.models:
        for metric, get in CSV_METRICS:
            writer.writerow([csv_field(model), metric]
                            + [csv_value(metric, get, grid.cell(model, col), record) for col in grid.columns])
    return buf.getvalue()
