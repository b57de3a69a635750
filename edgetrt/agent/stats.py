"""Timing statistics: pure functions over lists of floats (no numpy on purpose: the device may lack it).

Definitions follow tensorflow/models research/tensorrt (the benchmark people quote):
- percentiles by linear interpolation between closest ranks (numpy's default, Hyndman-Fan type 7);
- fps uncertainty: standard error of the mean of per-iteration fps, std with ddof=1 / sqrt(n);
- fps jitter: 1.4826 * median absolute deviation of per-iteration fps (a robust std);
- p99 uncertainty: |p99(even-indexed samples) - p99(odd-indexed samples)|.
"""

import math


def mean(values):
    values = list(values)
    if not values:
        raise ValueError("mean of no values")
    return math.fsum(values) / len(values)


def percentile(values, q):
    """The q-th percentile (0..100), linear interpolation (numpy.percentile's default)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError("percentile must be within 0..100")
    rank = (len(ordered) - 1) * q / 100.0
    low = int(math.floor(rank))
    high = min(low + 1, len(ordered) - 1)
    frac = rank - low
    return ordered[low] + (ordered[high] - ordered[low]) * frac


def median(values):
    return percentile(values, 50)


def sample_std(values):
    """Standard deviation with ddof=1 (0.0 for fewer than two values)."""
    values = list(values)
    if len(values) < 2:
        return 0.0
    m = mean(values)
    return math.sqrt(math.fsum((v - m) ** 2 for v in values) / (len(values) - 1))


def scaled_mad(values):
    """1.4826 * median(|x - median(x)|): consistent with the std for normal data."""
    values = list(values)
    mid = median(values)
    return 1.4826 * median([abs(v - mid) for v in values])


def summarise_latencies(latencies_s, batch):
    """Steady-state summary from per-iteration latencies in seconds for ``batch`` items each.

    Returns milliseconds and items/second; the dict shape is the report's ``steady`` block.
    """
    times = [float(t) for t in latencies_s]
    if not times:
        raise ValueError("no timed iterations")
    if any(t <= 0 for t in times):
        raise ValueError("latencies must be positive")
    fps = [batch / t for t in times]
    p99 = percentile(times, 99)
    even, odd = times[0::2], times[1::2]
    p99_uncertainty = abs(percentile(even, 99) - percentile(odd, 99)) if odd else 0.0
    return {
        "iterations": len(times),
        "batch": batch,
        "total_s": math.fsum(times),
        "latency_ms": {
            "median": median(times) * 1e3,
            "mean": mean(times) * 1e3,
            "min": min(times) * 1e3,
            "max": max(times) * 1e3,
            "p90": percentile(times, 90) * 1e3,
            "p99": p99 * 1e3,
            "p99_uncertainty": p99_uncertainty * 1e3,
        },
        "fps": {
            "median": median(fps),
            "mean": mean(fps),
            "uncertainty": sample_std(fps) / math.sqrt(len(fps)),
            "jitter": scaled_mad(fps),
        },
    }
