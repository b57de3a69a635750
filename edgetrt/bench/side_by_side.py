"""Several bench records side by side: cells (model, backend, precision, batch) as rows, runs as
columns. This is the fleet summary (a record per device, devices as columns) and the comparison of
one device over time; Markdown, CSV and the HTML page all read these tables.

A device that failed before measuring (``device.error``) still has its column: the first row of
the summary says what failed, and each of its cells that has no run says ``device error``.
"""

from __future__ import annotations

import csv
import io

from edgetrt.bench import cell_text
from edgetrt.bench.cells import CellKey, Headline, agreement_meaningful, headlines, is_profiled
from edgetrt.bench.compare import change_text, compare_summary
from edgetrt.bench.device_facts import FACTS, device_facts, device_status
from edgetrt.bench.layers import layer_tables
from edgetrt.bench.report_tables import CSV_METRICS, Table, csv_value, failure_notes, status_meanings
from edgetrt.bench.report_tables import markdown as record_markdown
from edgetrt.bench.runs import (nothing_measured_banner, random_weights_banner, run_labels, title_of_many,
                                warnings_of)
from edgetrt.bench.text import NOT_RUN, csv_field, markdown_section, markdown_table, md_cell, one_line

DEVICE_ERROR = "device error"


class Sheet:
    """The records' headline runs by cell key, rows in a stable order, one column per record."""

    def __init__(self, records: list[dict]):
        self.records = records
        self.labels = run_labels(records)
        self.columns: list[dict[CellKey, Headline]] = [headlines(r.get("cells") or []) for r in records]
        keys = list(dict.fromkeys(k for column in self.columns for k in column))
        models = list(dict.fromkeys(k.model for k in keys))
        self.keys = sorted(keys, key=lambda k: k.sort_key(models))
        self.show_batch = len({k.batch for k in keys}) > 1

    def cell(self, index: int, key: CellKey) -> dict | None:
        headline = self.columns[index].get(key)
        return headline.cell if headline else None

    def text(self, index: int, key: CellKey, render) -> str:
        cell = self.cell(index, key)
        if cell is None and (self.records[index].get("device") or {}).get("error"):
            return DEVICE_ERROR
        return render(cell) if cell is not None else NOT_RUN

    def row_head(self, key: CellKey) -> list[str]:
        return [key.model, key.label(self.show_batch)]


def summary_tables(records: list[dict], comparison: list[dict] | None = None) -> list[Table]:
    """The side-by-side tables. With ``comparison`` (compare() rows of records[0] → records[1]) the
    latency table gains a Change column."""
    sheet = Sheet(records)
    changes = {}
    for row in comparison or []:
        changes[CellKey(row["model"], row["backend"], row["precision"], int(row["batch"]))] = change_text(row)
    out = []
    for key, title, render in cell_text.PER_CELL_TABLES:
        header = ["Model", "Cell"] + sheet.labels
        rows = []
        if key == "latency":
            rows.append(["(device)", "status"] + [device_status(r) for r in records])
        for cell_key in sheet.keys:
            rows.append(sheet.row_head(cell_key) + [sheet.text(i, cell_key, render) for i in range(len(records))])
        if key == "latency" and comparison is not None:
            header.append("Change")
            rows[0].append("")
            for row, cell_key in zip(rows[1:], sheet.keys):
                row.append(changes.get(cell_key, ""))
        notes = _notes(sheet) if key == "latency" else []
        if key == "latency" and comparison is not None and len(sheet.labels) == 2:
            notes.insert(0, f"Change: {sheet.labels[1]} against {sheet.labels[0]}, on the median latency "
                            "(▲ slower or newly failing, ▼ faster or fixed, = within the threshold)")
        out.append(Table(key, title, header, rows, notes))
    agreement_rows = [sheet.row_head(k) + [sheet.text(i, k, lambda c, r=records[i]: cell_text.agreement_text(c, r))
                                           for i in range(len(records))]
                      for k in sheet.keys if not k.is_reference]
    if agreement_rows:
        notes = ["each cell: top-1 agreeing images · mean top-5 overlap (0–1) · max |Δp|"]
        if any(not agreement_meaningful(sheet.cell(i, k), r) for i, r in enumerate(records) for k in sheet.keys
               if sheet.cell(i, k)):
            notes.append("n/a (random weights): that run's model had random weights, so agreement means nothing")
        out.append(Table("agreement", "Agreement with native TensorFlow (tf fp32) on the real photos",
                         ["Model", "Cell"] + sheet.labels, agreement_rows, notes))
    return out


