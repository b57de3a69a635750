"""All terminal rendering in one place: rich tables, progress, errors, JSON.

rich is imported when something is rendered with it, not when this module is: `--json` output
and a run without a terminal for progress never load it.
"""

from __future__ import annotations

import json
import sys

from edgetrt.api import Progress, figure


class _Console:
    """A rich Console made on first use (``out`` and ``err`` below)."""

    def __init__(self, **settings):
        self._settings = settings
        self._console = None

    def rich(self):
        """The rich Console itself (for rich objects that take one)."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._settings)
        return self._console

    def __getattr__(self, name):
        return getattr(self.rich(), name)


out = _Console()
err = _Console(stderr=True)


def escape(text: str) -> str:
    """rich markup in ``text`` shown as text, not applied."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def _finite(value):
    """Strict JSON: a non-finite float (NaN, Infinity) becomes null."""
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def print_json(doc) -> None:
    sys.stdout.write(json.dumps(_finite(doc), indent=2, sort_keys=False, default=str, allow_nan=False) + "\n")
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
        from rich.progress import Progress as RichBar

        self.close()
        self._bar = RichBar(*columns, console=err.rich(), transient=False)
        self._bar.start()
        return self._bar

    def stage(self, text):
        if not self.enabled:
            return
        if self._steps_left:
            # A matrix is advancing: note the stage under its bar instead of replacing the bar.
            self._bar.console.print(f"  {escape(text)} …", highlight=False)
            return
        from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

        bar = self._fresh(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
        self._task = bar.add_task(text, total=None)

    def start_bytes(self, total, text):
        if not self.enabled:
            return
        from rich.progress import BarColumn, DownloadColumn, TextColumn, TransferSpeedColumn

        bar = self._fresh(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                          TransferSpeedColumn())
        self._task = bar.add_task(text, total=total or None)

    def advance_bytes(self, n):
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task, n)

    def start_steps(self, total, text):
        if not self.enabled:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TextColumn, TimeElapsedColumn

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
        if getattr(self, "_live", None) is not None:
            self._live.stop()
            self._live = None

    # -- several devices at once: a live table on a terminal, a line per event through a pipe --
    def fleet(self, names):
        import threading

        self.close()
        self._lock = threading.Lock()
        self._states = {name: "waiting" for name in names}
        self._live = None
        if self.enabled:
            from rich.live import Live

            self._live = Live(self._fleet_view(), console=err.rich(), refresh_per_second=4, transient=False)
            self._live.start()

    def device(self, name):
        if not hasattr(self, "_states"):
            return self
        return _DeviceProgress(self, name)

    def _fleet_view(self):
        table = _table(None, ["device", "doing"], text_columns=("doing",))
        for name, state in self._states.items():
            table.add_row(escape(name), escape(state))
        return table

    def _device_event(self, name, text, line=False):
        with self._lock:
            self._states[name] = text
            if self._live is not None:
                self._live.update(self._fleet_view())
            elif line:
                # Piped (CI, a log file): one line per device event, no spinners.
                err.print(f"{escape(name)}: {escape(text)}", highlight=False, markup=True, soft_wrap=True)


class _DeviceProgress(Progress):
    """One device's events, into the fleet view of a RichProgress (called from its thread)."""

    def __init__(self, parent, name):
        self.parent, self.name = parent, name
        self._total = self._sent = 0
        self._label = ""
        self._steps = self._done = 0

    def stage(self, text):
        self.parent._device_event(self.name, text, line=True)

    def start_bytes(self, total, text):
        self._total, self._sent, self._label = total, 0, text
        self.parent._device_event(self.name, text, line=True)

    def advance_bytes(self, n):
        self._sent += n
        if self._total:
            self.parent._device_event(self.name, f"{self._label}: {100 * self._sent // self._total}%")

    def start_steps(self, total, text):
        self._steps, self._done = total, 0
        self.parent._device_event(self.name, f"{text}: 0/{total}", line=True)

    def step_done(self, text):
        self._done += 1
        self.parent._device_event(self.name, f"{self._done}/{self._steps} {text}", line=True)

    def warn(self, text):
        self.parent.warn(f"{self.name}: {text}")


def _fmt(value, spec=".2f", missing="—"):
    if value is None or isinstance(value, bool):
        return missing
    try:
        return format(value, spec)
    except (TypeError, ValueError):
        return str(value)


def _num(value, missing="—") -> str:
    """A measured figure as every report writes it (edgetrt.bench.text.number)."""
    return figure(value, missing=missing)


