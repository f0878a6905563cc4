"""Waiting for a condition instead of sleeping a guessed time (the end-to-end tests have their
own `eventually`, with an API-sized interval)."""

import time

import pytest


def wait_until(probe, timeout: float, what: str, interval: float = 0.02):
    """probe() until it returns something true, and return that. Past the deadline the test
    fails, after one last probe begun once the deadline had passed: a wait never passes because
    time ran out, and never fails before the whole timeout."""
    deadline = time.monotonic() + timeout
    while True:
        late = time.monotonic() > deadline
        value = probe()
        if value:
            return value
        if late:
            pytest.fail(f"{what} did not happen within {timeout:g} s (last: {value!r})")
        time.sleep(interval)


def within_settle_time(router, probe, what: str):
    """probe() holds within the router's settle time: the runner stops an app's old processes
    once that time has passed after a route change, so a change must reach every new request by
    then. The final probe comes after the whole settle time, as a sleep-then-check would."""
    return wait_until(probe, router.settle_time, f"{what} (within the router's settle time)", interval=0.01)
