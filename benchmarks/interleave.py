"""What every benchmark here shares: A and B measured in turns, summarised the same way.

On a shared machine the load drifts while a benchmark runs. Timing all of A and then all of B
puts that drift into the ratio (runtime_ratio.py once moved 0.25 → 0.49 → 0.58 that way); taking
turns within each round exposes both to the same moment, and the per-round ratio cancels what
the round had in common. Each round starts with another contender, so neither always runs
first (warm caches, a just-freed core).

Printed: per contender its median, interquartile range and min–max over the rounds; then each
ratio as the median of the per-round ratios, with their interquartile range and min–max.
"""

from __future__ import annotations

import platform
import statistics
import time
from typing import Callable


def interleave(contenders: dict[str, Callable[[], float | None]], rounds: int,
               between: Callable[[], None] | None = None) -> dict[str, list[float]]:
    """Run each contender once per round, the round's order rotated; a contender returns the
    seconds it measured (None: time the call itself). Returns name -> one figure per round."""
    names = list(contenders)
    figures: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            if between is not None:
                between()
            started = time.perf_counter()
            measured = contenders[name]()
            figures[name].append(measured if measured is not None else time.perf_counter() - started)
    return figures


def quartiles(values: list[float]) -> tuple[float, float, float]:
    """(p25, median, p75), linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0], ordered[0], ordered[0]

    def at(q: float) -> float:
        pos = q * (len(ordered) - 1)
        low = int(pos)
        high = min(low + 1, len(ordered) - 1)
        return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)

    return at(0.25), at(0.5), at(0.75)


def describe(values: list[float], scale: float = 1.0, unit: str = "", digits: int = 3) -> str:
    """'median X unit (IQR a–b, min–max c–d, n N)'."""
    p25, med, p75 = quartiles(values)
    f = f"{{:.{digits}f}}"
    return (f"median {f.format(med * scale)}{unit} (IQR {f.format(p25 * scale)}–{f.format(p75 * scale)}, "
            f"min–max {f.format(min(values) * scale)}–{f.format(max(values) * scale)}, n {len(values)})")


def per_round_ratios(numerator: list[float], denominator: list[float]) -> list[float]:
    return [a / b for a, b in zip(numerator, denominator)]


def ratio_line(label: str, ratios: list[float], target: str | None = None, met: bool | None = None) -> str:
    """The last line of a benchmark: the per-round ratio and, where the issue set one, the target."""
    line = f"{label}: {describe(ratios, digits=2)}"
    if target is not None:
        line += f"; target {target}: {'met' if met else 'NOT met'}"
    return line


def machine_line() -> str:
    """Where the figures were measured (printed first by every benchmark)."""
    import os

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, Python "
            f"{platform.python_version()}, load average {load:.2f} at start, "
            f"{time.strftime('%Y-%m-%d %H:%M %Z')}")


def median(values: list[float]) -> float:
    return statistics.median(values)
