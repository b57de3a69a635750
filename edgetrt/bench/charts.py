"""The HTML report's charts, as matplotlib figures (``Figure`` objects, no pyplot state).

Each chart function returns a Chart: a figure, or none and a sentence saying why (nothing
finished). A cell that did not finish is a labelled gap with its status word, never a
zero-height bar; a bar is drawn only for a figure the record holds. Axis limits are set from
every drawn value, whiskers included, so nothing runs off a chart; constrained layout keeps the
labels of one panel off the next.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

from edgetrt.bench.cells import failed, steady_value
from edgetrt.bench.chart_style import DPI, FAILED_COLOUR, FIGURE_WIDTH_IN, SeriesStyles, require_matplotlib
from edgetrt.bench.device_facts import device_status
from edgetrt.bench.report_tables import Grid
from edgetrt.bench.side_by_side import Sheet


@dataclass
class Chart:
    name: str
    figure: object | None = None
    sentence: str | None = None  # shown instead of the figure, or under it


def _figure(height_in: float):
    require_matplotlib()
    from matplotlib.figure import Figure

    return Figure(figsize=(FIGURE_WIDTH_IN, max(2.6, height_in)), dpi=DPI, layout="constrained")


def png_base64(figure) -> str:
    buf = io.BytesIO()
    figure.savefig(buf, format="png", dpi=DPI)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _tick_text(value: float) -> str:
    return f"{value / 1000:g}k" if value >= 1000 else f"{value:g}"


def _log_axis(axis, low: float, high: float):
    """A log axis read in plain numbers (5, 10, 20, 50, 1k ms), not powers of ten; 1-2-5 steps
    only where the range is short enough for their labels to stand apart."""
    import math

    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    decades = math.log10(max(high, low * 1.0001) / low) if low > 0 else 6
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0) if decades <= 2.5 else (1.0,)))
    axis.set_major_formatter(FuncFormatter(lambda value, _pos: _tick_text(value)))
    axis.set_minor_formatter(NullFormatter())


def _status_word(ax, x, y, status, horizontal=False):
    ax.annotate(status, (x, y), xytext=(4, 0) if horizontal else (0, 4), textcoords="offset points",
                rotation=0 if horizontal else 90, ha="left" if horizontal else "center",
                va="center" if horizontal else "bottom", fontsize=8, color=FAILED_COLOUR, fontweight="bold")


def _positive(values) -> list[float]:
    return [float(v) for v in values if isinstance(v, (int, float)) and v > 0]


def _bar_kwargs(style, light=False):
    return dict(color=style.colour, alpha=0.45 if light else 1.0, hatch=style.hatch or None,
                edgecolor=style.colour if light else "white", linewidth=0.8)


NOTHING = "nothing finished, so there is nothing to draw; the tables give each cell's status"


def chart_first_vs_steady(record: dict, styles: SeriesStyles) -> Chart:
    """Per model: first run (solid) and steady-state median latency (light), log scale."""
    grid = Grid(record)
    name = "first run vs steady-state latency"
    values = [v for h in grid.headlines.values() if not failed(h.cell)
              for v in _positive([h.cell.get("first_run_ms"), steady_value(h.cell, "latency_ms", "median")])]
    if not values:
        return Chart(name, sentence=f"First run vs steady state: {NOTHING}.")
    fig = _figure(4.6)
    ax = fig.add_subplot()
    ncols = len(grid.columns)
    width = 0.8 / (2 * ncols)
    floor = min(values) / 3
    for j, col in enumerate(grid.columns):
        label = col.label(grid.show_batch)
        style = styles[label]
        for i, model in enumerate(grid.models):
            cell = grid.cell(model, col)
            x0 = i + (2 * j - ncols) * width + width / 2
            if cell is None:
                continue
            if failed(cell):
                _status_word(ax, x0 + width / 2, floor, failed(cell))
                continue
            first, steady = cell.get("first_run_ms"), steady_value(cell, "latency_ms", "median")
            if first:
                ax.bar(x0, first, width, label=label if label not in _labels(ax) else None,
                       **_bar_kwargs(style))
            if steady:
                ax.bar(x0 + width, steady, width, **_bar_kwargs(style, light=True))
    ax.set_xlim(-0.6, len(grid.models) - 0.4)
    ax.set_yscale("log")
    _log_axis(ax.yaxis, floor, max(values) * 2.5)
    ax.set_ylim(floor, max(values) * 2.5)
    ax.set_xticks(range(len(grid.models)), grid.models, rotation=15, ha="right", rotation_mode="anchor", fontsize=9)
    ax.set_ylabel("ms (log scale)")
    ax.set_title("First run (load/build + first inference, solid) vs steady-state median latency (light)")
    ax.grid(axis="y", which="major", alpha=0.3)
    _legend(ax)
    return Chart(name, fig)


def _labels(ax) -> list[str]:
    return ax.get_legend_handles_labels()[1]


def _legend(ax, **kwargs):
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        unique = dict(zip(labels, handles))
        ax.legend(unique.values(), unique.keys(), fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0), **kwargs)


def chart_fps(record: dict, styles: SeriesStyles) -> Chart:
    """One panel per backend that finished something: median fps per column, whisker = jitter."""
    grid = Grid(record)
    name = "fps by backend"
    backends = list(dict.fromkeys(c.backend for c in grid.columns))
    drawn, left_out = [], []
    for backend in backends:
        cols = [c for c in grid.columns if c.backend == backend]
        if any(steady_value(grid.cell(m, c), "fps", "median") for m in grid.models for c in cols
               if not failed(grid.cell(m, c))):
            drawn.append((backend, cols))
        else:
            left_out.append(backend)
    sentence = (f"Not drawn: {', '.join(left_out)} (nothing finished)." if left_out else None)
    if not drawn:
        return Chart(name, sentence=f"Throughput: {NOTHING}.")
    fig = _figure(4.4)
    axes = fig.subplots(1, len(drawn), squeeze=False)[0]
    for n, (ax, (backend, cols)) in enumerate(zip(axes, drawn)):
        models = [m for m in grid.models if any(grid.cell(m, c) for c in cols)]
        width = 0.8 / len(cols)
        top = 0.0
        for j, col in enumerate(cols):
            label = col.label(grid.show_batch)
            style = styles[label]
            for i, model in enumerate(models):
                cell = grid.cell(model, col)
                x = i - 0.4 + width * (j + 0.5)
                if cell is None:
                    continue
                if failed(cell):
                    _status_word(ax, x, 0, failed(cell))
                    continue
                fps = steady_value(cell, "fps", "median")
                if not fps:
                    continue
                jitter = steady_value(cell, "fps", "jitter") or 0.0
                # Throughput cannot go below zero: the lower whisker stops at the axis.
                ax.bar(x, fps, width, yerr=[[min(jitter, fps)], [jitter]], capsize=2,
                       error_kw={"elinewidth": 1, "ecolor": "#222"},
                       label=label if label not in _labels(ax) else None, **_bar_kwargs(style))
                top = max(top, fps + jitter)
        ax.set_ylim(0, top * 1.15)
        ax.set_xlim(-0.6, len(models) - 0.4)  # status words stand where bars would, not on the frame
        ax.set_title(backend)
        ax.set_xticks(range(len(models)), models, rotation=30, ha="right", rotation_mode="anchor", fontsize=8)
        if n == 0:
            ax.set_ylabel("items/s (median; whisker = jitter)")
        ax.grid(axis="y", alpha=0.3)
        handles, labels = ax.get_legend_handles_labels()
        if handles:
            ax.legend(fontsize=8, loc="upper right")
    fig.suptitle("Throughput by backend")
    return Chart(name, fig, sentence)


def chart_latency_distribution(record: dict, styles: SeriesStyles) -> Chart:
    """Each finished cell: min–max line, median–p90 bar and median dot in its series colour, mean
    cross, p99 tick with its uncertainty."""
    grid = Grid(record)
    name = "latency distribution"
    rows = []
    for model in grid.models:
        for col in grid.columns:
            cell = grid.cell(model, col)
            lat = ((cell or {}).get("steady") or {}).get("latency_ms") or {}
            if cell is not None and not failed(cell) and lat.get("median"):
                rows.append((model, col, lat))
    left_out = sum(1 for h in grid.headlines.values() if failed(h.cell))
    sentence = (f"{left_out} cell(s) that did not finish are in the tables, not in this chart."
                if left_out and rows else None)
    if not rows:
        return Chart(name, sentence=f"Latency distribution: {NOTHING}.")
    fig = _figure(0.32 * len(rows) + 1.6)
    ax = fig.add_subplot()
    highs, lows = [], []
    for y, (model, col, lat) in enumerate(rows):
        style = styles[col.label(grid.show_batch)]
        median = lat["median"]
        low = lat.get("min", median)
        high = max(v for v in (lat.get("max"), lat.get("p99"), median) if v is not None)
        p99, p99_unc = lat.get("p99"), lat.get("p99_uncertainty") or 0.0
        ax.plot([low, high], [y, y], color="#999", lw=1)
        if lat.get("p90") is not None:
            ax.plot([median, lat["p90"]], [y, y], color=style.colour, lw=6, alpha=0.5, solid_capstyle="butt",
                    label="median–p90" if y == 0 else None)
        ax.plot(median, y, style.marker, color=style.colour, markersize=6, label="median" if y == 0 else None)
        if lat.get("mean") is not None:
            ax.plot(lat["mean"], y, "x", color="#222", label="mean" if y == 0 else None)
        if p99 is not None:
            ax.errorbar(p99, y, xerr=min(p99_unc, p99 * 0.9), fmt="|", color="#222", markersize=10, capsize=3,
                        label="p99 ± uncertainty" if y == 0 else None)
            high = max(high, p99 + p99_unc)
        highs.append(high)
        lows.append(min(low, p99 - p99_unc if p99 is not None else low))
    ax.set_xscale("log")
    x_low = min(_positive(lows) or [min(r[2]["median"] for r in rows)]) / 1.3
    _log_axis(ax.xaxis, x_low, max(highs) * 1.3)
    ax.set_xlim(x_low, max(highs) * 1.3)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_yticks(range(len(rows)), [f"{m} · {c.label(grid.show_batch)}" for m, c, _ in rows], fontsize=8)
    ax.set_xlabel("latency per iteration, ms (log scale); grey line = min–max")
    ax.set_title("Steady-state latency distribution")
    ax.grid(axis="x", which="both", alpha=0.3)
    _legend(ax)
    return Chart(name, fig, sentence)


def _legend_columns(labels: list[str]) -> int:
    """As many legend columns as fit the figure's width (about 6 px a character at 9 pt, plus the
    swatch), so a long run label never pushes the legend past the figure's edges."""
    entry_px = 6.5 * max(len(label) for label in labels) + 50
    return max(1, min(len(labels), int(FIGURE_WIDTH_IN * DPI * 0.95 // entry_px)))


def chart_side_by_side(records: list[dict], styles: SeriesStyles) -> Chart:
    """Runs side by side, one colour per run: median latency (whisker to p99) and first run of
    every cell that finished somewhere, log scale."""
    sheet = Sheet(records)
    name = "runs side by side"
    keys = [k for k in sheet.keys
            if any(not failed(sheet.cell(i, k)) and steady_value(sheet.cell(i, k), "latency_ms", "median")
                   for i in range(len(records)) if sheet.cell(i, k))]
    if not keys:
        return Chart(name, sentence=f"Runs side by side: {NOTHING}.")
    # A run without a single cell (its device failed before measuring) gets no empty lane.
    lanes = [i for i, column in enumerate(sheet.columns) if column]
    empty = [f"{sheet.labels[i]} ({device_status(records[i])})" for i in range(len(records)) if i not in lanes]
    sentence = f"Not drawn, no cell: {'; '.join(empty)}." if empty else None
    n = len(lanes)
    fig = _figure(0.2 * len(keys) * max(1.0, 0.75 * n) + 1.8)
    ax_latency, ax_first = fig.subplots(1, 2, sharey=True)
    height = 0.8 / n
    panels = ((ax_latency, "steady-state median latency, ms (log); whisker = p99"),
              (ax_first, "first run, ms (log): load/build + first inference"))
    for ax, title in panels:
        drawn = []
        for lane, i in enumerate(lanes):
            label = sheet.labels[i]
            style = styles[label]
            for row, key in enumerate(keys):
                cell = sheet.cell(i, key)
                y = row - 0.4 + height * (lane + 0.5)
                if cell is None:
                    continue
                if failed(cell):
                    drawn.append(("status", y, failed(cell)))
                    continue
                if ax is ax_latency:
                    median, p99 = steady_value(cell, "latency_ms", "median"), steady_value(cell, "latency_ms", "p99")
                    if not median:
                        continue
                    whisker = [[0], [max(0.0, p99 - median)]] if p99 else None
                    ax.barh(y, median, height, xerr=whisker, capsize=2, error_kw={"elinewidth": 1, "ecolor": "#222"},
                            label=label if label not in _labels(ax) else None, **_bar_kwargs(style))
                    drawn += [("value", y, median)] + ([("value", y, p99)] if p99 else [])
                elif cell.get("first_run_ms"):
                    ax.barh(y, cell["first_run_ms"], height, **_bar_kwargs(style))
                    drawn.append(("value", y, cell["first_run_ms"]))
        values = _positive([v for kind, _, v in drawn if kind == "value"]) or [1.0]
        floor = min(values) / 3
        for kind, y, status in drawn:
            if kind == "status":
                _status_word(ax, floor, y, status, horizontal=True)
        ax.set_xscale("log")
        _log_axis(ax.xaxis, floor, max(values) * 3)
        ax.set_xlim(floor, max(values) * 3)
        ax.set_title(title, fontsize=10)
        ax.grid(axis="x", which="major", alpha=0.3)
    ax_latency.set_ylim(len(keys) - 0.5, -0.5)
    ax_latency.set_yticks(range(len(keys)), [f"{k.model} · {k.label(sheet.show_batch)}" for k in keys], fontsize=8)
    handles, labels = ax_latency.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper center", ncols=_legend_columns(labels), fontsize=9)
    return Chart(name, fig, sentence)
