"""Summing a process type's requests and dyno samples into 10-s and 1-min points (pure)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paas.metrics.aggregate import Window
from paas.metrics.histogram import BOUNDS_MS, Histogram, bucket_of

T = 1_700_000_040  # a minute's start
MIB = 2**20


def test_requests_count_per_status_class():
    window = Window(T)
    for status in (101, 200, 204, 302, 404, 429, 500, 503, 600):
        window.request(status, 5.0)
    [(step, point)] = window.close(T + 10)
    assert step == 10 and point.start == T
    assert point.requests == (3, 1, 2, 3)
    assert point.p50_ms == point.p99_ms == BOUNDS_MS[bucket_of(5.0)]


def test_a_bucket_closes_only_once_its_time_is_past_and_a_quiet_one_is_zeros():
    window = Window(T + 3)
    assert window.close(T + 9.9) == []
    [(_, point)] = window.close(T + 10)
    assert point.requests == (0, 0, 0, 0) and point.p50_ms is None and point.cpu_mean is None and point.memory_max is None
    assert window.start == T + 10


def test_the_minute_closes_with_its_last_bucket_and_its_percentiles_are_of_all_its_requests():
    window = Window(T)
    for i in range(6):
        for _ in range(100):
            window.request(200, 1000.0 if i == 5 else 1.0)
        closed = window.close(T + 10 * (i + 1))
    assert [(step, point.start) for step, point in closed] == [(10, T + 50), (60, T)]
    minute = closed[1][1]
    assert minute.requests == (600, 0, 0, 0)
    # A sixth of the requests were slow: the minute's p95 is slow, not an average of six p95s.
    assert minute.p50_ms == 1.0 and minute.p95_ms == BOUNDS_MS[bucket_of(1000.0)]


@given(st.lists(st.lists(st.tuples(st.sampled_from([200, 301, 404, 502]), st.floats(0, 70_000, allow_nan=False)), max_size=20), min_size=6, max_size=6))
def test_a_minute_is_the_rollup_of_its_six_buckets(buckets):
    window = Window(T)
    points = []
    for i, requests in enumerate(buckets):
        for status, ms in requests:
            window.request(status, ms)
        points += window.close(T + 10 * (i + 1))
    ten_seconds = [point for step, point in points if step == 10]
    [minute] = [point for step, point in points if step == 60]
    assert minute.requests == tuple(map(sum, zip(*(point.requests for point in ten_seconds))))
    every = Histogram(ms for requests in buckets for _, ms in requests)
    assert (minute.p50_ms, minute.p95_ms, minute.p99_ms) == (every.quantile(0.5), every.quantile(0.95), every.quantile(0.99))


def test_cpu_is_a_rate_from_successive_samples_mean_and_max_across_dynos():
    window = Window(T)
    window.dyno_sample("web.1", 10.0, 100 * MIB, 512 * MIB, at=T - 10)
    window.dyno_sample("web.2", 20.0, 300 * MIB, 512 * MIB, at=T - 10)
    window.dyno_sample("web.1", 15.0, 100 * MIB, 512 * MIB, at=T)
    window.dyno_sample("web.2", 35.0, 300 * MIB, 512 * MIB, at=T)
    [(_, point)] = window.close(T + 10)
    assert point.cpu_mean == pytest.approx(1.0) and point.cpu_max == pytest.approx(1.5)
    assert point.memory_mean == 200 * MIB and point.memory_max == 300 * MIB
    assert point.restarts == 0 and point.over_quota_seconds == 0


def test_a_first_sample_gives_memory_but_no_cpu_rate():
    window = Window(T)
    window.dyno_sample("web.1", 10.0, 100 * MIB, 512 * MIB, at=T)
    [(_, point)] = window.close(T + 10)
    assert point.cpu_mean is None and point.memory_max == 100 * MIB


def test_a_counter_that_goes_back_is_a_restart():
    window = Window(T)
    window.dyno_sample("web.1", 100.0, 100 * MIB, 512 * MIB, at=T)
    window.dyno_sample("web.1", 2.0, 50 * MIB, 512 * MIB, at=T + 5)
    [(_, point)] = window.close(T + 10)
    assert point.restarts == 1
    assert point.cpu_mean == pytest.approx(0.4)  # the new cgroup's 2 s over the 5 s


def test_time_over_the_memory_quota_is_the_interval_ending_in_a_sample_over_it():
    window = Window(T)
    window.dyno_sample("web.1", 1.0, 600 * MIB, 512 * MIB, at=T - 10)  # no interval yet
    window.dyno_sample("web.1", 2.0, 600 * MIB, 512 * MIB, at=T)
    window.dyno_sample("web.2", 1.0, 600 * MIB, 0, at=T - 10)  # no quota
    window.dyno_sample("web.2", 2.0, 600 * MIB, 0, at=T)
    window.dyno_sample("web.1", 3.0, 500 * MIB, 512 * MIB, at=T + 8)
    [(_, point)] = window.close(T + 10)
    assert point.over_quota_seconds == 10


def test_a_repeated_or_late_sample_gives_no_rate():
    window = Window(T)
    window.dyno_sample("web.1", 10.0, MIB, 0, at=T)
    window.dyno_sample("web.1", 12.0, MIB, 0, at=T)
    window.dyno_sample("web.1", 11.0, MIB, 0, at=T - 1)
    [(_, point)] = window.close(T + 10)
    assert point.cpu_mean is None and point.restarts == 0


def test_a_dyno_unseen_for_a_minute_is_forgotten():
    window = Window(T)
    window.dyno_sample("web.1", 100.0, MIB, 0, at=T)
    window.close(T + 70)
    window.dyno_sample("web.1", 1.0, MIB, 0, at=T + 75)  # a new dyno of the same name, not a restart
    [(_, point)] = window.close(T + 80)
    assert point.restarts == 0 and point.cpu_mean is None


def test_markers_are_counted_and_unknown_codes_refused():
    window = Window(T)
    for code in ("H12", "H12", "R14", "R15", "crash"):
        window.marker(code)
    with pytest.raises(ValueError):
        window.marker("H99")
    [(_, point)] = window.close(T + 10)
    assert point.markers == (2, 1, 1, 1)


def test_after_a_pause_the_next_bucket_opens_at_now_and_the_old_minute_closes():
    window = Window(T + 20)
    window.request(200, 1.0)
    closed = window.close(T + 200)
    assert [(step, point.start) for step, point in closed] == [(10, T + 20), (60, T)]
    assert closed[1][1].requests == (1, 0, 0, 0)
    assert window.start == T + 200
