"""Combining points into coarser ones (pure)."""

from hypothesis import given
from hypothesis import strategies as st

from paas.metrics.histogram import Histogram
from paas.metrics.points import Point, combine


def point(start=0, requests=(0, 0, 0, 0), p=None, cpu=None, memory=None, over=0.0, restarts=0, markers=(0, 0, 0, 0)):
    p50, p95, p99 = p or (None, None, None)
    cpu_mean, cpu_max = cpu or (None, None)
    memory_mean, memory_max = memory or (None, None)
    return Point(start, requests, p50, p95, p99, cpu_mean, cpu_max, memory_mean, memory_max, over, restarts, markers)


def test_only_gaps_combine_to_a_gap():
    assert combine(60, [None, None]) is None


def test_counts_add_extremes_are_kept_means_average_and_gaps_are_skipped():
    combined = combine(60, [
        point(60, (5, 1, 0, 0), (2.0, 8.0, 16.0), (0.5, 0.9), (100, 200), 1.5, 1, (1, 0, 0, 0)),
        None,
        point(80, (1, 0, 2, 3), (4.0, 4.0, 4.0), (0.1, 0.2), (300, 400), 2.0, 0, (0, 1, 0, 1)),
        point(90),  # a bucket with nothing in it
    ])
    assert combined == point(60, (6, 1, 2, 3), (4.0, 8.0, 16.0), (0.3, 0.9), (200, 400), 3.5, 1, (1, 1, 0, 1))


@given(st.lists(st.lists(st.floats(0, 100_000, allow_nan=False), max_size=30), min_size=1, max_size=8), st.sampled_from([0.5, 0.95, 0.99]))
def test_a_combined_percentile_is_never_below_the_true_one(buckets, q):
    points = [point(p=(Histogram(values).quantile(q),) * 3) for values in buckets]
    union = Histogram([value for values in buckets for value in values]).quantile(q)
    combined = combine(0, points).p95_ms
    assert (combined is None) == (union is None)
    assert union is None or combined >= union