def _width() -> int:
    return out.width or 80


def _table(title: str | None, headers: list[str], text_columns: tuple[str, ...] = ()) -> Table:
    """A compact table that survives 80 columns and pipes: no vertical rules, one space between
    columns; names and numbers never wrap (a column is never narrower than its header); only the
    ``text_columns`` may fold."""
    from rich import box
    from rich.table import Table

    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, padding=0, title_justify="left",
                  show_edge=False)
    for header in headers:
        if header in text_columns:
            table.add_column(header, overflow="fold", min_width=min(len(header), 12))
        else:
            table.add_column(header, no_wrap=True, min_width=len(header))
    return table


def short_path(path: str | None) -> str:
    """A path as a person wants to read it: relative to the edgetrt cache, or with ~ for home."""
    import os

    if not path:
        return ""
    from edgetrt import api

    for base, label in ((api.cache_home(), "<cache>"), (os.path.expanduser("~"), "~")):
        base = str(base).rstrip("/")
        if path == base or path.startswith(base + "/"):
            return label + path[len(base):]
    return path


def _notes(notes: list[tuple[str, str]]) -> None:
    """Messages too long for a table cell, below it: "label: text", wrapped at the terminal's width."""
    for label, text in notes:
        out.print(f"{escape(label)}: {escape(text)}", markup=True, highlight=False)


def models_table(models: list[dict]) -> None:
    wide = _width() >= 110
    headers = ["name", "input", "preprocessing", "precisions", "note"]
    if wide:
        headers.insert(1, "builds from")
    table = _table("edgetrt model zoo (TF-slim names)", headers, text_columns=("note",))
    for m in models:
        note = "bring your own file" if not m["buildable"] else (
            "alphas " + ", ".join(f"{a:g}" for a in m["alphas"]) if m["alphas"] else "")
        row = [m["name"], f"{m['input_size']}×{m['input_size']}", m["preprocessing"],
               ",".join(m["default_precisions"]), note]
        if wide:
            row.insert(1, f"keras.applications.{m['builder']}" if m["builder"] else "—")
        table.add_row(*row)
    out.print(table)


def devices_table(devices: list[dict]) -> None:
    wide = _width() >= 110
    headers = ["name", "profile", "CC", "memory", "TensorRT", "connection"] + (["board", "file"] if wide else [])
    table = _table("devices", headers, text_columns=("connection", "board", "file"))
    for d in devices:
        facts, conn = d["facts"], d["connection"]
        where = "this host" if not conn else (conn["ssh"] or f"{conn.get('user') or ''}@{conn['host']}")
        row = [d["name"], d["profile"], facts.get("compute_capability") or "—",
               f"{facts['memory_mb']} MB" if facts.get("memory_mb") else "—", facts.get("tensorrt") or "—", where]
        if wide:
            row += [facts.get("board") or "", short_path(d["source"])]
        table.add_row(*row)
    out.print(table)


def convert_summary(report: dict) -> None:
    state = "cached" if report["cached"] else f"converted in {report['seconds']:.1f} s"
    out.print(f"[bold]{escape(report['model'])}[/] → {escape(short_path(report['artifact_dir']))} ({state})",
              highlight=False)
    weights = report.get("weights") or {}
    out.print(f"weights: {weights.get('kind')}" + (f" ({short_path(weights.get('path'))})" if weights.get("path") else ""),
              markup=False, highlight=False)
    table = _table(None, ["file", "bytes", "sha256"])
    base = report["artifact_dir"].rstrip("/") + "/"
    for a in report["artifacts"]:
        path = a["path"][len(base):] if a["path"].startswith(base) else short_path(a["path"])
        table.add_row(path, f"{a['bytes']:,}", a["sha256"][:12])
    out.print(table)


def _status(status: str) -> str:
    colour = "green" if status == "ok" else "yellow" if status == "skipped" else "red"
    return f"[{colour}]{escape(status)}[/]"


def _fps(fps: dict) -> str:
    if not fps or fps.get("median") is None:
        return "—"
    unc = fps.get("uncertainty")
    return f"{_num(fps['median'])}±{_num(unc)}" if unc is not None else _num(fps["median"])


def _cell_label(run: dict, with_model: bool = False) -> str:
    label = f"{run['backend']} {run['precision']} b{run['batch']}"
    return f"{run.get('model')} {label}" if with_model else label


