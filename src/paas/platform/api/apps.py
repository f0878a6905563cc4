import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Header, Response
from fastapi.responses import JSONResponse

from paas import messages
from paas.platform import services
from paas.platform.api import paged
from paas.platform.deps import CipherDep, DbDep, RedisDep, SettingsDep, UserDep
from paas.platform.errors import InvalidParams
from paas.platform.models import App
from paas.platform.ranges import parse_range
from paas.platform.repos import delete_repository
from paas.platform.serializers import account_json, app_json

router = APIRouter()

APP_RANGE_COLUMNS = {"id": (App.id, uuid.UUID), "name": (App.name, str)}


@router.get("/account")
def account(user: UserDep):
    return account_json(user)


@router.get("/account/rate-limits")
def rate_limits(user: UserDep):
    return {"remaining": 4500}


@router.post("/apps", status_code=201)
def create_app(
    user: UserDep, db: DbDep, cipher: CipherDep, redis: RedisDep, settings: SettingsDep,
    body: Annotated[dict | None, Body()] = None,
):
    body = body or {}
    name = body.get("name")
    if name is not None and not isinstance(name, str):
        raise InvalidParams("Name must be a string.")
    app = services.create_app(db, cipher, user, name)
    db.commit()
    messages.wake_runner(redis, app.name)
    return app_json(app, settings)


@router.get("/apps")
@router.get("/users/~/apps")
def list_apps(user: UserDep, db: DbDep, settings: SettingsDep, range_: Annotated[str | None, Header(alias="Range")] = None):
    rng = parse_range(range_, tuple(APP_RANGE_COLUMNS))
    page = services.page(db, services.list_apps(db, user), rng, APP_RANGE_COLUMNS)
    return paged(page, lambda app: app_json(app, settings))


@router.get("/apps/{ident}")
def get_app(ident: str, user: UserDep, db: DbDep, settings: SettingsDep):
    return app_json(services.app_for_user(db, ident, user), settings)


@router.delete("/apps/{ident}")
def delete_app(ident: str, user: UserDep, db: DbDep, redis: RedisDep, settings: SettingsDep):
    app = services.app_for_user(db, ident, user)
    body = app_json(app, settings)
    services.delete_app(db, app)
    db.commit()
    delete_repository(settings, app.name)
    messages.wake_runner(redis, app.name)  # the runner stops its processes and drops its route
    return JSONResponse(body)


@router.get("/apps/{ident}/pipeline-couplings")
def pipeline_couplings(ident: str, user: UserDep, db: DbDep):
    services.app_for_user(db, ident, user)
    return JSONResponse({"id": "not_found", "message": "This app is not in a pipeline."}, status_code=404)


@router.get("/apps/{ident}/addons")
def addons(ident: str, user: UserDep, db: DbDep):
    services.app_for_user(db, ident, user)
    return []


@router.get("/apps/{ident}/collaborators")
def collaborators(ident: str, user: UserDep, db: DbDep):
    services.app_for_user(db, ident, user)
    return Response(content="[]", media_type="application/json")
