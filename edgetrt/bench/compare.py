"""Two bench records → per-cell changes: slower, faster, newly failing, fixed.

Cells match on (model, backend, precision, batch). The verdict uses the ratio new/old of the
steady-state median latency (fps when latency is missing): beyond ``threshold`` either way is a
regression or an improvement. A cell that finished before and fails now (ok → oom) is a
regression whatever the numbers; the reverse is an improvement.
"""

from __future__ import annotations

from edgetrt.bench.report_tables import markdown_table, number, steady_value
from edgetrt.errors import UsageError


def _key(cell: dict) -> tuple:
    return (cell["model"], cell["backend"], cell["precision"], int(cell.get("batch") or 1))


def _ratio(new, old):
    if new is None or old is None or old <= 0:
        return None
    return float(new) / float(old)


def compare(old: dict, new: dict, threshold: float = 0.10) -> list[dict]:
    """One dict per cell in either record, in the new record's display order."""
    if not 0 < threshold < 1:
        raise UsageError(f"--threshold {threshold}: give a fraction between 0 and 1 (0.10 = 10%)")
    old_cells = {_key(c): c for c in old.get("cells") or []}
    new_cells = {_key(c): c for c in new.get("cells") or []}
    order = list(new_cells) + [k for k in old_cells if k not in new_cells]
    rows = []
    for key in order:
        before, after = old_cells.get(key), new_cells.get(key)
        model, backend, precision, batch = key
        row = {"model": model, "backend": backend, "precision": precision, "batch": batch,
               "old_status": before.get("status") if before else None,
               "new_status": after.get("status") if after else None,
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
    if slower > 1 + threshold:
        return "regression", f"{slower:.2f}× slower"
    if slower < 1 - threshold:
        return "improvement", f"{1 / slower:.2f}× faster"
    return "same", f"within ±{threshold:.0%}"


MARKS = {"regression": "▲", "improvement": "▼", "same": "=", "added": "+", "removed": "−"}


def change_text(row: dict) -> str:
    """'▲ 1.80× slower', '▲ ok → oom', '▼ 2.00× faster', '= within ±10%'."""
    return f"{MARKS.get(row['verdict'], '?')} {row['reason']}"


def compare_markdown(old: dict, new: dict, threshold: float = 0.10) -> str:
    rows = compare(old, new, threshold)
    show_batch = len({r["batch"] for r in rows}) > 1
    header = ["Model", "Cell", f"old {old.get('run_id') or ''} ms".replace("  ", " "),
              f"new {new.get('run_id') or ''} ms".replace("  ", " "), "Change"]
    body = []
    for r in rows:
        cell = f"{r['backend']} {r['precision']}" + (f" b{r['batch']}" if show_batch else "")
        body.append([r["model"], cell, _timing(r["old_status"], r["old_latency_ms"]),
                     _timing(r["new_status"], r["new_latency_ms"]), change_text(r)])
    counts = {v: sum(1 for r in rows if r["verdict"] == v) for v in ("regression", "improvement", "same")}
    summary = (f"{counts['regression']} regression(s), {counts['improvement']} improvement(s), "
               f"{counts['same']} unchanged; threshold ±{threshold:.0%} on median latency")
    title = f"# Changes: {old.get('run_id') or 'old'} → {new.get('run_id') or 'new'}"
    return f"{title}\n\n{summary}\n\n{markdown_table(header, body)}\n"


def _timing(status, latency) -> str:
    if status is None:
        return "—"
    if status != "ok":
        return status
    return number(latency)


def regressions(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r["verdict"] == "regression"]


__all__ = ["compare", "compare_markdown", "change_text", "regressions"]
