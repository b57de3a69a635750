"""How the reports read a record's cells: keys, the headline run of each cell, profiled runs,
and whether agreement means anything.

A cell is (model, backend, precision, batch). A record may hold more than one run of a cell: a
profiled run beside an unprofiled one, or a retry. A profiled run's timings carry the profiler's
cost (ONNX Runtime's profiler is on while the loop is timed), so whenever a cell also has an
unprofiled run, that one is the cell's headline and the profiled run is kept for its layer times.

Agreement with random weights means nothing: every class scores about the same, so any two
runs "agree". The pipeline marks such agreement ``meaningful: false``; records written before
that mark existed still say ``weights.kind: random`` in their conversions, and either is enough.
"""

from __future__ import annotations

from dataclasses import dataclass

REFERENCE = ("tf", "fp32")
BACKEND_ORDER = ("tf", "onnxruntime", "tftrt", "tensorrt")
PRECISION_ORDER = ("fp32", "fp16", "int8")


@dataclass(frozen=True)
class CellKey:
    model: str
    backend: str
    precision: str
    batch: int

    def label(self, show_batch: bool = True) -> str:
        """'tensorrt fp16 b8' (without the model)."""
        text = f"{self.backend} {self.precision}"
        return f"{text} b{self.batch}" if show_batch else text

    @property
    def is_reference(self) -> bool:
        return (self.backend, self.precision) == REFERENCE

    def sort_key(self, models: list[str]) -> tuple:
        model = models.index(self.model) if self.model in models else len(models)
        return (model, _rank(self.backend, BACKEND_ORDER), _rank(self.precision, PRECISION_ORDER), self.batch)


def _rank(value: str, order: tuple) -> tuple:
    return (order.index(value), "") if value in order else (len(order), value)


def cell_key(cell: dict) -> CellKey:
    return CellKey(str(cell["model"]), str(cell["backend"]), str(cell["precision"]), int(cell.get("batch") or 1))


def failed(cell: dict | None) -> str | None:
    """The status word of a run that did not finish, else None."""
    if cell is None:
        return None
    status = cell.get("status") or "error"
    return None if status == "ok" else status


def steady_value(cell: dict | None, block: str, stat: str):
    steady = (cell or {}).get("steady") or {}
    return (steady.get(block) or {}).get(stat)


def is_profiled(cell: dict | None) -> bool:
    """The profiler ran in this run: it says so, or it brought layer times back."""
    return bool(cell) and (bool(cell.get("profiled")) or bool(cell.get("profile")))


@dataclass(frozen=True)
class Headline:
    """The run that stands for a cell in every table and chart, and the cell's other runs."""

    key: CellKey
    cell: dict
    others: tuple = ()

    @property
    def profiled(self) -> bool:
        return is_profiled(self.cell)

    @property
    def unprofiled_heads_profiled(self) -> bool:
        """True when the headline is unprofiled and a profiled run of the cell was set aside."""
        return not self.profiled and any(is_profiled(c) for c in self.others)

    def runs(self) -> tuple:
        return (self.cell,) + tuple(self.others)


def headlines(cells: list[dict]) -> dict[CellKey, Headline]:
    """One Headline per cell key, in the order the keys first appear.

    Among a cell's runs the unprofiled ones come first; of those, the first that finished heads
    (else the first). A profiled run heads only when the cell has no unprofiled run at all.
    """
    groups: dict[CellKey, list[dict]] = {}
    for cell in cells or []:
        groups.setdefault(cell_key(cell), []).append(cell)
    out = {}
    for key, runs in groups.items():
        unprofiled = [c for c in runs if not is_profiled(c)]
        pool = unprofiled or runs
        head = next((c for c in pool if not failed(c)), pool[0])
        out[key] = Headline(key, head, tuple(c for c in runs if c is not head))
    return out


def random_weights_models(record: dict) -> list[str]:
    """Models of this record that ran with random weights (their agreement means nothing)."""
    models = []
    for model, conversion in (record.get("conversions") or {}).items():
        if ((conversion or {}).get("weights") or {}).get("kind") == "random":
            models.append(model)
    for cell in record.get("cells") or []:
        if (cell.get("agreement") or {}).get("meaningful") is False and cell["model"] not in models:
            models.append(cell["model"])
    return models


def agreement_meaningful(cell: dict | None, record: dict) -> bool:
    """False when the cell's model ran with random weights (one of its cells' agreement says
    so, or its conversion does): the weights are the model's, so all its cells share the verdict."""
    return (cell or {}).get("model") not in random_weights_models(record)


def measured(record: dict) -> bool:
    """True when at least one run of the record finished with a steady-state timing."""
    return any(not failed(c) and steady_value(c, "latency_ms", "median") is not None
               for c in record.get("cells") or [])
