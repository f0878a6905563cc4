import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Header
from fastapi.responses import JSONResponse

from paas.domain import access, app_setups, apps, buildpacks, pagination, quotas, releases
from paas.domain.errors import InvalidParams
from paas.domain.models import App, Build
from paas.domain.ranges import parse_range
from paas.domain.stacks import STACKS
from paas.platform.api import paged
from paas.platform.deps import (
    CipherDep,
    DbDep,
    SettingsDep,
    UserDep,
)
from paas.repos import delete_repository, rename_repository
from paas.shapes import (
    REGION,
    app_json,
    buildpack_installations_json,
)

router = APIRouter()

APP_RANGE_COLUMNS = {"id": (App.id, uuid.UUID), "name": (App.name, str)}


@router.post("/apps", status_code=201)
def create_app(
    user: UserDep, db: DbDep, cipher: CipherDep, settings: SettingsDep,
    body: Annotated[dict | None, Body()] = None,
):
    body = body or {}
    name = body.get("name")
    if name is not None and not isinstance(name, str):
        raise InvalidParams("Name must be a string.")
    region = body.get("region")
    if region is not None and region not in (REGION["name"], REGION["id"]):
        raise InvalidParams(f"Couldn't find that region: {region!r}. This platform has one: {REGION['name']}.")
    stack = stack_name(body["stack"]) if body.get("stack") is not None else None
    quotas.require_room(db, settings, user, "apps")
    app = apps.create_app(db, cipher, user, name)
    if stack is not None:
        app = apps.set_build_stack(db, app, stack)
    db.commit()
    return describe(db, app, settings)


@router.get("/apps")
@router.get("/users/~/apps")
def list_apps(user: UserDep, db: DbDep, settings: SettingsDep, range_: Annotated[str | None, Header(alias="Range")] = None):
    rng = parse_range(range_, tuple(APP_RANGE_COLUMNS))
    page = pagination.page(db, access.visible_apps(user), rng, APP_RANGE_COLUMNS)
    return paged(page, lambda app: describe(db, app, settings))


def stack_name(given: object) -> str:
    """A stack as Heroku clients name one: its name or id, or {"name": ...} or {"id": ...}."""
    if isinstance(given, dict):
        given = given.get("name") or given.get("id")
    if isinstance(given, str):
        by_id = next((s.name for s in STACKS.values() if s.id == given), None)
        return by_id or given  # set_build_stack says which names there are
    raise InvalidParams("A stack is named by its name or id.")


def describe(db, app: App, settings) -> dict:
    current = releases.current_release(db, app)
    build = db.get(Build, current.build_id) if current and current.build_id else None
    return app_json(app, settings, current, build.buildpacks if build else None)


@router.patch("/apps/{ident}")
def update_app(ident: str, user: UserDep, db: DbDep, settings: SettingsDep, body: Annotated[dict | None, Body()] = None):
    body = body or {}
    app = access.app_for(db, ident, user, access.MANAGE if "name" in body else access.OPERATE)
    unknown = set(body) - {"name", "build_stack", "maintenance", "health_check_path", "force_https"}
    if unknown:
        raise InvalidParams(f"Cannot change {', '.join(sorted(unknown))} of an app here.")
    old_name = apps.rename_app(db, app, body["name"]) if "name" in body else app.name
    if "build_stack" in body:
        app = apps.set_build_stack(db, app, stack_name(body["build_stack"]))
    if "health_check_path" in body:
        app = apps.set_health_check_path(db, app, body["health_check_path"])
    for switch in apps.SWITCHES:
        if switch in body:
            app = apps.set_switch(db, app, switch, body[switch])
    db.commit()
    if old_name != app.name:
        rename_repository(settings, old_name, app.name)  # pushes go to the new remote
    return describe(db, app, settings)


@router.get("/apps/{ident}/buildpack-installations")
def get_buildpacks(ident: str, user: UserDep, db: DbDep):
    return buildpack_installations_json(access.app_for(db, ident, user, access.VIEW).buildpacks)


@router.put("/apps/{ident}/buildpack-installations")
def put_buildpacks(ident: str, user: UserDep, db: DbDep, body: Annotated[dict | None, Body()] = None):
    app = access.app_for(db, ident, user, access.DEPLOY)
    updates = (body or {}).get("updates")
    if not isinstance(updates, list) or not all(isinstance(u, dict) and isinstance(u.get("buildpack"), str) for u in updates):
        raise InvalidParams('Give the buildpacks as {"updates": [{"buildpack": "<name or URL>"}, ...]}.')
    installed = buildpacks.set_buildpacks(db, app, [u["buildpack"] for u in updates])
    db.commit()
    return buildpack_installations_json(installed)


@router.delete("/apps/{ident}/build-cache", status_code=202)
def purge_build_cache(ident: str, user: UserDep, db: DbDep):
    apps.purge_build_cache(db, access.app_for(db, ident, user, access.DEPLOY))
    db.commit()
    return {}


@router.get("/apps/{ident}")
def get_app(ident: str, user: UserDep, db: DbDep, settings: SettingsDep):
    return describe(db, access.app_for(db, ident, user, access.VIEW), settings)


@router.delete("/apps/{ident}")
def delete_app(ident: str, user: UserDep, db: DbDep, cipher: CipherDep, settings: SettingsDep):
    app = access.app_for(db, ident, user, access.MANAGE)
    body = describe(db, app, settings)
    # Its add-ons go with it (and leave the other apps they were attached to), so do its links.
    app_setups.destroy_app(db, cipher, app, user)
    db.commit()
    delete_repository(settings, app.name)
    return JSONResponse(body)