def _profiled_timings(run: dict) -> bool:
    """ONNX Runtime's profiler runs during the timed loop, so that cell's timings include its cost;
    TensorRT's IProfiler and trtexec's --dumpProfile run after it (or in a separate run)."""
    return (run.get("profile") or {}).get("source") == "onnxruntime"


def _row_label(run: dict, with_model: bool = False) -> str:
    return _cell_label(run, with_model) + ("*" if _profiled_timings(run) else "")


def slowest_layers(runs: list[dict], with_model: bool = False, top: int = 10) -> None:
    """--profile: the slowest layers of each profiled cell, with their share of the total."""
    for run in runs:
        layers = (run.get("profile") or {}).get("layers") or []
        if not layers:
            continue
        source = run["profile"].get("source") or "profiler"
        out.print(f"slowest layers of {escape(_cell_label(run, with_model))} ({escape(source)}, ms per inference):",
                  highlight=False)
        table = _table(None, ["layer", "ms", "share"], text_columns=("layer",))
        for layer in layers[:top]:
            table.add_row(escape(str(layer.get("name"))), _num(layer.get("time_ms")),
                          f"{_num(layer.get('percent'))}%")
        out.print(table)


def _cold_start_line(run: dict) -> str | None:
    """TensorRT's cold start, split (parse, build, serialize, deserialize, context, first inference)."""
    cold = run.get("cold_start") or {}
    parts = [f"{k.replace('_ms', '').replace('_', ' ')} {_fmt(v, '.1f')}" for k, v in cold.items()
             if isinstance(v, (int, float)) and not isinstance(v, bool) and k.endswith("_ms")]
    engine = run.get("engine")
    if not parts and not engine:
        return None
    head = f"engine {engine}" if engine else "cold start"
    if run.get("build_ms") is not None:
        head += f" (build {_fmt(run['build_ms'] / 1000.0, '.1f')} s)"
    if run.get("timing_cache"):
        head += f", timing cache {run['timing_cache']}"
    source = cold.get("source")
    return head + (": " + ", ".join(parts) + " ms" if parts else "") + (f"; {source}'s figures" if source else "")


def _run_notes(runs: list[dict], with_model: bool = False) -> list[tuple[str, str]]:
    from edgetrt.cli.render_power import context_line, power_line, preflight_line, steady_lines

    notes = []
    unmeasured = {}
    for run in runs:
        label = _cell_label(run, with_model)
        line = _cold_start_line(run)
        if line:
            notes.append((label, line))
        if run["status"] != "ok" and run.get("message"):
            notes.append((label, run["message"]))
        for text in steady_lines(run, _with_uncertainty()):
            notes.append((label, text))
        power = power_line(run)
        if power and (run.get("power") or {}).get("source") is None:
            unmeasured.setdefault(power, []).append(label)  # off a Jetson: said once for all
        elif power:
            notes.append((label, power))
        for text in (context_line(run), preflight_line(run)):
            if text:
                notes.append((label, text))
        board = run.get("tegrastats")
        if board:
            notes.append((label, f"board RAM peak {_fmt(board.get('ram_used_peak_mb'), '.0f')}/"
                                 f"{_fmt(board.get('ram_total_mb'), '.0f')} MB, GPU load mean "
                                 f"{_fmt(board.get('gpu_load_mean_pct'), '.0f')}% (peak "
                                 f"{_fmt(board.get('gpu_load_peak_pct'), '.0f')}%), tegrastats"))
    for text, labels in unmeasured.items():
        notes.append(("all runs" if len(labels) == len(runs) and len(runs) > 1 else ", ".join(labels), text))
    said = {}  # once per backend × precision, not per batch
    for run in runs:
        if run.get("measures"):
            said.setdefault(f"{run['backend']} {run['precision']}", run["measures"])
    notes += [(label, f"measures {text}") for label, text in said.items()]
    return notes


def _with_uncertainty() -> bool:
    """fps ± its uncertainty and the throttled column in the table when the terminal has room
    (below 100 columns the four percentiles take it: the uncertainty and the throttled verdict
    are then in each run's notes, which are always printed)."""
    return _width() >= 100


def _latency_headers() -> list[str]:
    if _with_uncertainty():
        return ["first", "p50", "p90", "p95", "p99", "fps ±unc", "peak", "thr"]
    return ["first", "p50", "p90", "p95", "p99", "fps", "peak"]


def _units_line() -> str:
    if _with_uncertainty():
        return "ms; fps = items/s ± standard error; peak = memory MB; thr = throttled (the power line says why)"
    return "ms; fps = items/s; peak = memory MB; throttling, power and temperature: each run's notes"


