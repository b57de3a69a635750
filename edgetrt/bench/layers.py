"""``--profile``: each profiled cell's slowest layers (top 10, with their share of the total).

A profile is ``{"source": "onnxruntime|trtexec|tensorrt ...", "layers": [{"name", "time_ms",
"percent", ("op", "calls")}], "nodes": N}``, layers slowest first; ``percent`` is the layer's
share of the time of all profiled layers (not only of those listed). The layer times are the
profiler's, per inference; they are never the cell's headline latency.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from edgetrt.bench.cells import Headline, failed, is_profiled
from edgetrt.bench.text import number, one_line

TOP = 10


@dataclass
class LayerTable:
    title: str
    header: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)


def _share(layer: dict) -> str:
    percent = layer.get("percent")
    return f"{float(percent):.1f}%" if isinstance(percent, (int, float)) else "—"


def layer_table(label: str, cell: dict, headline: bool, top: int = TOP) -> LayerTable | None:
    """The slowest ``top`` layers of one profiled run, or None when it brought no layer times."""
    profile = cell.get("profile") or {}
    layers = [l for l in profile.get("layers") or [] if isinstance(l, dict) and l.get("name") is not None]
    if not layers or failed(cell):
        return None
    layers = sorted(layers, key=lambda l: -float(l.get("time_ms") or 0.0))[:top]
    with_op = any(l.get("op") for l in layers)
    header = ["#", "Layer"] + (["Op"] if with_op else []) + ["ms per inference", "Share"]
    rows = []
    for rank, layer in enumerate(layers, 1):
        row = [str(rank), one_line(layer["name"])] + ([one_line(layer.get("op") or "")] if with_op else [])
        rows.append(row + [number(layer.get("time_ms")), _share(layer)])
    source = one_line(profile.get("source") or "profiler")
    nodes = profile.get("nodes")
    title = f"{label} — {source}" + (f", {nodes} layers in all" if isinstance(nodes, int) else "")
    notes = []
    covered = [float(l["percent"]) for l in layers if isinstance(l.get("percent"), (int, float))]
    if covered:
        notes.append(f"these {len(layers)} layers take {sum(covered):.1f}% of the profiled time")
    if not headline:
        notes.append("a profiled run beside the unprofiled one that heads this cell's figures")
    return LayerTable(title, header, rows, notes)


def layer_tables(headlines: dict, label_of=None) -> list[LayerTable]:
    """A table per profiled run, in the cells' order. ``label_of(key)`` names the cell."""
    out = []
    for key, headline in headlines.items():
        headline: Headline
        label = label_of(key) if label_of else f"{key.model} {key.label()}"
        for run in headline.runs():
            if is_profiled(run):
                table = layer_table(label, run, headline=run is headline.cell)
                if table:
                    out.append(table)
    return out
