"""The runner's inbox: one Redis list per kind of work, taken in one blocking pop. Its consumer
of events wakes it for an app (or for a sweep: the router's routes changed); the API asks it for
one-off runs (paas.channels.runs); add-on jobs come from events and from the API
(paas.channels.addon_jobs)."""

from dataclasses import dataclass

import redis

WAKE_QUEUE = "paas:runner:wake"
RUN_QUEUE = "paas:runner:runs"
ADDON_QUEUE = "paas:runner:addon-jobs"
ROUTER_WAKE = "@router"  # not an app name: the runner sweeps now (domains changed)
_KINDS = {WAKE_QUEUE: "wake", RUN_QUEUE: "run", ADDON_QUEUE: "addon"}


@dataclass(frozen=True)
class Work:
    kind: str  # "wake" (item: an app's name, or ROUTER_WAKE), "run" (a run's id), "addon" (a job)
    item: str


def wake_runner(client: redis.Redis, app_name: str) -> None:
    client.rpush(WAKE_QUEUE, app_name)


def wait_for_work(client: redis.Redis, timeout: float) -> Work | None:
    """Whichever work comes first; None after `timeout` seconds."""
    found = client.blpop(list(_KINDS), timeout=timeout)
    return Work(_KINDS[found[0]], found[1]) if found else None
