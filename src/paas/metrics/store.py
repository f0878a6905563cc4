"""Points on disk, bounded by construction: one file per app and process type,
<root>/<app_id>/<process_type>.ring, holding two rings of fixed-size records: 360 slots of 10 s
(the last hour) then 10,080 slots of 1 min (the last 7 days). A point is written with one pwrite
at slot (start // step) % slots and overwrites the one from a lap ago; each record keeps its
bucket's start, so a reader tells a current slot from a stale (or never written) one.

Disk: (360 + 10,080) slots x 84 bytes = 876,960 bytes (856 KiB) per process type, reached after
7 days and never passed; an app with web and worker uses 1.7 MiB. Removing an app's metrics is
removing its directory.

Why files rather than Redis or Postgres: a write is one pwrite of 84 bytes, with no server round
trip, no parsing and no row or key to expire; the size of each series is fixed when it is made,
where Redis would hold all of it in memory and Postgres would need deletes and vacuum to stay
bounded. Reads are a pread of the slots asked for.
"""

import math
import os
import re
import shutil
import struct
import time
import uuid
from pathlib import Path

from paas.metrics.points import Point, combine

HOUR = 3600
# step (s): (the ring's first slot in the file, its number of slots)
RINGS = {10: (0, 360), 60: (360, 10_080)}
MAX_POINTS = 10_080  # one read: a week at one minute
# start; requests per status class; p50, p95, p99; cpu mean, max; memory mean, max; seconds
# over quota; restarts; markers. NaN is None.
RECORD = struct.Struct("<q4I3f2f2df5I")
START = struct.Struct("<q")  # a record's first field, enough to tell a current slot
APP_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# The domain's rule for process type names (domain/formation.py): no "." nor "/", so no way out.
PROCESS_TYPE = re.compile(r"[A-Za-z0-9_-]{1,30}")


def _number(value: float) -> float | None:
    return None if math.isnan(value) else value


def _float(value: float | None) -> float:
    return math.nan if value is None else value


def encode(point: Point) -> bytes:
    return RECORD.pack(
        point.start, *point.requests, _float(point.p50_ms), _float(point.p95_ms), _float(point.p99_ms),
        _float(point.cpu_mean), _float(point.cpu_max), _float(point.memory_mean), _float(point.memory_max),
        point.over_quota_seconds, point.restarts, *point.markers,
    )


def decode(record: bytes, offset: int = 0) -> Point:
    (start, r2, r3, r4, r5, p50, p95, p99, cpu_mean, cpu_max, memory_mean, memory_max, over_quota,
     restarts, *markers) = RECORD.unpack_from(record, offset)
    memory_mean, memory_max = _number(memory_mean), _number(memory_max)
    return Point(
        start=start, requests=(r2, r3, r4, r5), p50_ms=_number(p50), p95_ms=_number(p95), p99_ms=_number(p99),
        cpu_mean=_number(cpu_mean), cpu_max=_number(cpu_max),
        memory_mean=None if memory_mean is None else int(memory_mean),
        memory_max=None if memory_max is None else int(memory_max),
        over_quota_seconds=over_quota, restarts=restarts, markers=tuple(markers),
    )


class Store:
    def __init__(self, root: Path):
        self.root = Path(root)

    def app_dir(self, app_id: str | uuid.UUID) -> Path:
        if not APP_ID.fullmatch(str(app_id)):
            raise ValueError(f"not an app id: {str(app_id)!r}")
        return self.root / str(app_id)

    def path(self, app_id: str | uuid.UUID, process_type: str) -> Path:
        if not PROCESS_TYPE.fullmatch(process_type):
            raise ValueError(f"not a process type: {process_type!r}")
        return self.app_dir(app_id) / f"{process_type}.ring"

    def write(self, app_id: str | uuid.UUID, process_type: str, step: int, point: Point) -> None:
        if step not in RINGS or point.start % step:
            raise ValueError(f"a {step}-s point starting at {point.start} has no slot")
        first, slots = RINGS[step]
        path = self.path(app_id, process_type)
        flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(path, flags, 0o600)
        except FileNotFoundError:  # the app's first point
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
            path.parent.mkdir(mode=0o700, exist_ok=True)
            fd = os.open(path, flags, 0o600)
        try:
            os.pwrite(fd, encode(point), (first + point.start // step % slots) * RECORD.size)
        finally:
            os.close(fd)

    def read(self, app_id: str | uuid.UUID, process_type: str, start: float, end: float, step: int,
             now: float | None = None) -> list[tuple[int, Point | None]]:
        """The points of [start, end) every `step` seconds, from start rounded down to a multiple
        of step, as (bucket start, point); None where nothing was written (not collected then,
        or rotated out). The 10-s ring answers a range within the last hour at a step under a
        minute, the 1-min ring any other; the step is a multiple of the ring's (ValueError if not)."""
        now = time.time() if now is None else now
        ring_step = 10 if step < 60 and start >= now - HOUR else 60
        if step <= 0 or step % ring_step:
            raise ValueError(f"the step must be a multiple of {ring_step} s here, not {step}")
        first = int(start // step * step)
        times = range(first, math.ceil(end), step)
        if len(times) > MAX_POINTS:
            raise ValueError(f"{len(times)} points asked for, at most {MAX_POINTS}")
        per_point = step // ring_step
        stored = self._ring(self.path(app_id, process_type), ring_step, first, len(times) * per_point)
        if per_point == 1:
            return list(zip(times, stored))
        return [(t, combine(t, stored[i * per_point:(i + 1) * per_point])) for i, t in enumerate(times)]

    def _ring(self, path: Path, step: int, first_time: int, count: int) -> list[Point | None]:
        """The `count` slots of the ring of `step` from `first_time` on, None where stale or empty."""
        ring_first, slots = RINGS[step]
        index = first_time // step % slots
        span = min(count, slots)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            return [None] * count
        try:
            pieces = [(index, min(index + span, slots)), (0, max(index + span - slots, 0))]
            data = b"".join(self._slots(fd, ring_first + low, high - low) for low, high in pieces)
        finally:
            os.close(fd)
        points: list[Point | None] = []
        for i in range(count):
            offset = i % slots * RECORD.size  # past a whole ring, slots repeat and are stale
            if START.unpack_from(data, offset)[0] == first_time + i * step:
                points.append(decode(data, offset))
            else:
                points.append(None)
        return points

    @staticmethod
    def _slots(fd: int, first: int, count: int) -> bytes:
        data = os.pread(fd, count * RECORD.size, first * RECORD.size)
        return data.ljust(count * RECORD.size, b"\0")  # past the end of the file: never written

    def remove(self, app_id: str | uuid.UUID) -> None:
        """Forgets all of an app's metrics."""
        shutil.rmtree(self.app_dir(app_id), ignore_errors=True)
