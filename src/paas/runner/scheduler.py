"""The reconciler's scheduling: each app reconciled by one thread at a time, different apps in
parallel; a process that exits gets its app reconciled at once."""

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger("paas.runner")
EXIT_SETTLE = 0.5  # seconds


class Scheduler:
    """Runs reconcile(app) in a pool; a request for an app that is busy runs once more afterwards."""

    def __init__(self, reconcile, workers: int = 8):
        self.reconcile = reconcile
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="reconcile")
        self.lock = threading.Lock()
        self.busy: set[str] = set()
        self.again: set[str] = set()

    def request(self, app: str) -> None:
        with self.lock:
            if app in self.busy:
                self.again.add(app)
                return
            self.busy.add(app)
        self.pool.submit(self._run, app)

    def _run(self, app: str) -> None:
        while True:
            try:
                self.reconcile(app)
            except Exception:
                log.exception("reconciling %s failed; the next sweep tries again", app)
            with self.lock:
                if app not in self.again:
                    self.busy.discard(app)
                    return
                self.again.discard(app)


def follow_exits(reconciler, scheduler) -> None:
    """A process that exits (crashed, killed, out of memory) gets its app reconciled at once,
    not at the next sweep: the router stops sending it requests and, if the engine does not
    bring it back itself, the runner replaces it. The exit goes into the app's logs."""
    while True:
        try:
            for exit in reconciler.backend.exits():
                # The engine reports the exit a moment before the process shows as exited.
                threading.Timer(EXIT_SETTLE, scheduler.request, args=(exit.app,)).start()
                reconciler.exited(exit)  # best effort: the logs never hold the reconcile up
        except Exception:
            log.exception("following process exits failed; again in 1 s")
        time.sleep(1)