def _latency_cells(run: dict) -> list[str]:
    from edgetrt.cli.render_power import throttled_text

    steady = run.get("steady") or {}
    lat = steady.get("latency_ms") or {}
    fps = steady.get("fps") or {}
    cells = [_num(run.get("first_run_ms"))] + [_num(lat.get(k)) for k in ("median", "p90", "p95", "p99")]
    if _with_uncertainty():
        return cells + [_fps(fps), _fmt(run.get("peak_memory_mb"), ".0f"), throttled_text(run)]
    return cells + [_num(fps.get("median")), _fmt(run.get("peak_memory_mb"), ".0f")]


def runs_table(report: dict, title: str | None = None) -> None:
    device = report.get("device", {})
    table = _table(title or f"{report['model']} on {device.get('name')} ({device.get('address') or ''})",
                   ["run", "status"] + _latency_headers())
    for run in report["runs"]:
        table.add_row(escape(_row_label(run)), _status(run["status"]), *_latency_cells(run))
    out.print(table)
    out.print(_units_line(), markup=False, highlight=False)
    slowest_layers(report["runs"])
    _notes(_run_notes(report["runs"]))
    if any(_profiled_timings(r) for r in report["runs"]):
        out.print("* profiled: ONNX Runtime's profiler ran during the timed loop; those timings include its cost",
                  markup=False, highlight=False)
    transfer = report.get("transfer")
    if transfer:
        out.print(f"transfer: {transfer['bytes_sent']:,} bytes in {transfer['files_sent']} files sent, "
                  f"{transfer['files_skipped']} already on the device ({transfer['seconds']:.2f} s)",
                  markup=False, highlight=False)
    for w in report.get("warnings") or []:
        err.print(f"[bold yellow]warning:[/] {escape(w)}", soft_wrap=True, highlight=False)


def _agreement_text(cell: dict) -> str:
    agree = cell.get("agreement")
    if not agree:
        return "ref" if (cell["backend"], cell["precision"]) == ("tf", "fp32") else "—"
    if agree.get("meaningful") is False:
        return "n/a (random weights)"
    return f"{agree['top1']:.2f}/{agree['top5_overlap']:.2f}/{agree['max_abs_diff']:.3f}"


def _random_weights(record: dict) -> bool:
    return any((c.get("weights") or {}).get("kind") == "random" for c in (record.get("conversions") or {}).values())


def bench_table(record: dict) -> None:
    device = record.get("device", {})
    title = f"bench on {device.get('name')} — run {record.get('run_id', '')}"
    if _random_weights(record):
        out.print("[bold yellow]random weights[/]: timings are real; accuracy agreement means nothing and is "
                  "shown as n/a", highlight=False)
    wide = _width() >= 120
    headers = ["cell", "status"] + _latency_headers()
    if wide:
        headers += ["MB", "agree top1/top5/|Δp|"]
    table = _table(title, headers)
    models = list(dict.fromkeys(c["model"] for c in record["cells"]))
    for model in models:
        table.add_row(f"[bold]{escape(str(model))}[/]", *[""] * (len(headers) - 1))
        for cell in (c for c in record["cells"] if c["model"] == model):
            row = ["  " + escape(_row_label(cell)), _status(cell["status"]), *_latency_cells(cell)]
            if wide:
                row += [_num(cell["artifact_bytes"] / 1e6 if cell.get("artifact_bytes") else None),
                        _agreement_text(cell)]
            table.add_row(*row)
    out.print(table)
    out.print(_units_line(), markup=False, highlight=False)
    if not wide:
        agree = _table("vs native TF: top-1/top-5/max |Δp|", ["cell", "agreement", "MB"])
        for cell in record["cells"]:
            agree.add_row(escape(_cell_label(cell, with_model=len(models) > 1)), _agreement_text(cell),
                          _num(cell["artifact_bytes"] / 1e6 if cell.get("artifact_bytes") else None))
        out.print(agree)
    slowest_layers(record["cells"], with_model=len(models) > 1)
    _notes(_run_notes(record["cells"], with_model=len(models) > 1))
    if any(_profiled_timings(c) for c in record["cells"]):
        out.print("* profiled: ONNX Runtime's profiler ran during the timed loop; those timings include its cost",
                  markup=False, highlight=False)
    for w in record.get("warnings") or []:
        err.print(f"[bold yellow]warning:[/] {escape(w)}", soft_wrap=True, highlight=False)
    if record.get("saved_to"):
        out.print(f"saved: {short_path(record['saved_to'])}", markup=False, highlight=False)


