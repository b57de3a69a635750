"""All terminal rendering in one place: rich tables, progress, errors, JSON."""

from __future__ import annotations

import json
import sys

from rich.console import Console
from rich.markup import escape
from rich.progress import (BarColumn, DownloadColumn, MofNCompleteColumn, Progress as RichBar,
                           SpinnerColumn, TextColumn, TimeElapsedColumn, TransferSpeedColumn)
from rich.table import Table

from edgetrt.api import Progress

out = Console()
err = Console(stderr=True)


def print_json(doc) -> None:
    sys.stdout.write(json.dumps(doc, indent=2, sort_keys=False, default=str) + "\n")
    sys.stdout.flush()


def print_error(message: str, hint: str | None = None) -> None:
    # Messages carry user paths and device output: never let "[...]" in them act as markup.
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, markup=True, soft_wrap=True)
    if hint:
        err.print(f"[yellow]hint:[/] {escape(hint)}", highlight=False, soft_wrap=True)


class RichProgress(Progress):
    """Progress on stderr, so stdout stays clean for --json."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled and err.is_terminal
        self._bar: RichBar | None = None
        self._task = None
        self._steps_left = 0

    def _fresh(self, *columns) -> RichBar:
        self.close()
        self._bar = RichBar(*columns, console=err, transient=False)
        self._bar.start()
        return self._bar

    def stage(self, text):
        if not self.enabled:
            return
        if self._steps_left:
            # A matrix is advancing: note the stage under its bar instead of replacing the bar.
            self._bar.console.print(f"  {escape(text)} …", highlight=False)
            return
        bar = self._fresh(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
        self._task = bar.add_task(text, total=None)

    def start_bytes(self, total, text):
        if not self.enabled:
            return
        bar = self._fresh(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                          TransferSpeedColumn())
        self._task = bar.add_task(text, total=total or None)

    def advance_bytes(self, n):
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task, n)

    def start_steps(self, total, text):
        if not self.enabled:
            return
        bar = self._fresh(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                          MofNCompleteColumn(), TimeElapsedColumn())
        self._task = bar.add_task(text, total=total)
        self._steps_left = total

    def step_done(self, text):
        if self._bar is not None and self._task is not None:
            self._steps_left = max(0, self._steps_left - 1)
            self._bar.advance(self._task, 1)
            self._bar.console.print(f"  {escape(text)}", highlight=False)

    def warn(self, text):
        err.print(f"[bold yellow]warning:[/] {escape(text)}", highlight=False, soft_wrap=True)

    def close(self):
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
            self._task = None
        self._steps_left = 0


def _fmt(value, spec=".2f", missing="—"):
    if value is None:
        return missing
    try:
        return format(value, spec)
    except (TypeError, ValueError):
        return str(value)


def models_table(models: list[dict]) -> None:
    table = Table(title="edgetrt model zoo (TF-slim names)")
    for col in ("name", "builds from", "input", "preprocessing", "default precisions", "note"):
        table.add_column(col)
    for m in models:
        note = "bring your own file" if not m["buildable"] else (
            "alphas " + ", ".join(f"{a:g}" for a in m["alphas"]) if m["alphas"] else "")
        table.add_row(m["name"], f"keras.applications.{m['builder']}" if m["builder"] else "—",
                      f"{m['input_size']}×{m['input_size']}", m["preprocessing"],
                      ", ".join(m["default_precisions"]), note)
    out.print(table)


def devices_table(devices: list[dict]) -> None:
    table = Table(title="devices")
    for col in ("name", "profile", "board", "CC", "memory", "TensorRT", "connection", "file"):
        table.add_column(col)
    for d in devices:
        facts, conn = d["facts"], d["connection"]
        where = "this host" if not conn else (conn["ssh"] or f"{conn.get('user') or ''}@{conn['host']}")
        table.add_row(d["name"], d["profile"], facts.get("board") or "", facts.get("compute_capability") or "—",
                      f"{facts['memory_mb']} MB" if facts.get("memory_mb") else "—",
                      facts.get("tensorrt") or "—", where, d["source"])
    out.print(table)


def convert_summary(report: dict) -> None:
    state = "cached" if report["cached"] else f"converted in {report['seconds']:.1f} s"
    out.print(f"[bold]{report['model']}[/] → {report['artifact_dir']} ({state})")
    weights = report.get("weights") or {}
    out.print(f"weights: {weights.get('kind')}" + (f" ({weights.get('path')})" if weights.get("path") else ""))
    table = Table()
    for col in ("file", "bytes", "sha256"):
        table.add_column(col)
    for a in report["artifacts"]:
        table.add_row(a["path"], f"{a['bytes']:,}", a["sha256"][:16])
    out.print(table)


def runs_table(report: dict, title: str | None = None) -> None:
    device = report.get("device", {})
    table = Table(title=title or f"{report['model']} on {device.get('name')} ({device.get('address', '')})")
    for col in ("run", "status", "first run ms", "median ms", "p99 ms", "fps ± unc.", "jitter", "peak MB",
                "message"):
        table.add_column(col, overflow="fold")
    for run in report["runs"]:
        steady = run.get("steady") or {}
        lat, fps = steady.get("latency_ms") or {}, steady.get("fps") or {}
        status = run["status"]
        style = "green" if status == "ok" else "red"
        table.add_row(f"{run['backend']} {run['precision']} b{run['batch']}", f"[{style}]{status}[/]",
                      _fmt(run.get("first_run_ms"), ".1f"), _fmt(lat.get("median"), ".3f"),
                      _fmt(lat.get("p99"), ".3f"),
                      f"{_fmt(fps.get('median'), '.1f')} ± {_fmt(fps.get('uncertainty'), '.1f')}" if fps else "—",
                      _fmt(fps.get("jitter"), ".1f"), _fmt(run.get("peak_memory_mb"), ".0f"),
                      escape(run.get("message") or ""))
    out.print(table)
    for run in report["runs"]:
        board = run.get("tegrastats")
        if board:
            out.print(f"{run['backend']} {run['precision']} b{run['batch']}: board RAM peak "
                      f"{_fmt(board.get('ram_used_peak_mb'), '.0f')}/{_fmt(board.get('ram_total_mb'), '.0f')} MB, "
                      f"GPU load mean {_fmt(board.get('gpu_load_mean_pct'), '.0f')}% "
                      f"(peak {_fmt(board.get('gpu_load_peak_pct'), '.0f')}%), tegrastats", highlight=False)
    transfer = report.get("transfer")
    if transfer:
        out.print(f"transfer: {transfer['bytes_sent']:,} bytes sent, {transfer['files_sent']} files sent, "
                  f"{transfer['files_skipped']} already on the device ({transfer['seconds']:.2f} s)")
    for w in report.get("warnings") or []:
        err.print(f"[bold yellow]warning:[/] {w}", soft_wrap=True)


def _agreement_text(cell: dict) -> str:
    agree = cell.get("agreement")
    if not agree:
        return "ref" if (cell["backend"], cell["precision"]) == ("tf", "fp32") else "—"
    if agree.get("meaningful") is False:
        return "n/a (random weights)"
    return f"{agree['top1']:.2f}/{agree['top5_overlap']:.2f}/{agree['max_abs_diff']:.3f}"


def bench_table(record: dict) -> None:
    device = record.get("device", {})
    table = Table(title=f"bench on {device.get('name')} — run {record.get('run_id', '')}")
    for col in ("model", "cell", "status", "first ms", "median ms", "p99 ms", "fps ± unc.", "peak MB",
                "MB", "agree top1/top5/|Δp|"):
        table.add_column(col, overflow="fold")
    for cell in record["cells"]:
        steady = cell.get("steady") or {}
        lat, fps = steady.get("latency_ms") or {}, steady.get("fps") or {}
        agree = cell.get("agreement")
        ok = cell["status"] == "ok"
        table.add_row(
            cell["model"], f"{cell['backend']} {cell['precision']} b{cell['batch']}",
            f"[{'green' if ok else 'red'}]{cell['status']}[/]",
            _fmt(cell.get("first_run_ms"), ".0f"), _fmt(lat.get("median"), ".3f"), _fmt(lat.get("p99"), ".3f"),
            f"{_fmt(fps.get('median'), '.1f')} ± {_fmt(fps.get('uncertainty'), '.1f')}" if fps else "—",
            _fmt(cell.get("peak_memory_mb"), ".0f"),
            _fmt(cell["artifact_bytes"] / 1e6 if cell.get("artifact_bytes") else None, ".1f"),
            _agreement_text(cell))
    out.print(table)
    for cell in record["cells"]:
        if cell["status"] != "ok" and cell.get("message"):
            err.print(f"[red]{cell['model']} {cell['backend']} {cell['precision']} b{cell['batch']}:[/] "
                      f"{cell['message']}", soft_wrap=True, highlight=False)
    if record.get("saved_to"):
        out.print(f"saved: {record['saved_to']}")
