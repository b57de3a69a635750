"""Bench records → one self-contained HTML file: the tables plus matplotlib charts as inline PNGs.

No external URL of any kind (no scripts, fonts or stylesheets to fetch): the file opens the same
on an air-gapped Jetson workstation. One record is one page: device facts, charts, tables. Several
records (a fleet, one device over time, ``--compare``) are one comparison: runs as columns of the
tables and as the series of one chart, each run's own tables folded below. Every series keeps its
colour on the whole page; matplotlib's warnings are listed at the end, never printed.
"""

from __future__ import annotations

import html

from edgetrt.bench import side_by_side
from edgetrt.bench.cells import random_weights_models
from edgetrt.bench.chart_style import CapturedWarnings, SeriesStyles, require_matplotlib
from edgetrt.bench.charts import (chart_first_vs_steady, chart_fps, chart_latency_distribution,
                                  chart_side_by_side, png_base64)
from edgetrt.bench.compare import compare_summary
from edgetrt.bench.device_facts import device_facts, device_status
from edgetrt.bench.report_tables import (RANDOM_PREDICTIONS, failure_notes, prediction_block, profile_tables,
                                         status_meanings, tables)
from edgetrt.bench.runs import (nothing_measured_banner, random_weights_banner, run_labels, settings_line,
                                title_of, title_of_many, warnings_of)
from edgetrt.bench.side_by_side import DEVICE_ERROR
from edgetrt.bench.text import one_line

