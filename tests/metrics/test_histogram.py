"""Response-time histograms: merging, quantiles and their bounded error (pure)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paas.metrics.histogram import BOUNDS_MS, Histogram, bucket_of, rank

times_ms = st.floats(min_value=0, max_value=200_000, allow_nan=False)
quantiles = st.floats(min_value=0.001, max_value=1)


def test_buckets_run_from_a_millisecond_to_a_minute_four_per_doubling():
    assert BOUNDS_MS[0] == 1 and BOUNDS_MS[-1] == 65536
    assert all(high / low == pytest.approx(2 ** 0.25) for low, high in zip(BOUNDS_MS, BOUNDS_MS[1:]))


def test_an_empty_histogram_has_no_quantile_and_q_is_checked():
    assert Histogram().quantile(0.5) is None
    with pytest.raises(ValueError):
        Histogram([1.0]).quantile(0)
    with pytest.raises(ValueError):
        Histogram([1.0]).quantile(1.5)


def test_a_quantile_is_its_buckets_upper_bound():
    histogram = Histogram([3.0] * 95 + [900.0] * 5)
    assert histogram.quantile(0.5) == BOUNDS_MS[bucket_of(3.0)] >= 3.0
    assert histogram.quantile(0.95) == histogram.quantile(0.5)
    assert histogram.quantile(0.99) == BOUNDS_MS[bucket_of(900.0)] >= 900.0


@given(st.lists(times_ms, max_size=50), st.lists(times_ms, max_size=50), quantiles)
def test_the_quantile_of_merged_histograms_is_the_quantile_of_the_union(one, other, q):
    merged = Histogram(one)
    merged.merge(Histogram(other))
    assert merged.counts == Histogram(one + other).counts
    assert merged.quantile(q) == Histogram(one + other).quantile(q)


@given(st.lists(times_ms, min_size=1, max_size=100), quantiles, quantiles)
def test_quantiles_grow_with_q(values, q, r):
    histogram = Histogram(values)
    low, high = sorted((q, r))
    assert histogram.quantile(low) <= histogram.quantile(high)


@given(st.lists(times_ms, min_size=1, max_size=100), quantiles)
def test_a_quantile_is_in_the_bucket_of_the_exact_one_and_not_below_it(values, q):
    exact = sorted(values)[rank(q, len(values)) - 1]
    answer = Histogram(values).quantile(q)
    assert bucket_of(answer) == bucket_of(exact)
    if exact <= BOUNDS_MS[-1]:
        assert exact <= answer
    if BOUNDS_MS[0] <= exact <= BOUNDS_MS[-1]:
        assert answer < exact * 2 ** 0.25 * (1 + 1e-12)