def check_table(doc: dict) -> None:
    library = doc["library"]
    table = _table(f"{doc['model']}: TensorRT parse and build ({library['name']} {library['version']})",
                   ["precision", "format", "parsed", "built", "build ms", "engine MB"])
    for check in doc["checks"]:
        table.add_row(check["precision"], check["format"] or "—", _yes(check["parsed"]), _yes(check["built"]),
                      _fmt(check.get("build_ms"), ".0f"),
                      _fmt(check["engine_bytes"] / 1e6 if check.get("engine_bytes") else None, ".1f"))
    out.print(table)
    _notes([(c["precision"], e) for c in doc["checks"] for e in c.get("errors") or []])
    out.print(f"note: {doc['note']}", markup=False, highlight=False)


def preflight_table(doc: dict) -> None:
    from edgetrt.cli.render_power import preflight_table as table

    table(doc)


def _yes(value) -> str:
    return {True: "[green]yes[/]", False: "[red]no[/]"}.get(value, "—")


# ---- fleets ------------------------------------------------------------------------------------

def fleet_tables(doc: dict) -> None:
    """A fleet deploy: each reached device's table, the ones that failed in a line each, and the
    summary (devices as columns) last."""
    for report in doc["devices"]:
        if report.get("error") and not report["runs"]:
            continue
        runs_table(report)
        out.print()
    fleet_summary(doc)


def _summary_value(entry: dict | None) -> str:
    if entry is None:
        return "—"
    if entry["status"] != "ok":
        return entry["status"]
    return _num(entry.get("median_ms"))


def fleet_summary(doc: dict) -> None:
    """Cells as rows, devices as columns (median latency in ms, or the status word); as many
    devices per table as the terminal's width holds."""
    summary = doc["summary"]
    names = [r["name"] for r in doc["devices"]]
    rows = [(f"{c['model']} {c['backend']} {c['precision']} b{c['batch']}", c["devices"]) for c in summary["cells"]]
    label_width = max([len(r[0]) for r in rows] + [4])
    column = max([len(n) for n in names] + [8]) + 1
    per_table = max(1, (_width() - label_width - 2) // column)
    for start in range(0, len(names), per_table):
        chunk = names[start:start + per_table]
        title = (f"fleet: {summary['reached']} of {summary['devices']} devices reached — median ms, or how "
                 "the run ended") if start == 0 else None
        table = _table(title, ["cell"] + chunk)
        for label, per_device in rows:
            table.add_row(escape(label), *[_summary_value(per_device.get(n)) for n in chunk])
        out.print(table)
    for failed in summary["failed_devices"]:
        out.print(f"[red]{escape(failed['name'])}[/]: {escape(failed['error'] or '')}", highlight=False)


def runs_list(runs: list[dict]) -> None:
    if not runs:
        out.print("no saved runs yet: `edgetrt bench` saves one per device", markup=False, highlight=False)
        return
    table = _table("saved bench runs (oldest first)", ["run", "date", "device", "ok", "failed", "models"],
                   text_columns=("models",))
    for r in runs:
        table.add_row(r["run_id"], (r.get("timestamp") or "")[:16].replace("T", " "), escape(str(r.get("device"))),
                      str(r["ok"]), str(r["failed"]), escape(", ".join(r["models"])))
    out.print(table)


def _size(nbytes: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if nbytes >= scale:
            return f"{nbytes / scale:.1f} {unit}"
    return f"{nbytes} B"


def cache_table(doc: dict) -> None:
    import os

    home = os.path.expanduser("~")
    where = "~" + doc["cache"][len(home):] if doc["cache"].startswith(home + "/") else doc["cache"]
    table = _table(f"edgetrt's cache: {where}", ["part", "size", "files", "what"],
                   text_columns=("what",))
    for part in doc["parts"]:
        state = " (removed)" if part["removed"] else ""
        table.add_row(part["name"], _size(part["bytes"]), str(part["files"]), escape(part["what"] + state))
    out.print(table)
    if doc["clean"] and doc["dry_run"]:
        out.print(f"--clean would free {_size(doc['would_free_bytes'])}; add --yes to remove them "
                  "(the results history is kept)", markup=False, highlight=False)
    elif doc["clean"]:
        out.print(f"freed {_size(doc['freed_bytes'])}", markup=False, highlight=False)
