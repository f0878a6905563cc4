import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Header
from fastapi.responses import JSONResponse

from paas import messages
from paas.platform import services
from paas.platform.api import paged
from paas.platform.deps import CipherDep, DbDep, RedisDep, UserDep
from paas.platform.errors import InvalidParams
from paas.platform.models import Release
from paas.platform.ranges import parse_range
from paas.platform.serializers import release_json

router = APIRouter()

RELEASE_RANGE_COLUMNS = {"version": (Release.version, int), "id": (Release.id, uuid.UUID)}


@router.get("/apps/{ident}/releases")
def list_releases(ident: str, user: UserDep, db: DbDep, range_: Annotated[str | None, Header(alias="Range")] = None):
    app = services.app_for_user(db, ident, user)
    current = services.current_release(db, app)
    rng = parse_range(range_, tuple(RELEASE_RANGE_COLUMNS))
    page = services.page(db, services.list_releases(app), rng, RELEASE_RANGE_COLUMNS)
    return paged(page, lambda release: release_json(release, current))


@router.get("/apps/{ident}/releases/{release}")
def get_release(ident: str, release: str, user: UserDep, db: DbDep):
    app = services.app_for_user(db, ident, user)
    return release_json(services.get_release(db, app, release), services.current_release(db, app))


@router.get("/apps/{ident}/releases/{release}/config-vars")
def get_release_config_vars(ident: str, release: str, user: UserDep, db: DbDep, cipher: CipherDep):
    app = services.app_for_user(db, ident, user)
    return cipher.decrypt(services.get_release(db, app, release).config_vars)


@router.post("/apps/{ident}/releases", status_code=201)
def rollback(ident: str, user: UserDep, db: DbDep, redis: RedisDep, body: Annotated[dict | None, Body()] = None):
    target = (body or {}).get("release")
    if target is None or isinstance(target, bool) or not isinstance(target, (str, int)):
        raise InvalidParams('Give the release to roll back to: {"release": "<id or version>"}.')
    app = services.app_for_user(db, ident, user)
    release = services.rollback(db, app, user, target)
    db.commit()
    messages.wake_runner(redis, app.name)
    return JSONResponse(release_json(release, services.current_release(db, app)), status_code=201)
