"""The runner's consumer of events: a change to what should run, or to how it is reached, wakes
the runner for the app (and the router's sweep for domains and HTTPS redirects)."""

import redis

from paas import messages

# Not the runner's business yet: a build; an add-on, an attachment or a link before the add-on
# job made its network (the job wakes the runner then, and its var comes in a release). Or its
# own doing: a release settled, a dyno.
QUIET = {"build", "addon", "addon-attachment:create", "link:create", "release:update", "dyno"}


def woken(batch) -> list[str]:
    """The apps to reconcile after these events, each once, and messages.ROUTER_WAKE for a sweep."""
    wakes: dict[str, None] = {}
    for event in batch:
        if event.resource in QUIET or f"{event.resource}:{event.action}" in QUIET:
            continue
        if event.resource == "domain" or (event.resource, event.action) == ("app", "update"):
            wakes[messages.ROUTER_WAKE] = None
        if event.resource != "domain":
            wakes[event.app_name] = None
        if event.resource == "link":  # the linked app's processes join or leave the link's network too
            wakes[event.data["target"]["name"]] = None
    return list(wakes)


def waker(redis_client: redis.Redis):
    def wake(batch) -> None:
        for item in woken(batch):
            messages.wake_runner(redis_client, item)

    return wake
