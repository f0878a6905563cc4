"""Dynos (Heroku's Dyno resource): the app's processes as the runner last saw them, and restarts.

The API never asks the container engine: the runner publishes what runs after every pass over an
app, and restarts are requests the runner carries out (new processes first, then the old ones go).
"""

from datetime import datetime, timezone

from fastapi import APIRouter, Response

from paas import messages
from paas.domain import apps
from paas.domain.errors import NotFound
from paas.platform.deps import DbDep, LogsDep, RedisDep, UserDep
from paas.platform.serializers import app_ref

router = APIRouter()


def dyno_json(dyno: dict, app) -> dict:
    created = datetime.fromtimestamp(dyno["created_at"], timezone.utc).isoformat().replace("+00:00", "Z")
    return {
        "id": dyno["id"],
        "name": dyno["name"],
        "type": dyno["type"],
        "state": dyno["state"],
        "size": dyno["size"],
        "release": {"id": dyno["release_id"], "version": dyno["version"]},
        "app": app_ref(app),
        "attach_url": None,
        "command": None,
        "created_at": created,
        "updated_at": created,
    }


@router.get("/apps/{ident}/dynos")
def list_dynos(ident: str, user: UserDep, db: DbDep, redis: RedisDep):
    app = apps.app_for_user(db, ident, user)
    return [dyno_json(d, app) for d in messages.read_dynos(redis, app.name)]


@router.get("/apps/{ident}/dynos/{name}")
def get_dyno(ident: str, name: str, user: UserDep, db: DbDep, redis: RedisDep):
    app = apps.app_for_user(db, ident, user)
    return dyno_json(find(redis, app, name), app)


@router.delete("/apps/{ident}/dynos", status_code=202)
def restart_all(ident: str, user: UserDep, db: DbDep, redis: RedisDep, log: LogsDep):
    app = apps.app_for_user(db, ident, user)
    return restart_scope(redis, log, app, user, "all")


@router.delete("/apps/{ident}/dynos/{name}", status_code=202)
def restart(ident: str, name: str, user: UserDep, db: DbDep, redis: RedisDep, log: LogsDep):
    """A dyno (`web.1`) or every dyno of a type (`web`), as `heroku ps:restart` asks."""
    app = apps.app_for_user(db, ident, user)
    if "." in name:
        find(redis, app, name)
    elif not any(d["type"] == name for d in messages.read_dynos(redis, app.name)):
        raise NotFound(f"Couldn't find that process type ({name}).")
    return restart_scope(redis, log, app, user, name)


@router.post("/apps/{ident}/dynos/{name}/actions/stop", status_code=202)
def stop(ident: str, name: str, user: UserDep, db: DbDep, redis: RedisDep, log: LogsDep):
    """As on Heroku, a dyno of the formation that is stopped is started again by the platform:
    the process is replaced. (Scale the type down to keep it stopped.)"""
    app = apps.app_for_user(db, ident, user)
    find(redis, app, name)
    return restart_scope(redis, log, app, user, name)


def restart_scope(redis, log, app, user, scope: str) -> Response:
    what = "all processes" if scope == "all" else scope
    log.event(app.name, "api", f"Restart {what} by {user.email}", source="app")
    messages.request_restart(redis, app.name, scope)
    return Response(content="{}", status_code=202, media_type="application/json")


def find(redis, app, name: str) -> dict:
    for dyno in messages.read_dynos(redis, app.name):
        if dyno["name"] == name:
            return dyno
    raise NotFound(f"Couldn't find that dyno ({name}).")
