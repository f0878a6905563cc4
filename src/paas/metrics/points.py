"""A point: what one process type of one app did in one bucket of time (10 s or 1 min)."""

from collections.abc import Sequence
from dataclasses import dataclass

STATUS_CLASSES = ("2xx", "3xx", "4xx", "5xx")
MARKERS = ("H12", "R14", "R15", "crash")


@dataclass(frozen=True, slots=True)
class Point:
    start: int  # the bucket's start, Unix seconds
    requests: tuple[int, ...]  # per status class, in STATUS_CLASSES' order
    p50_ms: float | None  # response time percentiles (upper bounds, see histogram.py); None: no requests
    p95_ms: float | None
    p99_ms: float | None
    cpu_mean: float | None  # cores, over the dynos' samples; None: no sample gave a rate
    cpu_max: float | None
    memory_mean: int | None  # bytes, over the dynos' samples; None: no sample
    memory_max: int | None
    over_quota_seconds: float  # dyno-seconds spent over the size's memory quota
    restarts: int
    markers: tuple[int, ...]  # per code, in MARKERS' order


def _mean(values: list) -> float | None:
    return sum(values) / len(values) if values else None


def _most(values: list):
    return max(values) if values else None


def combine(start: int, points: Sequence[Point | None]) -> Point | None:
    """One coarser point from consecutive ones (None: gaps); None if all are gaps.

    Points keep no sample counts, so means are the mean of the points' means. A percentile is the
    highest of the points': never below the true one of all their requests, since each point has
    at most a share (1 - q) of its requests above its own q-quantile."""
    present = [point for point in points if point is not None]
    if not present:
        return None

    def present_values(field: str) -> list:
        return [value for point in present if (value := getattr(point, field)) is not None]

    memory_mean = _mean(present_values("memory_mean"))
    return Point(
        start=start,
        requests=tuple(map(sum, zip(*(point.requests for point in present)))),
        p50_ms=_most(present_values("p50_ms")),
        p95_ms=_most(present_values("p95_ms")),
        p99_ms=_most(present_values("p99_ms")),
        cpu_mean=_mean(present_values("cpu_mean")),
        cpu_max=_most(present_values("cpu_max")),
        memory_mean=None if memory_mean is None else round(memory_mean),
        memory_max=_most(present_values("memory_max")),
        over_quota_seconds=sum(point.over_quota_seconds for point in present),
        restarts=sum(point.restarts for point in present),
        markers=tuple(map(sum, zip(*(point.markers for point in present)))),
    )
