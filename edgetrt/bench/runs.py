"""Whole records as the reports name them: titles, column labels for runs side by side, the
settings line, and the banners every format puts first (random weights, nothing measured).
"""

from __future__ import annotations

from edgetrt.bench.cells import measured, random_weights_models
from edgetrt.bench.text import number, one_line


def device_name(record: dict) -> str:
    return one_line((record.get("device") or {}).get("name") or "unknown device")


def _when(record: dict) -> str:
    """'2019-09-08 16:24' from the record's ISO timestamp."""
    stamp = str(record.get("timestamp") or "")
    return stamp[:16].replace("T", " ") if len(stamp) >= 16 else stamp


def run_labels(records: list[dict]) -> list[str]:
    """A short, distinct column label per record: the device's name when the devices differ
    (a fleet, or --compare across devices), else the run id and time (one device over time)."""
    names = [device_name(r) for r in records]
    if len(set(names)) == len(names):
        labels = names
    elif len(set(names)) == 1:
        labels = [f"{(r.get('run_id') or '?')[:8]} {_when(r)}".strip() for r in records]
    else:
        labels = [f"{n} {(r.get('run_id') or '?')[:8]}" for n, r in zip(names, records)]
    seen: dict[str, int] = {}
    out = []
    for label in labels:  # the same run given twice still gets two columns that can be told apart
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} #{seen[label]}")
    return out


def title_of(record: dict) -> str:
    device = record.get("device") or {}
    profile = one_line(device.get("profile") or "")
    name = device_name(record)
    return (f"edgetrt bench {record.get('run_id') or ''} — {name}"
            + (f" ({profile})" if profile and profile != name else "")
            + f" — {record.get('timestamp') or ''}").replace("  ", " ")


def title_of_many(records: list[dict]) -> str:
    names = list(dict.fromkeys(device_name(r) for r in records))
    if len(names) == 1:
        return f"edgetrt bench — {names[0]}: {len(records)} runs side by side"
    return f"edgetrt bench — {len(names)} devices side by side: {', '.join(names)}"


def settings_line(record: dict) -> str:
    s = record.get("settings") or {}
    parts = []
    if s.get("warmup_ms") is not None:
        parts.append(f"warm-up {number(s['warmup_ms'])} ms")
    if s.get("min_iterations") is not None:
        parts.append(f"≥ {s['min_iterations']} iterations")
    if s.get("min_seconds") is not None:
        parts.append(f"≥ {number(s['min_seconds'])} s timed")
    if s.get("images"):
        parts.append(f"{len(s['images'])} photos")
    if s.get("profile"):
        parts.append("--profile (layer times)")
    return ", ".join(parts)


def random_weights_banner(records: list[dict], labels: list[str] | None = None) -> str | None:
    """The sentence every report starts with when some model ran with random weights."""
    labels = labels or run_labels(records)
    found = []
    for label, record in zip(labels, records):
        models = random_weights_models(record)
        if models:
            found.append((label, models))
    if not found:
        return None
    if len(records) == 1:
        which = ", ".join(found[0][1])
    else:
        which = "; ".join(f"{label}: {', '.join(models)}" for label, models in found)
    return (f"Random weights ({one_line(which)}): no pretrained weights were loaded. The timings, "
            "memory and sizes are real measurements; the agreement with native TensorFlow means "
            "nothing (with random weights every class scores about the same, so any two runs "
            "agree) and is shown as n/a.")


def nothing_measured_banner(records: list[dict]) -> str | None:
    if any(measured(r) for r in records):
        return None
    if not any(r.get("cells") for r in records):
        return "Nothing was measured: no cell ran, so there are no figures and no charts."
    return ("Nothing was measured: no run finished with a timing, so there are no figures and no "
            "charts; each cell's status and message are below.")


def warnings_of(record: dict) -> list[str]:
    return [one_line(w) for w in record.get("warnings") or [] if str(w).strip()]
