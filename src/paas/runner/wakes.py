"""The runner's consumer of events: a change to what should run, or to how it is reached, wakes
the runner for the app (and the router's sweep for domains, names and HTTPS redirects)."""

import redis

from paas.channels.dynos import app_destroyed, app_renamed, request_restart
from paas.channels.runner import ROUTER_WAKE, wake_runner
from paas.channels.runs import RunChannel
from paas.domain import apps

# Not the runner's business yet: a build; an add-on, an attachment or a link before the add-on
# job made its network (the job wakes the runner then, and its var comes in a release); a
# one-off run (it has a queue of its own); a pipeline coupling; a scheduled job (the cron
# thread reads the jobs every minute). Or its own doing: a release settled, a dyno's state.
QUIET = {"build", "pipeline-coupling", "scheduled-job", "addon", "addon-attachment:create", "link:create", "release:update", "dyno:create", "dyno:stop", "dyno:update"}


def woken(batch) -> list[str]:
    """The apps to reconcile after these events, each once, and ROUTER_WAKE for a sweep."""
    wakes: dict[str, None] = {}
    for event in batch:
        if event.resource in QUIET or f"{event.resource}:{event.action}" in QUIET:
            continue
        if event.resource == "domain" or (event.resource, event.action) == ("app", "update"):
            wakes[ROUTER_WAKE] = None
        if event.resource != "domain":
            wakes[event.app_name] = None
        if (event.resource, event.action) == ("app", "update") and "name" in event.previous_data:
            wakes[event.previous_data["name"]] = None  # its processes under the old name go
        if event.resource == "link":  # the linked app's processes join or leave the link's network too
            wakes[event.data["target"]["name"]] = None
    return list(wakes)


def waker(redis_client: redis.Redis):
    def wake(db, batch) -> None:
        for event in batch:
            match (event.resource, event.action):
                case ("dyno", "restart"):  # what started before it goes
                    request_restart(redis_client, event.app_name, event.data["scope"], event.created_at.timestamp())
                case ("dyno", "create"):  # a one-off run asked for: its request waits in its channel
                    RunChannel(redis_client, event.data["id"]).start()
                case ("app", "update") if "name" in event.previous_data:
                    app_renamed(redis_client, event.previous_data["name"], event.app_name)
                case ("app", "destroy") if apps.find_app_by_name(db, event.app_name) is None:
                    # (a destroy delivered again must not take the run numbers of a new app of that name)
                    app_destroyed(redis_client, event.app_name)
        for item in woken(batch):
            wake_runner(redis_client, item)

    return wake
