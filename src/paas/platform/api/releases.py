import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Header, Query
from fastapi.responses import JSONResponse, PlainTextResponse

from paas import logs, messages
from paas.domain import access, apps, pagination, releases
from paas.domain.errors import InvalidParams, NotFound
from paas.domain.models import Release, Status
from paas.domain.ranges import parse_range
from paas.platform.api import paged, streamed_output
from paas.platform.deps import CipherDep, DbDep, LogsDep, PlatformDep, UserDep
from paas.platform.serializers import release_json

router = APIRouter()

RELEASE_RANGE_COLUMNS = {"version": (Release.version, int), "id": (Release.id, uuid.UUID)}


def output_path(release: Release) -> str:
    return f"/apps/{release.app_id}/releases/{release.id}/output"


def describe(platform, release: Release, current: Release | None) -> dict:
    """Releases that deploy code have an output: their release phase and their processes' start."""
    url = platform.signer.signed(platform.settings.api_url, output_path(release)) if release.image else None
    return release_json(release, current, url)


@router.get("/apps/{ident}/releases")
def list_releases(ident: str, user: UserDep, db: DbDep, platform: PlatformDep,
                  range_: Annotated[str | None, Header(alias="Range")] = None):
    app = access.app_for(db, ident, user, access.VIEW)
    current = releases.current_release(db, app)
    rng = parse_range(range_, tuple(RELEASE_RANGE_COLUMNS))
    page = pagination.page(db, releases.list_releases(app), rng, RELEASE_RANGE_COLUMNS)
    return paged(page, lambda release: describe(platform, release, current))


@router.get("/apps/{ident}/releases/{release}")
def get_release(ident: str, release: str, user: UserDep, db: DbDep, platform: PlatformDep):
    app = access.app_for(db, ident, user, access.VIEW)
    return describe(platform, releases.get_release(db, app, release), releases.current_release(db, app))


@router.get("/apps/{app_id}/releases/{release_id}/output")
def release_output(app_id: str, release_id: str, db: DbDep, platform: PlatformDep, signature: Annotated[str | None, Query()] = None):
    """What the release's deploy printed (its release phase, its processes' start), as plain
    text: live while it deploys. Signed rather than authenticated, like its build's output."""
    if not platform.signer.valid("GET", f"/apps/{app_id}/releases/{release_id}/output", signature):
        raise NotFound("Couldn't find that release's output (the URL is not signed).")
    release = releases.get_release(db, apps.get_app(db, app_id), release_id)
    stream = messages.LogStream.for_release(platform.redis, release.id)
    if release.status is not Status.pending and not stream.exists():
        return PlainTextResponse("(this release's output is no longer kept)\n" if release.image else "")
    return streamed_output(stream, platform.settings.boot_timeout + 60, "release")


@router.get("/apps/{ident}/releases/{release}/config-vars")
def get_release_config_vars(ident: str, release: str, user: UserDep, db: DbDep, cipher: CipherDep):
    app = access.app_for(db, ident, user, access.DEPLOY)
    return cipher.decrypt(releases.get_release(db, app, release).config_vars)


@router.post("/apps/{ident}/releases", status_code=201)
def rollback(ident: str, user: UserDep, db: DbDep, cipher: CipherDep, platform: PlatformDep, log: LogsDep,
             body: Annotated[dict | None, Body()] = None):
    target = (body or {}).get("release")
    if target is None or isinstance(target, bool) or not isinstance(target, (str, int)):
        raise InvalidParams('Give the release to roll back to: {"release": "<id or version>"}.')
    app = access.app_for(db, ident, user, access.DEPLOY)
    release = releases.rollback(db, cipher, app, user, target)
    db.commit()
    logs.released(log, str(app.id), release.description, release.version, user.email)
    messages.wake_runner(platform.redis, app.name)
    return JSONResponse(describe(platform, release, releases.current_release(db, app)), status_code=201)
