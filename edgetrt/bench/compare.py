"""Two bench records → per-cell changes: slower, faster, newly failing, fixed.

The two records may be one device at two times or two devices (``report --compare`` across a
fleet): cells match on (model, backend, precision, batch) either way, each side's headline run
(cells.headlines: never a profiled run where an unprofiled one exists), and the columns are
labelled by device when the devices differ. The verdict uses the ratio new/old of the
steady-state median latency (fps when latency is missing): beyond ``threshold`` either way is a
regression or an improvement. A cell that finished before and fails now (ok → oom) is a
regression whatever the numbers; the reverse is an improvement.
"""

from __future__ import annotations

from edgetrt.bench.cells import headlines, is_profiled, steady_value
from edgetrt.bench.runs import run_labels
from edgetrt.bench.text import markdown_table, md_cell, number
from edgetrt.errors import UsageError


def _ratio(new, old):
    if new is None or old is None or old <= 0:
        return None
    return float(new) / float(old)


def compare(old: dict, new: dict, threshold: float = 0.10) -> list[dict]:
    """One dict per cell in either record, in the new record's display order."""
    if not 0 < threshold < 1:
        raise UsageError(f"--threshold {threshold}: give a fraction between 0 and 1 (0.10 = 10%)")
    old_cells = {k: h.cell for k, h in headlines(old.get("cells") or []).items()}
    new_cells = {k: h.cell for k, h in headlines(new.get("cells") or []).items()}
    order = list(new_cells) + [k for k in old_cells if k not in new_cells]
    rows = []
    for key in order:
        before, after = old_cells.get(key), new_cells.get(key)
        row = {"model": key.model, "backend": key.backend, "precision": key.precision, "batch": key.batch,
               "old_status": before.get("status") if before else None,
               "new_status": after.get("status") if after else None,
               "old_profiled": is_profiled(before), "new_profiled": is_profiled(after),
               "old_latency_ms": steady_value(before, "latency_ms", "median"),
               "new_latency_ms": steady_value(after, "latency_ms", "median"),
               "old_fps": steady_value(before, "fps", "median"),
               "new_fps": steady_value(after, "fps", "median")}
        row["latency_ratio"] = _ratio(row["new_latency_ms"], row["old_latency_ms"])
        row["fps_ratio"] = _ratio(row["new_fps"], row["old_fps"])
        row["first_run_ratio"] = _ratio((after or {}).get("first_run_ms"), (before or {}).get("first_run_ms"))
        row["memory_ratio"] = _ratio((after or {}).get("peak_memory_mb"), (before or {}).get("peak_memory_mb"))
        row["verdict"], row["reason"] = _verdict(row, threshold)
        rows.append(row)
    return rows


def _verdict(row: dict, threshold: float) -> tuple[str, str]:
    old_status, new_status = row["old_status"], row["new_status"]
    if old_status is None:
        return "added", f"new cell ({new_status})"
    if new_status is None:
        return "removed", f"no longer run (was {old_status})"
    if old_status == "ok" and new_status != "ok":
        return "regression", f"ok → {new_status}"
    if old_status != "ok" and new_status == "ok":
        return "improvement", f"{old_status} → ok"
    if old_status != "ok":
        return "same", f"still failing ({old_status} → {new_status})" if old_status != new_status \
            else f"still {new_status}"
    slower = row["latency_ratio"]
    if slower is None and row["fps_ratio"]:
        slower = 1.0 / row["fps_ratio"]
    if slower is None:
        return "same", "no timings to compare"
    profiled = " (a profiled run)" if row["old_profiled"] != row["new_profiled"] else ""
    if slower > 1 + threshold:
        return "regression", f"{slower:.2f}× slower{profiled}"
    if slower < 1 - threshold:
        return "improvement", f"{1 / slower:.2f}× faster{profiled}"
    return "same", f"within ±{threshold:.0%}{profiled}"


MARKS = {"regression": "▲", "improvement": "▼", "same": "=", "added": "+", "removed": "−"}


def change_text(row: dict) -> str:
    """'▲ 1.80× slower', '▲ ok → oom', '▼ 2.00× faster', '= within ±10%'."""
    return f"{MARKS.get(row['verdict'], '?')} {row['reason']}"


def timing_text(status, latency, profiled: bool = False) -> str:
    if status is None:
        return "—"
    if status != "ok":
        return status
    return number(latency) + (" (profiled)" if profiled and latency is not None else "")


def compare_title(old: dict, new: dict) -> str:
    old_label, new_label = run_labels([old, new])
    return f"Changes: {old_label} → {new_label}"


def compare_summary(rows: list[dict], threshold: float, old_label: str, new_label: str) -> str:
    """'2 regression(s), 11 improvement(s), 3 unchanged; threshold ±10% on median latency, B against A'."""
    counts = {v: sum(1 for r in rows if r["verdict"] == v) for v in ("regression", "improvement", "same")}
    return (f"{counts['regression']} regression(s), {counts['improvement']} improvement(s), "
            f"{counts['same']} unchanged; threshold ±{threshold:.0%} on median latency, "
            f"{new_label} against {old_label}")


def compare_markdown(old: dict, new: dict, threshold: float = 0.10, level: int = 1) -> str:
    rows = compare(old, new, threshold)
    old_label, new_label = run_labels([old, new])
    show_batch = len({r["batch"] for r in rows}) > 1
    header = ["Model", "Cell", f"{old_label} ms", f"{new_label} ms", "Change"]
    body = []
    for r in rows:
        cell = f"{r['backend']} {r['precision']}" + (f" b{r['batch']}" if show_batch else "")
        body.append([r["model"], cell, timing_text(r["old_status"], r["old_latency_ms"], r["old_profiled"]),
                     timing_text(r["new_status"], r["new_latency_ms"], r["new_profiled"]), change_text(r)])
    summary = compare_summary(rows, threshold, old_label, new_label)
    title = f"{'#' * level} {md_cell(compare_title(old, new))} ({old.get('run_id') or 'old'} → {new.get('run_id') or 'new'})"
    return f"{title}\n\n{md_cell(summary)}\n\n{markdown_table(header, body)}\n"


def regressions(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r["verdict"] == "regression"]


__all__ = ["compare", "compare_markdown", "compare_summary", "change_text", "regressions", "timing_text"]
