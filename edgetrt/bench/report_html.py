"""Bench records → one self-contained HTML file: the tables plus matplotlib charts as inline PNGs.

No external URL of any kind (no scripts, fonts or stylesheets to fetch): the file opens the same
on an air-gapped Jetson workstation. matplotlib (the ``report`` extra) is imported only here, with
the Agg backend. A cell that did not finish is drawn as a labelled gap with its status word, never
as a zero-height bar.
"""

from __future__ import annotations

import base64
import html
import io

from edgetrt.bench.compare import change_text
from edgetrt.bench.report_tables import (Grid, failed, failure_notes, prediction_block, settings_line,
                                         steady_value, tables, title_of)
from edgetrt.errors import MissingDependencyError

_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
            "#bcbd22", "#7f7f7f")
_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1b1b1b;max-width:1400px}
h1{font-size:1.4em} h2{font-size:1.15em;margin-top:1.6em} h3{font-size:1em}
table{border-collapse:collapse;margin:8px 0 4px} th,td{border:1px solid #c8c8c8;padding:3px 8px}
th{background:#eef2f7;text-align:left} td{text-align:right;font-variant-numeric:tabular-nums}
td:first-child,td.label{text-align:left}
td.failed{background:#fde2e1;color:#9b1c1c;font-weight:600;text-align:center}
td.throttled{background:#fff1d6;color:#8a4b00;font-weight:600}
td.regression{color:#9b1c1c;font-weight:600} td.improvement{color:#1e6b2f;font-weight:600}
.note{color:#555;font-size:.9em} pre{background:#f6f6f6;padding:8px;overflow-x:auto;font-size:.85em}
img{max-width:100%;border:1px solid #e2e2e2;margin:6px 0}
"""


def _pyplot():
    try:
        import matplotlib
    except ImportError as exc:
        raise MissingDependencyError("matplotlib is needed for the HTML report",
                                     hint="pip install 'edgetrt[report]'") from exc
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    fig.clf()
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _gap(ax, x, status, log_floor, color="#9b1c1c"):
    """A failed cell: no bar at all, its status word written where the bar would stand."""
    ax.annotate(status, (x, log_floor), xytext=(0, 4), textcoords="offset points", rotation=90,
                ha="center", va="bottom", fontsize=8, color=color, fontweight="bold")


def _values_floor(values) -> float:
    positive = [v for v in values if v and v > 0]
    return min(positive) / 3 if positive else 0.1


def chart_first_vs_steady(record: dict) -> str | None:
    """Per model: first-run vs steady-state median latency for each cell, log scale (the seed's bars)."""
    grid = Grid(record)
    if not grid.models or not grid.columns:
        return None
    plt = _pyplot()
    ncols = len(grid.columns)
    width = 0.8 / (2 * ncols)
    fig, ax = plt.subplots(figsize=(max(7, 1.6 * len(grid.models) * max(1, ncols / 2)), 4.4))
    values = [v for m in grid.models for c in grid.columns
              for v in ((grid.cell(m, c) or {}).get("first_run_ms"),
                        steady_value(grid.cell(m, c), "latency_ms", "median"))]
    floor = _values_floor(values)
    for j, col in enumerate(grid.columns):
        color = _PALETTE[j % len(_PALETTE)]
        for i, model in enumerate(grid.models):
            cell = grid.cell(model, col)
            x0 = i + (2 * j - ncols) * width + width / 2
            if cell is None:
                continue
            status = failed(cell)
            if status:
                _gap(ax, x0 + width / 2, status, floor)
                continue
            first = cell.get("first_run_ms")
            steady = steady_value(cell, "latency_ms", "median")
            if first:
                ax.bar(x0, first, width, color=color, label=f"{col.label(grid.show_batch)} first run" if i == 0 else None)
            if steady:
                ax.bar(x0 + width, steady, width, color=color, alpha=0.45, hatch="//", edgecolor=color,
                       label=f"{col.label(grid.show_batch)} steady" if i == 0 else None)
    ax.set_yscale("log")
    ax.set_ylim(bottom=floor)
    ax.set_xticks(range(len(grid.models)))
    ax.set_xticklabels(grid.models, rotation=15, ha="right")
    ax.set_ylabel("ms (log scale)")
    ax.set_title("First run (load/build + first inference) vs steady-state median latency")
    ax.grid(axis="y", which="both", alpha=0.3)
    ax.legend(fontsize=8, ncol=2, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _png(fig)


def chart_fps(record: dict) -> str | None:
    """One panel per backend: median fps by precision (× batch), one bar group per model."""
    grid = Grid(record)
    backends = list(dict.fromkeys(c.backend for c in grid.columns))
    if not backends:
        return None
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(backends), figsize=(max(7, 4.2 * len(backends)), 4.2), squeeze=False)
    for ax, backend in zip(axes[0], backends):
        cols = [c for c in grid.columns if c.backend == backend]
        width = 0.8 / len(cols)
        fps_values = [steady_value(grid.cell(m, c), "fps", "median") for m in grid.models for c in cols]
        top = max([v for v in fps_values if v] or [1.0])
        for j, col in enumerate(cols):
            color = _PALETTE[(["fp32", "fp16", "int8"].index(col.precision) if col.precision in ("fp32", "fp16", "int8") else 3 + j) % len(_PALETTE)]
            for i, model in enumerate(grid.models):
                cell = grid.cell(model, col)
                x = i - 0.4 + width * (j + 0.5)
                if cell is None:
                    continue
                status = failed(cell)
                fps = steady_value(cell, "fps", "median")
                if status:
                    ax.annotate(status, (x, 0), xytext=(0, 4), textcoords="offset points", rotation=90,
                                ha="center", va="bottom", fontsize=8, color="#9b1c1c", fontweight="bold")
                    continue
                if fps:
                    err = ((cell.get("steady") or {}).get("fps") or {}).get("jitter")
                    ax.bar(x, fps, width, color=color, yerr=err, capsize=2,
                           label=col.label(grid.show_batch).split(" ", 1)[1] if i == 0 else None)
        ax.set_ylim(0, top * 1.15)
        ax.set_title(backend)
        ax.set_xticks(range(len(grid.models)))
        ax.set_xticklabels(grid.models, rotation=15, ha="right", fontsize=8)
        ax.set_ylabel("items/s (median; whisker = jitter)")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Throughput by precision")
    return _png(fig)


def chart_latency_distribution(record: dict) -> str | None:
    """Each cell: min–max line, median dot, mean cross, p99 tick with its uncertainty."""
    grid = Grid(record)
    rows = [(m, c) for m in grid.models for c in grid.columns if grid.cell(m, c) is not None]
    if not rows:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 0.42 * len(rows) + 1.4))
    stats = [((grid.cell(m, c).get("steady") or {}).get("latency_ms") or {}) for m, c in rows]
    floor = _values_floor([s.get("min") or s.get("median") for s in stats])
    for y, ((model, col), lat) in enumerate(zip(rows, stats)):
        cell = grid.cell(model, col)
        status = failed(cell)
        if status or not lat.get("median"):
            ax.annotate(status or "no timings", (floor, y), xytext=(4, 0), textcoords="offset points",
                        va="center", fontsize=8, color="#9b1c1c", fontweight="bold")
            continue
        low, high = lat.get("min", lat["median"]), lat.get("max", lat.get("p99", lat["median"]))
        ax.plot([low, high], [y, y], color="#888", lw=1)
        if lat.get("p90") is not None:
            ax.plot([lat["median"], lat["p90"]], [y, y], color="#1f77b4", lw=6, alpha=0.5,
                    label="median–p90" if y == 0 else None)
        ax.plot(lat["median"], y, "o", color="#1f77b4", label="median" if y == 0 else None)
        if lat.get("mean") is not None:
            ax.plot(lat["mean"], y, "x", color="#2ca02c", label="mean" if y == 0 else None)
        if lat.get("p99") is not None:
            ax.errorbar(lat["p99"], y, xerr=lat.get("p99_uncertainty") or 0, fmt="|", color="#d62728",
                        markersize=12, capsize=3, label="p99 ± uncertainty" if y == 0 else None)
    ax.set_xscale("log")
    ax.set_xlim(left=floor)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([f"{m} · {c.label(grid.show_batch)}" for m, c in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("latency per iteration, ms (log scale); grey line = min–max")
    ax.set_title("Steady-state latency distribution")
    ax.grid(axis="x", which="both", alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _png(fig)


def _table_html(header, rows, changes: dict | None = None) -> str:
    out = ["<table><thead><tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in header) + "</tr></thead><tbody>"]
    statuses = {"oom", "killed", "timeout", "crashed", "incompatible", "error", "skipped"}
    for row in rows:
        cells = []
        for i, value in enumerate(row):
            text = str(value)
            cls = ' class="failed"' if i > 0 and text.split(" ")[0] in statuses else ""
            if i > 0 and text.endswith("· throttled"):
                cls = ' class="throttled"'  # the power table: a run whose clocks or heat were capped
            if changes and i == len(row) - 1:
                cls = f' class="{changes.get(id(row), "")}"'
            cells.append(f"<td{cls}>{html.escape(text)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def _record_section(record: dict) -> str:
    parts = [f"<h1>{html.escape(title_of(record))}</h1>"]
    line = settings_line(record)
    if line:
        parts.append(f'<p class="note">{html.escape(line)}</p>')
    charts = [("first vs steady", chart_first_vs_steady(record)), ("fps by precision", chart_fps(record)),
              ("latency distribution", chart_latency_distribution(record))]
    parts.append("<h2>Charts</h2>")
    for name, png in charts:
        if png:
            parts.append(f'<img alt="{html.escape(name)}" src="data:image/png;base64,{png}">')
    for table in tables(record):
        parts.append(f"<h2>{html.escape(table.title)}</h2>")
        parts.append(_table_html(table.header, table.rows))
        parts += [f'<p class="note">{html.escape(n)}</p>' for n in table.notes]
    predictions = prediction_block(record)
    if predictions:
        parts.append("<h2>Predictions (top-5, probability)</h2>")
        parts.append("<pre>" + html.escape(predictions) + "</pre>")
    notes = failure_notes(record)
    if notes:
        parts.append("<h2>Cells that did not finish</h2><ul>"
                     + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>")
    return "\n".join(parts)


def _comparison_section(rows: list[dict]) -> str:
    header = ["Model", "Cell", "old ms", "new ms", "Change"]
    body, classes = [], {}
    for r in rows:
        row = [r["model"], f"{r['backend']} {r['precision']} b{r['batch']}",
               r["old_status"] if r["old_status"] != "ok" else f"{r['old_latency_ms']:.3g}" if r["old_latency_ms"] else "—",
               r["new_status"] if r["new_status"] != "ok" else f"{r['new_latency_ms']:.3g}" if r["new_latency_ms"] else "—",
               change_text(r)]
        body.append(row)
        classes[id(row)] = r["verdict"]
    return "<h1>Changes</h1>\n" + _table_html(header, body, classes)


def html_report(records: list[dict], comparison: list[dict] | None = None) -> str:
    """One HTML document for one or more bench records (and, optionally, compare() rows)."""
    if isinstance(records, dict):
        records = [records]
    _pyplot()  # fail early with the install hint, before any work
    sections = []
    if comparison:
        sections.append(_comparison_section(comparison))
    sections += [_record_section(r) for r in records]
    title = "edgetrt bench report" if len(records) != 1 else title_of(records[0])
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>\n"
            + "\n<hr>\n".join(sections) + "\n</body></html>\n")
