"""The runner's metrics collector: what the router answered and what each dyno uses, into the store.

- Requests: the log collector's router-log parser calls `request` for every access line of an
  app, before the logs' rate limit drops any (metrics count them all). They go to the app's
  `web` process type, the only one the router sends requests to.
- Dynos: every STEP seconds, each running dyno's cgroup (paas.metrics.cgroups: a few file reads,
  no Docker API call), keyed by container, so a deploy's new processes are new dynos. Markers:
  R14 when a dyno's memory is over its size's quota, R15 over twice that; a crash when a dyno is
  first seen crashed; H12 when the router timed out waiting for the app (504).
- Then each process type's window is closed and its points written. A window with nothing in it
  for IDLE_AFTER seconds is dropped, so 1,000 idle apps cost nothing.

On a swarm only the manager's own dynos have cgroups here: the others have router metrics only.
"""

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from paas.metrics.aggregate import STEP, Window
from paas.metrics.cgroups import CGROUP_ROOT, container_usage
from paas.metrics.store import Store
from paas.threads import name_this_thread

log = logging.getLogger(__name__)
IDLE_AFTER = 120  # seconds without requests or dynos before a window goes (after its minute is written)
MB = 2**20


class MetricsCollector:
    def __init__(self, store: Store, dynos: Callable[[], dict[str, list[dict]]], app_ids: Callable[[], dict[str, str]],
                 quotas_mb: dict[str, int], cgroup_root: Path = CGROUP_ROOT, clock: Callable[[], float] = time.time):
        self.store = store
        self.dynos = dynos  # app name -> the dynos the reconciler last published
        self.app_ids = app_ids  # app name -> app id
        self.quotas_mb = quotas_mb  # dyno size -> memory quota
        self.cgroup_root = cgroup_root
        self.clock = clock
        self.windows: dict[tuple[str, str], Window] = {}
        self.active: dict[tuple[str, str], float] = {}  # when each window last had something
        self.crashed: set[str] = set()  # containers already marked
        self.lock = threading.Lock()  # requests come from the log collector's thread

    def _window(self, key: tuple[str, str], now: float) -> Window:
        self.active[key] = now
        window = self.windows.get(key)
        if window is None:
            window = self.windows[key] = Window(now)
        return window

    def request(self, app_name: str, status: int, service_ms: float) -> None:
        app_id = self.app_ids().get(app_name)
        if app_id is None:
            return
        with self.lock:
            window = self._window((app_id, "web"), self.clock())
            window.request(status, service_ms)
            if status == 504:
                window.marker("H12")

    def sample(self, now: float) -> None:
        """Each running dyno's CPU and memory, and the markers they call for."""
        app_ids = self.app_ids()
        for app_name, dynos in list(self.dynos().items()):
            app_id = app_ids.get(app_name)
            for dyno in dynos if app_id else ():
                if dyno["type"] == "run":
                    continue  # one-off runs are not a process type's dynos
                key = (app_id, dyno["type"])
                if dyno["state"] == "crashed" and dyno["id"] not in self.crashed:
                    self.crashed.add(dyno["id"])
                    with self.lock:
                        self._window(key, now).marker("crash")
                if dyno["state"] != "up":
                    continue
                try:
                    usage = container_usage(dyno["id"], self.cgroup_root)
                except ValueError:
                    usage = None  # not a container id (a swarm task's)
                if usage is None:
                    continue
                quota = self.quotas_mb.get(dyno["size"], 0) * MB
                with self.lock:
                    window = self._window(key, now)
                    window.dyno_sample(dyno["id"], usage.cpu_seconds_total, usage.memory_bytes, quota, now)
                    if quota and usage.memory_bytes > 2 * quota:
                        window.marker("R15")
                    elif quota and usage.memory_bytes > quota:
                        window.marker("R14")
        if len(self.crashed) > 10_000:  # ids of long-gone containers
            self.crashed.clear()

    def flush(self, now: float) -> int:
        """Close the windows whose bucket ended and write their points; the number written."""
        with self.lock:
            closed = [(key, window.close(now)) for key, window in self.windows.items()]
            for key in [k for k, at in self.active.items() if now - at > IDLE_AFTER]:
                del self.windows[key], self.active[key]
        written = 0
        for (app_id, process_type), points in closed:
            for step, point in points:
                self.store.write(app_id, process_type, step, point)
                written += 1
        return written

    def run(self) -> None:
        name_this_thread("metrics")  # what it costs, readable from outside (bench/dashboard.py)
        while True:
            time.sleep(STEP - self.clock() % STEP + 0.05)  # just past each bucket's end
            try:
                self.sample(self.clock())
                self.flush(self.clock())
            except Exception:
                log.exception("collecting metrics failed; trying again in %s s", STEP)

    def start(self) -> "MetricsCollector":
        threading.Thread(target=self.run, daemon=True, name="metrics").start()
        return self


def forget(store: Store):
    """A consumer of events: an app destroyed, its metrics go with it."""

    def consume(_db, batch) -> None:
        for event in batch:
            if (event.resource, event.action) == ("app", "destroy"):
                store.remove(event.app_id)

    return consume
