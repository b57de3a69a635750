"""Terminal lines for a run's power and thermal context, its latency breakdown and its memory
preflight, and the `edgetrt preflight` table (render.py calls these; 80 columns: one compact
column in the tables, the detail as notes below them)."""

from __future__ import annotations

from rich.markup import escape

from edgetrt.cli.render import _cell_label, _fmt, _notes, _table, out


def throttled_text(run: dict) -> str:
    """The table's compact column: yes / no / — (not measured; the power line says why)."""
    return {True: "[red]yes[/]", False: "no"}.get(run.get("throttled"), "—")


def power_line(run: dict) -> str | None:
    """Power, energy, temperature and the throttled verdict with its reasons (a note per run)."""
    power = run.get("power") or {}
    if not power:
        return None
    missing = power.get("not_measured") or {}
    if power.get("source") is None:
        return "power, energy, temperature, throttling: not measured (" + (missing.get("throttled") or "no tegrastats") + ")"
    parts = []
    if run.get("power_mean_w") is not None:
        parts.append(f"{run['power_mean_w']:.2f} W mean ({power.get('input_rail')})")
    else:
        parts.append(f"power not measured ({missing.get('power_mean_w')})")
    if run.get("energy_mj") is not None:
        parts.append(f"{run['energy_mj']:.3g} mJ/inference")
    if run.get("temperature_peak_c") is not None:
        parts.append(f"peak {run['temperature_peak_c']:.1f} °C ({power.get('temperature_peak_sensor')})")
    verdict = {True: "throttled", False: "not throttled", None: "throttling not measured"}[run.get("throttled")]
    reasons = power.get("throttle_reasons") or ([missing["throttled"]] if missing.get("throttled") else [])
    parts.append(verdict + (": " + "; ".join(reasons) if reasons else ""))
    return ", ".join(parts) + f"; {power.get('timed_samples', 0)} timed tegrastats samples"


def context_line(run: dict) -> str | None:
    """Power mode, whether the clocks were pinned, and what --lock-clocks / --power-mode did."""
    power = run.get("power") or {}
    bits = []
    mode = (power.get("power_mode") or {}).get("value")
    if mode:
        bits.append(f"nvpmodel {mode.get('id')} {mode.get('name') or ''}".rstrip())
    pinned = (power.get("clocks") or {}).get("pinned")
    if pinned is not None:
        bits.append("clocks pinned" if pinned else "clocks not pinned")
    lock = power.get("lock") or {}
    if lock.get("locked"):
        bits.append("jetson_clocks for this run, " + ("restored" if lock.get("restored") else
                                                       "NOT restored: " + "; ".join(lock.get("restore_errors") or [])))
    elif lock.get("skipped"):
        bits.append(f"clocks not locked: {lock['skipped']}")
    return ", ".join(bits) or None


def steady_lines(run: dict, with_uncertainty: bool = True) -> list[str]:
    steady = run.get("steady") or {}
    lines = []
    fps = steady.get("fps") or {}
    if not with_uncertainty and fps.get("uncertainty") is not None:
        lines.append(f"fps {_fmt(fps.get('median'), '.1f')} ± {_fmt(fps['uncertainty'], '.1f')} (standard error), "
                     f"jitter {_fmt(fps.get('jitter'), '.1f')}")
    parts = [(name, steady.get(key) or {}) for name, key in (("H2D", "h2d_ms"), ("GPU compute", "gpu_compute_ms"),
                                                              ("D2H", "d2h_ms"), ("enqueue", "enqueue_ms"))]
    shown = [f"{name} {_fmt(block.get('median'), '.3f')}" for name, block in parts if block.get("median") is not None]
    if shown:
        lines.append("median per query: " + ", ".join(shown) + " ms"
                     + (" (--no-transfers)" if steady.get("no_transfers") else "")
                     + (f"; {steady['source']}'s figures" if steady.get("source") else ""))
    ci = steady.get("p90_ci_ms") or {}
    if ci.get("low") is not None:
        lines.append(f"p90 {_fmt((steady.get('latency_ms') or {}).get('p90'), '.3f')} ms, "
                     f"{ci['confidence'] * 100:.0f} % interval {_fmt(ci['low'], '.3f')}–{_fmt(ci['high'], '.3f')} "
                     f"(n {ci['n']}, {ci['method']})")
    warm = steady.get("warmup")
    if isinstance(warm, dict) and warm.get("why"):
        lines.append(f"warm-up: {warm['why']}")
    return lines


def preflight_line(run: dict) -> str | None:
    est = run.get("preflight") or {}
    if not est or run.get("status") == "skipped":
        return None
    build = f"build {est['build_mb']} / " if est.get("build_mb") is not None else ""
    return (f"memory preflight: {build}run {est['run_mb']} MB of {est.get('available_mb')} MB available "
            f"({est['verdict']})")


def preflight_table(doc: dict) -> None:
    """The memory estimate per cell; the cure and where each figure comes from below the table."""
    device = doc["device"]
    table = _table(f"memory preflight: {doc['model']} on {device['name']} ({device.get('board') or device['profile']})",
                   ["cell", "build MB", "run MB", "avail MB", "workspace", "verdict"])
    colours = {"fits": "green", "tight": "yellow", "will not fit": "red"}
    for cell in doc["cells"]:
        verdict = cell["verdict"]
        table.add_row(escape(_cell_label(cell)), _fmt(cell.get("build_mb"), ".0f"), _fmt(cell["run_mb"], ".0f"),
                      _fmt(cell.get("available_mb"), ".0f"), _fmt(cell.get("workspace_mb"), ".0f"),
                      f"[{colours.get(verdict, 'white')}]{escape(verdict)}[/]")
    out.print(table)
    notes = [(_cell_label(c), "cure: " + c["advice"]) for c in doc["cells"] if c.get("advice")]
    notes += [(_cell_label(c), n) for c in doc["cells"] for n in c.get("notes") or []]
    if doc["cells"]:
        notes.append(("available", doc["cells"][0].get("available_from") or ""))
    notes.append(("graph", doc.get("graph_from") or ""))
    notes += [("note", n) for n in doc.get("notes") or []]
    _notes(notes)
