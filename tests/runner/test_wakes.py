"""Which events wake the runner, and for which apps (pure logic)."""

from types import SimpleNamespace

from paas.channels.runner import ROUTER_WAKE
from paas.runner.wakes import woken


def event(resource: str, action: str, app: str = "a", previous: dict | None = None, **data):
    return SimpleNamespace(resource=resource, action=action, app_name=app, data=data, previous_data=previous or {})


def test_a_batch_wakes_each_app_once_and_the_router_for_domains_and_app_settings():
    assert woken([event("release", "create"), event("formation", "update"), event("release", "create", "b")]) == ["a", "b"]
    assert woken([event("domain", "create"), event("domain", "destroy")]) == [ROUTER_WAKE]
    assert woken([event("app", "update")]) == [ROUTER_WAKE, "a"]
    assert woken([event("app", "update", "new", previous={"name": "old"})]) == [ROUTER_WAKE, "new", "old"]
    assert woken([event("link", "destroy", target={"name": "b"})]) == ["a", "b"]
    assert woken([event("app", "create"), event("app", "destroy", "b"), event("addon-attachment", "destroy")]) == ["a", "b"]


def test_builds_settled_releases_and_what_an_add_on_job_finishes_wake_nothing():
    quiet = [event("build", "create"), event("build", "update"), event("release", "update"), event("dyno", "create"),
             event("addon", "create"), event("addon-attachment", "create"), event("link", "create", target={"name": "b"})]
    assert woken(quiet) == []