_STATUS_WORDS = {"oom", "killed", "timeout", "crashed", "incompatible", "error", "skipped"}
_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1b1b1b;max-width:1232px}
h1{font-size:1.4em} h2{font-size:1.15em;margin-top:1.6em} h3{font-size:1em}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;margin:8px 0 4px} th,td{border:1px solid #c8c8c8;padding:3px 8px}
th{background:#eef2f7;text-align:left} td{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td:first-child,td.label{text-align:left} td.name{text-align:left;white-space:normal;overflow-wrap:anywhere;max-width:640px}
td.wrap,tr.device td{white-space:normal;max-width:22em}
td.failed{background:#fde2e1;color:#9b1c1c;font-weight:600;text-align:center}
tr.device td{background:#f4f6f9;font-style:italic}
td.throttled{background:#fff1d6;color:#8a4b00;font-weight:600}
td.regression{color:#9b1c1c;font-weight:600} td.improvement{color:#1e6b2f;font-weight:600}
.from{color:#666;font-size:.8em;margin-left:.4em}
.banner{border-left:6px solid #c77700;background:#fff4e0;padding:8px 12px;margin:10px 0;font-weight:600}
.error{border-left:6px solid #9b1c1c;background:#fde2e1;padding:8px 12px;margin:10px 0}
.note{color:#555;font-size:.9em} pre{background:#f6f6f6;padding:8px;overflow-x:auto;font-size:.85em}
img{max-width:100%;height:auto;border:1px solid #e2e2e2;margin:6px 0;display:block}
details{margin:12px 0} summary{font-weight:600;cursor:pointer}
"""


def _html_text(text) -> str:
    return html.escape(one_line(text))


def _table_html(header, rows, table_id: str | None = None, css: str = "", changes: list | None = None,
                name_column: int | None = None, label_columns: int = 1) -> str:
    attrs = (f' id="{table_id}"' if table_id else "") + (f' class="{css}"' if css else "")
    out = [f'<div class="scroll"><table{attrs}><thead><tr>'
           + "".join(f"<th>{_html_text(h)}</th>" for h in header) + "</tr></thead><tbody>"]
    for r, row in enumerate(rows):
        cells = []
        for i, value in enumerate(row):
            text = str(value)
            failed = text.split(" ")[0] in _STATUS_WORDS or text.startswith("error: ") or text == DEVICE_ERROR
            cls = "failed" if i >= label_columns and failed else ""
            if i >= label_columns and text.endswith("· throttled"):
                cls = "throttled"  # the power table: a run whose clocks or heat were capped
            if 0 < i < label_columns:
                cls = "label"
            if name_column is not None and i == name_column:
                cls = "name"
            if changes is not None and i == len(row) - 1 and changes[r]:
                cls = changes[r]
            attr = f' class="{cls}"' if cls else ""
            cells.append(f"<td{attr}>{_html_text(text)}</td>")
        row_class = ' class="device"' if row and row[0] == "(device)" else ""
        out.append(f"<tr{row_class}>" + "".join(cells) + "</tr>")
    out.append("</tbody></table></div>")
    return "\n".join(out)


def _notes_html(notes) -> list[str]:
    return [f'<p class="note">{_html_text(n)}</p>' for n in notes]


def _chart_html(chart) -> list[str]:
    parts = []
    if chart.figure is not None:
        parts.append(f'<img alt="{_html_text(chart.name)}" src="data:image/png;base64,{png_base64(chart.figure)}">')
    if chart.sentence:
        parts.append(f'<p class="note">{_html_text(chart.sentence)}</p>')
    return parts


def _banners_html(records: list[dict]) -> list[str]:
    return [f'<div class="banner">{_html_text(b)}</div>'
            for b in (random_weights_banner(records), nothing_measured_banner(records)) if b]


def _fact_cell(fact) -> str:
    if fact.value is None:
        return "unknown"
    origin = fact.origin or ""
    return (f'{_html_text(fact.value)}<span class="from" title="{_html_text(fact.source or "")}">{_html_text(origin)}</span>')


def _facts_html(records: list[dict], labels: list[str]) -> str:
    facts = [device_facts(r) for r in records]
    head = "".join(f"<th>{_html_text(label)}</th>" for label in labels)
    rows = ["<tr><td>Status</td>" + "".join(f'<td class="label wrap">{_html_text(device_status(r))}</td>' for r in records)
            + "</tr>"]
    for i, fact in enumerate(facts[0]):
        rows.append(f"<tr><td>{_html_text(fact.label)}</td>"
                    + "".join(f'<td class="label">{_fact_cell(f[i])}</td>' for f in facts) + "</tr>")
    legend = ('<p class="note">probe: read on the device by the agent (hover for the file); profile: what '
              "the device's profile expects, not read on the device.</p>")
    return (f'<div class="scroll"><table id="device-facts"><thead><tr><th>Device</th>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table></div>{legend}")


def _record_body(record: dict, id_prefix: str = "table") -> list[str]:
    """A record's tables, profile, predictions and failures (no title, no charts); the tables'
    ids start with ``id_prefix`` so that several records on one page keep them unique."""
    parts = []
    for table in tables(record):
        parts.append(f"<h3>{_html_text(table.title)}</h3>")
        parts.append(_table_html(table.header, table.rows, table_id=f"{id_prefix}-{table.key}"))
        parts += _notes_html(table.notes)
    parts += _layers_html(profile_tables(record))
    predictions = prediction_block(record)
    if predictions:
        parts.append("<h3>Predictions (top-5, probability)</h3>")
        parts.append("<pre>" + html.escape(predictions) + "</pre>")
        if random_weights_models(record):
            parts += _notes_html([RANDOM_PREDICTIONS])
    parts += _failures_html(failure_notes(record), [record])
    return parts


def _layers_html(layer_tables) -> list[str]:
    if not layer_tables:
        return []
    parts = [f"<h2>Slowest layers (--profile, top {len(layer_tables[0].rows)} by time per inference)</h2>"]
    for table in layer_tables:
        parts.append(f"<h3>{_html_text(table.title)}</h3>")
        parts.append(_table_html(table.header, table.rows, css="layers", name_column=1,
                                 label_columns=len(table.header) - 2))  # rank, layer, op: text
        parts += _notes_html(table.notes)
    return parts


def _failures_html(notes: list[str], records: list[dict]) -> list[str]:
    if not notes:
        return []
    return ["<h3>Cells that did not finish</h3><ul>" + "".join(f"<li>{_html_text(n)}</li>" for n in notes) + "</ul>",
            '<ul class="note">' + "".join(f"<li>{_html_text(m.replace('`', ''))}</li>" for m in status_meanings(records))
            + "</ul>"]


def _device_error_html(record: dict) -> list[str]:
    error = (record.get("device") or {}).get("error")
    return [f'<div class="error">{_html_text(device_status(record))}</div>'] if error else []


def _single_page(record: dict, styles: SeriesStyles) -> list[str]:
    parts = [f"<h1>{_html_text(title_of(record))}</h1>"] + _banners_html([record]) + _device_error_html(record)
    parts.append(_facts_html([record], [one_line((record.get("device") or {}).get("name") or "device")]))
    line = settings_line(record)
    if line:
        parts.append(f'<p class="note">{_html_text(line)}</p>')
    parts += [f'<p class="note">warning: {_html_text(w)}</p>' for w in warnings_of(record)]
    charts = [chart_first_vs_steady(record, styles), chart_fps(record, styles),
              chart_latency_distribution(record, styles)]
    parts.append("<h2>Charts</h2>")
    for chart in charts:
        parts += _chart_html(chart)
    parts += _record_body(record)
    return parts


def _comparison_page(records: list[dict], comparison: list[dict] | None, styles: SeriesStyles,
                     threshold: float) -> list[str]:
    labels = run_labels(records)
    parts = [f"<h1>{_html_text(title_of_many(records))}</h1>"] + _banners_html(records)
    parts.append("<h2>Devices</h2>")
    parts.append(_facts_html(records, labels))
    for label, record in zip(labels, records):
        parts += [f'<p class="note">{_html_text(label)}: warning: {_html_text(w)}</p>' for w in warnings_of(record)]
    summary = side_by_side.summary_tables(records, comparison)
    latency, rest = summary[0], summary[1:]
    parts.append(f"<h2>{_html_text(latency.title)}: runs side by side</h2>")
    changes = None
    if comparison is not None:
        changes = [""] + [_change_class(row[-1]) for row in latency.rows[1:]]
        if len(records) == 2:
            parts += _notes_html([compare_summary(comparison, threshold, labels[0], labels[1])])
    parts.append(_table_html(latency.header, latency.rows, table_id="comparison", css="comparison", changes=changes,
                             label_columns=2))
    parts += _notes_html(latency.notes)
    parts += _chart_html(chart_side_by_side(records, styles))
    for table in rest:
        parts.append(f"<h2>{_html_text(table.title)}</h2>")
        parts.append(_table_html(table.header, table.rows, table_id=f"summary-{table.key}", css="comparison",
                                 label_columns=2))
        parts += _notes_html(table.notes)
    parts += _layers_html(side_by_side.layer_sections(records))
    failures = [f"{label}: {n}" for label, r in zip(labels, records) for n in failure_notes(r)]
    parts += _failures_html(failures, records)
    parts.append("<h2>Each run on its own</h2>")
    for n, (label, record) in enumerate(zip(labels, records), 1):
        body = _device_error_html(record) + _record_body(record, id_prefix=f"run{n}")
        parts.append(f"<details><summary>{_html_text(label)} — {_html_text(title_of(record))}</summary>" + "\n".join(body)
                     + "</details>")
    return parts


def _change_class(text: str) -> str:
    return {"▲": "regression", "▼": "improvement"}.get(text[:1], "")


def html_report(records, comparison: list[dict] | None = None, threshold: float = 0.10) -> str:
    """One HTML document for one or more bench records; ``comparison``: compare() rows of
    records[0] → records[1] (made with ``threshold``), shown as a Change column."""
    if isinstance(records, dict):
        records = [records]
    require_matplotlib()  # fail early with the install hint, before any work
    styles = SeriesStyles()
    with CapturedWarnings() as captured:
        if len(records) == 1:
            parts = _single_page(records[0], styles)
        else:
            parts = _comparison_page(records, comparison, styles, threshold)
    if captured.messages:
        parts.append("<h2>Chart notes</h2>")
        parts += _notes_html(f"matplotlib: {m}" for m in dict.fromkeys(captured.messages))
    title = title_of(records[0]) if len(records) == 1 else title_of_many(records)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{_html_text(title)}</title><style>{_CSS}</style></head><body>\n"
            + "\n".join(parts) + "\n</body></html>\n")
