import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Header
from fastapi.responses import JSONResponse

from paas import logs, messages
from paas.domain import access, pagination, releases
from paas.domain.errors import InvalidParams
from paas.domain.models import Release
from paas.domain.ranges import parse_range
from paas.platform.api import paged
from paas.platform.deps import CipherDep, DbDep, LogsDep, RedisDep, UserDep
from paas.platform.serializers import release_json

router = APIRouter()

RELEASE_RANGE_COLUMNS = {"version": (Release.version, int), "id": (Release.id, uuid.UUID)}


@router.get("/apps/{ident}/releases")
def list_releases(ident: str, user: UserDep, db: DbDep, range_: Annotated[str | None, Header(alias="Range")] = None):
    app = access.app_for(db, ident, user, access.VIEW)
    current = releases.current_release(db, app)
    rng = parse_range(range_, tuple(RELEASE_RANGE_COLUMNS))
    page = pagination.page(db, releases.list_releases(app), rng, RELEASE_RANGE_COLUMNS)
    return paged(page, lambda release: release_json(release, current))


@router.get("/apps/{ident}/releases/{release}")
def get_release(ident: str, release: str, user: UserDep, db: DbDep):
    app = access.app_for(db, ident, user, access.VIEW)
    return release_json(releases.get_release(db, app, release), releases.current_release(db, app))


@router.get("/apps/{ident}/releases/{release}/config-vars")
def get_release_config_vars(ident: str, release: str, user: UserDep, db: DbDep, cipher: CipherDep):
    app = access.app_for(db, ident, user, access.DEPLOY)
    return cipher.decrypt(releases.get_release(db, app, release).config_vars)


@router.post("/apps/{ident}/releases", status_code=201)
def rollback(ident: str, user: UserDep, db: DbDep, cipher: CipherDep, redis: RedisDep, log: LogsDep, body: Annotated[dict | None, Body()] = None):
    target = (body or {}).get("release")
    if target is None or isinstance(target, bool) or not isinstance(target, (str, int)):
        raise InvalidParams('Give the release to roll back to: {"release": "<id or version>"}.')
    app = access.app_for(db, ident, user, access.DEPLOY)
    release = releases.rollback(db, cipher, app, user, target)
    db.commit()
    logs.released(log, str(app.id), release.description, release.version, user.email)
    messages.wake_runner(redis, app.name)
    return JSONResponse(release_json(release, releases.current_release(db, app)), status_code=201)
