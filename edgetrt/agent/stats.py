"""Timing statistics: pure functions over lists of floats (no numpy on purpose: the device may lack it).

Definitions follow tensorflow/models research/tensorrt (the benchmark people quote):
- percentiles by linear interpolation between closest ranks (numpy's default, Hyndman-Fan type 7);
- fps uncertainty: standard error of the mean of per-iteration fps, std with ddof=1 / sqrt(n);
- fps jitter: 1.4826 * median absolute deviation of per-iteration fps (a robust std);
- p99 uncertainty: |p99(even-indexed samples) - p99(odd-indexed samples)|;
- a percentile's confidence interval: distribution-free, from order statistics (the binomial
  argument of Hahn & Meeker, *Statistical Intervals*, §5.2; the same one MLPerf LoadGen's early
  stopping uses for p90): [x_(l), x_(u)] with ranks from Binomial(n, q).
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


def _binomial_cdf_table(n, p):
    """P(X <= k) for k = 0..n, X ~ Binomial(n, p), through log-pmf (no overflow for large n)."""
    if p <= 0.0 or p >= 1.0:
        raise ValueError("p must be within (0, 1)")
    log_p, log_q = math.log(p), math.log1p(-p)
    log_n = math.lgamma(n + 1)
    cdf, total = [], 0.0
    for k in range(n + 1):
        total += math.exp(log_n - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * log_p + (n - k) * log_q)
        cdf.append(min(total, 1.0))
    return cdf


def percentile_interval_ranks(n, q, confidence=0.95):
    """1-based ranks (l, u) such that [x_(l), x_(u)] covers the q-th percentile (0..100) with
    probability >= ``confidence``, whatever the distribution; None when n is too small for it.

    X = the number of samples below the true percentile is Binomial(n, q/100), and
    P(x_(l) <= xi_q < x_(u)) = P(l <= X <= u - 1). l is the largest rank with
    P(X <= l - 1) <= alpha/2, u the smallest with P(X >= u) <= alpha/2."""
    alpha = 1.0 - confidence
    cdf = _binomial_cdf_table(int(n), q / 100.0)
    lower = None
    for rank in range(1, n + 1):          # P(X <= rank - 1) grows with rank
        if cdf[rank - 1] <= alpha / 2:
            lower = rank
        else:
            break
    upper = None
    for rank in range(n, 0, -1):          # P(X >= rank) = 1 - P(X <= rank - 1) grows as rank falls
        if 1.0 - cdf[rank - 1] <= alpha / 2:
            upper = rank
        else:
            break
    if lower is None or upper is None or lower >= upper:
        return None
    return lower, upper


def percentile_interval(values, q, confidence=0.95):
    """{"low", "high", "confidence", "ranks", "n"} for the q-th percentile, or None (too few values)."""
    ordered = sorted(values)
    ranks = percentile_interval_ranks(len(ordered), q, confidence) if ordered else None
    if ranks is None:
        return None
    return {"low": ordered[ranks[0] - 1], "high": ordered[ranks[1] - 1], "confidence": confidence,
            "ranks": list(ranks), "n": len(ordered)}


def percentile_summary(values_ms):
    """median, mean, min, max, p90, p95, p99 of values already in ms (the breakdown's blocks)."""
    values = [float(v) for v in values_ms]
    if not values:
        raise ValueError("no values")
    return {"median": median(values), "mean": mean(values), "min": min(values), "max": max(values),
            "p90": percentile(values, 90), "p95": percentile(values, 95), "p99": percentile(values, 99)}


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
            "p95": percentile(times, 95) * 1e3,
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
