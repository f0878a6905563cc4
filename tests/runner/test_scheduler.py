import threading
import time

from paas.runner.scheduler import Scheduler
from tests.waiting import wait_until


def test_a_request_for_a_busy_app_runs_once_more_afterwards_and_apps_run_in_parallel():
    calls, release = [], threading.Event()

    def reconcile(app):
        calls.append(app)
        if app == "slow" and calls.count("slow") == 1:
            release.wait(5)

    scheduler = Scheduler(reconcile, workers=4)
    scheduler.request("slow")
    wait_until(lambda: calls == ["slow"], 5, "the slow reconcile running")
    for _ in range(3):  # three requests while busy collapse into one more run
        scheduler.request("slow")
    scheduler.request("fast")
    deadline = time.monotonic() + 5
    while "fast" not in calls and time.monotonic() < deadline:
        time.sleep(0.01)
    assert calls == ["slow", "fast"]  # "fast" did not wait for "slow"
    release.set()
    deadline = time.monotonic() + 5
    while scheduler.busy and time.monotonic() < deadline:
        time.sleep(0.01)
    assert calls.count("slow") == 2 and not scheduler.busy


def test_a_failing_reconcile_does_not_wedge_the_app():
    calls = []

    def reconcile(app):
        calls.append(app)
        raise RuntimeError("docker is down")

    scheduler = Scheduler(reconcile, workers=1)
    scheduler.request("flaky")
    deadline = time.monotonic() + 5
    while scheduler.busy and time.monotonic() < deadline:
        time.sleep(0.01)
    scheduler.request("flaky")
    deadline = time.monotonic() + 5
    while (scheduler.busy or len(calls) < 2) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert calls == ["flaky", "flaky"]