def _notes(sheet: Sheet) -> list[str]:
    notes = []
    if any(is_profiled(h.cell) for column in sheet.columns for h in column.values()):
        notes.append(cell_text.PROFILED_MEANING)
    for label, column in zip(sheet.labels, sheet.columns):
        notes += [f"{label}: {n}" for h in column.values() if (n := cell_text.headline_note(h))]
    return notes


def facts_table(records: list[dict]) -> Table:
    labels = run_labels(records)
    facts = [device_facts(r) for r in records]
    rows = [["Status"] + [device_status(r) for r in records]]
    rows += [[label] + [f[i].text() for f in facts] for i, (label, _, _) in enumerate(FACTS)]
    rows.append(["Run"] + [f"{r.get('run_id') or '?'} {r.get('timestamp') or ''}".strip() for r in records])
    return Table("devices", "Devices", ["Fact"] + labels, rows)


def layer_sections(records: list[dict]) -> list:
    out = []
    for label, record in zip(run_labels(records), records):
        out += layer_tables(headlines(record.get("cells") or []),
                            lambda k, label=label: f"{label}: {k.model} {k.label()}")
    return out


def banners(records: list[dict]) -> list[str]:
    return [b for b in (random_weights_banner(records), nothing_measured_banner(records)) if b]


# ---- Markdown -----------------------------------------------------------------------------

def markdown(records: list[dict], comparison: list[dict] | None = None, threshold: float = 0.10) -> str:
    labels = run_labels(records)
    parts = [f"# {md_cell(title_of_many(records))}"]
    parts += [f"> **{md_cell(b)}**" for b in banners(records)]
    facts = facts_table(records)
    parts += [f"## {facts.title}", markdown_table(facts.header, facts.rows)]
    for label, record in zip(labels, records):
        parts += [f"- {md_cell(label)}: warning: {md_cell(w)}" for w in warnings_of(record)]
    for table in summary_tables(records, comparison):
        section = markdown_section("##", table.title, table)
        if table.key == "latency" and comparison is not None and len(records) == 2:
            section.insert(1, md_cell(compare_summary(comparison, threshold, labels[0], labels[1])))
        parts += section
    layers = layer_sections(records)
    if layers:
        parts.append(f"## Slowest layers (--profile, top {len(layers[0].rows)} by time per inference)")
        for table in layers:
            parts += markdown_section("###", md_cell(table.title), table)
    failures = [f"{label}: {n}" for label, r in zip(labels, records) for n in failure_notes(r)]
    if failures:
        parts.append("## Cells that did not finish")
        parts.append("\n".join(f"- {md_cell(n)}" for n in failures))
        parts.append("\n".join(f"- {m}" for m in status_meanings(records)))
    parts.append("## Each run on its own")
    parts += [record_markdown(r, level=3).rstrip() for r in records]
    return "\n\n".join(parts) + "\n"


# ---- CSV ----------------------------------------------------------------------------------

def csv_text(records: list[dict], comparison: list[dict] | None = None) -> str:
    """The fleet summary as CSV: a few rows about each run (device, run id, device error), then one
    row per (cell, metric), one column per run; with ``comparison``, a ``change`` row per cell."""
    sheet = Sheet(records)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["model", "backend", "precision", "batch", "metric"] + sheet.labels)
    device_rows = (("device", lambda r: (r.get("device") or {}).get("name")),
                   ("run_id", lambda r: r.get("run_id")),
                   ("timestamp", lambda r: r.get("timestamp")),
                   ("device_error", lambda r: (r.get("device") or {}).get("error")))
    for metric, get in device_rows:
        writer.writerow(["", "", "", "", metric] + [csv_field(get(r)) for r in records])
    changes = {CellKey(r["model"], r["backend"], r["precision"], int(r["batch"])): change_text(r)
               for r in comparison or []}
    for key in sheet.keys:
        head = [csv_field(key.model), key.backend, key.precision, key.batch]
        for metric, get in CSV_METRICS:
            values = []
            for i, record in enumerate(records):
                cell = sheet.cell(i, key)
                missing = cell is None and (record.get("device") or {}).get("error")
                values.append(DEVICE_ERROR if missing else csv_value(metric, get, cell, record))
            writer.writerow(head + [metric] + values)
        if comparison is not None:
            writer.writerow(head + ["change"] + [""] * (len(records) - 1) + [one_line(changes.get(key, ""))])
    return buf.getvalue()


__all__ = ["Sheet", "summary_tables", "facts_table", "markdown", "csv_text"]
