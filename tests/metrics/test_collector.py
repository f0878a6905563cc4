"""The collector on its own: requests and cgroup samples of a fake cgroup tree (pure file parsing)
into the store, with markers; the runner runs it against real cgroups (tests/e2e/test_dashboard.py)."""

import uuid

from paas.metrics.collector import IDLE_AFTER, MetricsCollector
from paas.metrics.points import MARKERS
from paas.metrics.store import Store

APP = str(uuid.uuid4())
CONTAINER = "c" * 64


def cgroup(root, container: str, cpu_ns: int, memory: int) -> None:
    cpu, mem = root / "cpuacct" / "docker" / container, root / "memory" / "docker" / container
    cpu.mkdir(parents=True, exist_ok=True)
    mem.mkdir(parents=True, exist_ok=True)
    (cpu / "cpuacct.usage").write_text(f"{cpu_ns}\n")
    (mem / "memory.usage_in_bytes").write_text(f"{memory}\n")
    (mem / "memory.limit_in_bytes").write_text(f"{512 * 2**20}\n")
    (mem / "memory.stat").write_text("total_inactive_file 0\n")


def collector(tmp_path, dynos, now=lambda: 1010.0):
    return MetricsCollector(Store(tmp_path / "metrics"), lambda: dynos, lambda: {"shop": APP}, {"basic": 100},
                            cgroup_root=tmp_path / "cgroup", clock=now)


def test_requests_and_samples_become_points_with_markers(tmp_path):
    dynos = {"shop": [{"id": CONTAINER, "type": "web", "state": "up", "size": "basic"},
                      {"id": "d" * 64, "type": "web", "state": "crashed", "size": "basic"}],
             "gone": [{"id": "e" * 64, "type": "web", "state": "up", "size": "basic"}]}
    c = collector(tmp_path, dynos)
    cgroup(tmp_path / "cgroup", CONTAINER, 0, 50 * 2**20)
    c.sample(1000.0)
    cgroup(tmp_path / "cgroup", CONTAINER, 5 * 10**9, 150 * 2**20)  # half a core over 10 s, over its 100 MB
    c.sample(1010.0)
    for status, ms in ((200, 10), (200, 30), (404, 5), (504, 30000)):
        c.request("shop", status, ms)
    c.request("unknown", 200, 1)  # no such app: nothing
    assert c.flush(1005.0) == 0  # the bucket is still open
    assert c.flush(1020.0) == 2  # the 10-s point, and its minute's (1020 is in the next minute)
    [(start, point)] = c.store.read(APP, "web", 1000, 1010, 10, now=1020)
    assert start == 1000 and point.cpu_mean == 0.5 and point.memory_max == 150 * 2**20
    assert point.requests == (2, 0, 1, 1) and point.over_quota_seconds == 10
    assert dict(zip(MARKERS, point.markers)) == {"H12": 1, "R14": 1, "R15": 0, "crash": 1}
    c.sample(1030.0)  # the crash is marked once, not on every sample
    c.flush(1040.0)
    assert all(p is None or p.markers[MARKERS.index("crash")] == 0 for _, p in c.store.read(APP, "web", 1010, 1040, 10, now=1040))


def test_idle_windows_are_dropped(tmp_path):
    c = collector(tmp_path, {})
    c.request("shop", 200, 1)
    assert c.windows
    c.flush(1010.0 + IDLE_AFTER + 1)
    assert not c.windows
