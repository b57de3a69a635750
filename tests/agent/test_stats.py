"""The agent's statistics are pure Python; numpy is the reference they must agree with."""

import math

import numpy as np
import pytest

from edgetrt.agent import stats

VECTORS = [
    [0.5],
    [3.0, 1.0, 2.0],
    [0.010, 0.012, 0.011, 0.030, 0.009, 0.010, 0.013, 0.0101],
    list(np.random.RandomState(7).lognormal(mean=-4.0, sigma=0.3, size=1001)),
    list(np.random.RandomState(8).uniform(0.001, 0.002, size=100)),
]


@pytest.mark.parametrize("values", VECTORS)
@pytest.mark.parametrize("q", [0, 1, 25, 50, 90, 99, 99.9, 100])
def test_percentile_matches_numpy_linear(values, q):
    assert stats.percentile(values, q) == pytest.approx(np.percentile(values, q), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("values", VECTORS)
def test_mean_median_std_mad_match_numpy(values):
    arr = np.asarray(values)
    assert stats.mean(values) == pytest.approx(arr.mean(), rel=1e-12)
    assert stats.median(values) == pytest.approx(np.median(arr), rel=1e-12)
    expected_std = arr.std(ddof=1) if len(arr) > 1 else 0.0
    assert stats.sample_std(values) == pytest.approx(expected_std, rel=1e-9, abs=1e-15)
    expected_mad = 1.4826 * np.median(np.abs(arr - np.median(arr)))
    assert stats.scaled_mad(values) == pytest.approx(expected_mad, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("values", VECTORS[1:])
@pytest.mark.parametrize("batch", [1, 128])
def test_summary_reproduces_the_seed_benchmark_formulas(values, batch):
    """tensorflow/models research/tensorrt log_stats, term by term."""
    times = np.asarray(values)
    speeds = batch / times
    summary = stats.summarise_latencies(values, batch)
    assert summary["iterations"] == len(values)
    assert summary["latency_ms"]["median"] == pytest.approx(np.median(times) * 1e3)
    assert summary["latency_ms"]["mean"] == pytest.approx(np.mean(times) * 1e3)
    assert summary["latency_ms"]["p99"] == pytest.approx(np.percentile(times, 99) * 1e3)
    assert summary["latency_ms"]["p99_uncertainty"] == pytest.approx(
        abs(np.percentile(times[0::2], 99) - np.percentile(times[1::2], 99)) * 1e3)
    assert summary["fps"]["median"] == pytest.approx(np.median(speeds))
    assert summary["fps"]["mean"] == pytest.approx(np.mean(speeds))
    assert summary["fps"]["uncertainty"] == pytest.approx(np.std(speeds, ddof=1) / math.sqrt(len(times)))
    assert summary["fps"]["jitter"] == pytest.approx(1.4826 * np.median(np.abs(speeds - np.median(speeds))))


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError):
        stats.summarise_latencies([], 1)
    with pytest.raises(ValueError):
        stats.summarise_latencies([0.1, 0.0], 1)
    with pytest.raises(ValueError):
        stats.percentile([1.0], 101)


# ---- p95 and the percentile confidence interval ---------------------------------------------------

@pytest.mark.parametrize("values", VECTORS[1:])
def test_p90_and_p95_beside_p50_and_p99(values):
    lat = stats.summarise_latencies(values, 1)["latency_ms"]
    assert lat["p90"] == pytest.approx(np.percentile(values, 90) * 1e3)
    assert lat["p95"] == pytest.approx(np.percentile(values, 95) * 1e3)
    assert lat["median"] <= lat["p90"] <= lat["p95"] <= lat["p99"]


def _binomial_cdf(n, p, k):
    return sum(math.comb(n, i) * p ** i * (1 - p) ** (n - i) for i in range(k + 1))


@pytest.mark.parametrize("n", [36, 64, 200, 1024])
def test_interval_ranks_are_the_binomial_ones(n):
    """l: the largest rank with P(X <= l-1) <= 2.5 %; u: the smallest with P(X >= u) <= 2.5 %,
    X ~ Binomial(n, 0.9), computed here with exact integers (math.comb)."""
    low, high = stats.percentile_interval_ranks(n, 90, 0.95)
    assert _binomial_cdf(n, 0.9, low - 1) <= 0.025 < _binomial_cdf(n, 0.9, low)
    assert 1 - _binomial_cdf(n, 0.9, high - 1) <= 0.025 < 1 - _binomial_cdf(n, 0.9, high - 2)
    assert _binomial_cdf(n, 0.9, high - 1) - _binomial_cdf(n, 0.9, low - 1) >= 0.95


def test_interval_for_1024_queries():
    # 0.9 * 1024 = 921.6; the 95 % interval runs from the 902nd to the 941st smallest
    assert stats.percentile_interval_ranks(1024, 90) == (902, 941)


def test_too_few_samples_give_no_interval():
    assert stats.percentile_interval_ranks(35, 90) is None  # 0.9**35 > 2.5 %: no upper rank
    assert stats.percentile_interval(list(range(10)), 90) is None


def test_interval_covers_the_true_p90_at_its_stated_rate():
    """Exponential latencies (true p90 = ln 10): the interval holds it in about 95 % of 2000 runs."""
    rng = np.random.RandomState(3)
    truth = math.log(10.0)
    hits = sum(1 for _ in range(2000)
               if (lambda ci: ci["low"] <= truth < ci["high"])(stats.percentile_interval(list(rng.exponential(size=200)), 90)))
    assert 0.93 <= hits / 2000.0 <= 0.985


def test_percentile_summary_of_breakdown_values():
    values = [1.0, 2.0, 3.0, 4.0]
    summary = stats.percentile_summary(values)
    assert summary["median"] == 2.5 and summary["p95"] == pytest.approx(np.percentile(values, 95))
