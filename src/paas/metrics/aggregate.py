"""Summing one process type's requests and dyno samples, in memory, into 10-s and 1-min points.

A Window lives as long as its process type is collected: it holds the open 10-s bucket, the
minute that bucket belongs to (merged from its closed 10-s buckets, so the minute's percentiles
come from all its requests, not from averaging six percentiles) and each dyno's last cumulative
CPU sample, which the next sample turns into a rate.
"""

from dataclasses import dataclass

from paas.metrics.histogram import Histogram
from paas.metrics.points import MARKERS, Point

STEP = 10
MINUTE = 60
# A dyno with no sample for this long is gone (scaled down, replaced): its last sample is dropped.
FORGET_DYNO_AFTER = 60
_MARKER_INDEX = {code: i for i, code in enumerate(MARKERS)}


class _Totals:
    """What a bucket has seen, in sums that merge by adding."""

    __slots__ = ("requests", "histogram", "cpu_sum", "cpu_samples", "cpu_max", "memory_sum",
                 "memory_samples", "memory_max", "over_quota_seconds", "restarts", "markers")

    def __init__(self) -> None:
        self.requests = [0, 0, 0, 0]
        self.histogram = Histogram()
        self.cpu_sum, self.cpu_samples, self.cpu_max = 0.0, 0, 0.0
        self.memory_sum, self.memory_samples, self.memory_max = 0, 0, 0
        self.over_quota_seconds = 0.0
        self.restarts = 0
        self.markers = [0] * len(MARKERS)

    def merge(self, other: "_Totals") -> None:
        self.requests = [a + b for a, b in zip(self.requests, other.requests)]
        self.histogram.merge(other.histogram)
        self.cpu_sum += other.cpu_sum
        self.cpu_samples += other.cpu_samples
        self.cpu_max = max(self.cpu_max, other.cpu_max)
        self.memory_sum += other.memory_sum
        self.memory_samples += other.memory_samples
        self.memory_max = max(self.memory_max, other.memory_max)
        self.over_quota_seconds += other.over_quota_seconds
        self.restarts += other.restarts
        self.markers = [a + b for a, b in zip(self.markers, other.markers)]

    def point(self, start: int) -> Point:
        return Point(
            start=start,
            requests=tuple(self.requests),
            p50_ms=self.histogram.quantile(0.50),
            p95_ms=self.histogram.quantile(0.95),
            p99_ms=self.histogram.quantile(0.99),
            cpu_mean=self.cpu_sum / self.cpu_samples if self.cpu_samples else None,
            cpu_max=self.cpu_max if self.cpu_samples else None,
            memory_mean=round(self.memory_sum / self.memory_samples) if self.memory_samples else None,
            memory_max=self.memory_max if self.memory_samples else None,
            over_quota_seconds=self.over_quota_seconds,
            restarts=self.restarts,
            markers=tuple(self.markers),
        )


@dataclass(slots=True)
class _LastSample:
    at: float
    cpu_seconds_total: float


class Window:
    """One app's process type, from its first sample or request for as long as it is collected."""

    def __init__(self, now: float):
        self.start = int(now // STEP * STEP)  # of the open 10-s bucket
        self._bucket = _Totals()
        self._minute = _Totals()
        self._last: dict[str, _LastSample] = {}

    def request(self, status: int, service_ms: float) -> None:
        """A request the router answered. 1xx (a websocket's 101) counts as 2xx, past 5xx as 5xx."""
        self._bucket.requests[min(max(status // 100, 2), 5) - 2] += 1
        self._bucket.histogram.add(service_ms)

    def dyno_sample(self, dyno: str, cpu_seconds_total: float, memory_bytes: int, quota_bytes: int, at: float) -> None:
        """A dyno's cgroup read at time `at` (Unix seconds). CPU is cumulative, so a rate needs the
        dyno's previous sample; a total below the previous one is a new cgroup: a restart. A quota
        of 0 is none. The interval since the previous sample counts as over quota if this sample is.
        `dyno` keys the samples: by container id, a deploy's new containers are new dynos; by
        dyno name (web.1), they count as restarts."""
        totals = self._bucket
        totals.memory_sum += memory_bytes
        totals.memory_samples += 1
        totals.memory_max = max(totals.memory_max, memory_bytes)
        last = self._last.get(dyno)
        if last is not None and at <= last.at:
            return  # out of order or repeated: no interval to measure over
        self._last[dyno] = _LastSample(at, cpu_seconds_total)
        if last is None:
            return
        elapsed = at - last.at
        used = cpu_seconds_total - last.cpu_seconds_total
        if used < 0:
            totals.restarts += 1
            used = cpu_seconds_total  # the new cgroup's, since it started within the interval
        rate = used / elapsed
        totals.cpu_sum += rate
        totals.cpu_samples += 1
        totals.cpu_max = max(totals.cpu_max, rate)
        if 0 < quota_bytes < memory_bytes:
            totals.over_quota_seconds += elapsed

    def marker(self, code: str) -> None:
        """An event to mark on the graphs: H12 (request timeout), R14/R15 (memory quota exceeded,
        vastly exceeded) or crash."""
        if code not in _MARKER_INDEX:
            raise ValueError(f"unknown marker {code!r}: one of {', '.join(MARKERS)}")
        self._bucket.markers[_MARKER_INDEX[code]] += 1

    def close(self, now: float) -> list[tuple[int, Point]]:
        """If `now` is past the open 10-s bucket: its point and, when its minute ended too, the
        minute's, each as (step, point); a new bucket opens at `now`. Before that: nothing."""
        if now < self.start + STEP:
            return []
        closed = [(STEP, self._bucket.point(self.start))]
        self._minute.merge(self._bucket)
        next_start = int(now // STEP * STEP)
        if next_start // MINUTE != self.start // MINUTE:
            closed.append((MINUTE, self._minute.point(self.start // MINUTE * MINUTE)))
            self._minute = _Totals()
        self._bucket = _Totals()
        self.start = next_start
        self._last = {dyno: last for dyno, last in self._last.items() if now - last.at < FORGET_DYNO_AFTER}
        return closed
