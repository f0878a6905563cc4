"""Dynos as events: a one-off run asked for, a stop, a restart, and the states the runner sees.
The processes themselves are the runner's (it reads these events: runner.wakes); nothing about
them is kept in the database. These functions touch only the database; callers commit."""

from sqlalchemy.orm import Session

from paas.domain import events
from paas.domain.models import App, Event, Release


def run_asked(db: Session, app: App, run_id: str, name: str, request: dict, release: Release) -> Event:
    """A one-off run (the runner starts it once this event is committed; its request, which
    carries the env, waits for it in its channel)."""
    return events.record(db, app, "dyno", "create", {
        "id": run_id, "name": name, "type": "run", "command": request["command"], "size": request["size"],
        "attach": request["attach"], "release": {"id": str(release.id), "version": release.version}})


def run_stopped(db: Session, app: App, dyno: dict) -> Event:
    return events.record(db, app, "dyno", "stop", {"id": dyno["id"], "name": dyno["name"], "type": "run"})


def restart_asked(db: Session, app: App, scope: str) -> Event:
    """Processes of `scope` (`all`, a type like `web`, or one like `web.1`) started before this
    event are to be replaced."""
    return events.record(db, app, "dyno", "restart", {"scope": scope})


def state_changed(db: Session, app: App, dyno: dict, previous: str | None) -> Event:
    """A dyno the runner saw change state (Heroku's `dyno` webhooks)."""
    data = {"id": dyno["id"], "name": dyno["name"], "type": dyno["type"], "state": dyno["state"], "size": dyno["size"],
            "release": {"id": dyno["release_id"], "version": dyno["version"]}}
    return events.record(db, app, "dyno", "update", data, {**data, "state": previous})
