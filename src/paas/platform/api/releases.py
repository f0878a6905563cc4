import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Header, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse

from paas.channels.output import LogStream
from paas.domain import access, apps, pagination, releases
from paas.domain.errors import InvalidParams
from paas.domain.models import Release, Status, User
from paas.domain.ranges import parse_range
from paas.platform import grants
from paas.platform.api import check_output_url, no_longer_allowed, output_url, paged, streamed_output
from paas.platform.deps import CipherDep, DbDep, PlatformDep, UserDep
from paas.shapes import release_json

router = APIRouter()

RELEASE_RANGE_COLUMNS = {"version": (Release.version, int), "id": (Release.id, uuid.UUID)}


def output_path(release: Release) -> str:
    return f"/apps/{release.app_id}/releases/{release.id}/output"


def describe(platform, release: Release, current: Release | None, user: User) -> dict:
    """Releases that deploy code have an output: their release phase and their processes' start."""
    url = output_url(platform, output_path(release), user) if release.image else None
    return release_json(release, current, url)


@router.get("/apps/{ident}/releases")
def list_releases(ident: str, user: UserDep, db: DbDep, platform: PlatformDep,
                  range_: Annotated[str | None, Header(alias="Range")] = None):
    app = access.app_for(db, ident, user, access.VIEW)
    current = releases.current_release(db, app)
    rng = parse_range(range_, tuple(RELEASE_RANGE_COLUMNS))
    page = pagination.page(db, releases.list_releases(app), rng, RELEASE_RANGE_COLUMNS)
    return paged(page, lambda release: describe(platform, release, current, user))


@router.get("/apps/{ident}/releases/{release}")
def get_release(ident: str, release: str, user: UserDep, db: DbDep, platform: PlatformDep):
    app = access.app_for(db, ident, user, access.VIEW)
    return describe(platform, releases.get_release(db, app, release), releases.current_release(db, app), user)


@router.get("/apps/{app_id}/releases/{release_id}/output")
async def release_output(app_id: str, release_id: str, platform: PlatformDep, signature: Annotated[str | None, Query()] = None,
                         expires: Annotated[str | None, Query()] = None, user: Annotated[str | None, Query()] = None):
    """What the release's deploy printed (its release phase, its processes' start), as plain
    text: live while it deploys. Its URL is signed for a user, like its build's output."""
    check_output_url(platform, f"/apps/{app_id}/releases/{release_id}/output", signature, expires, user, "release")

    def find() -> tuple[Release, LogStream, bool]:
        with platform.sessionmaker() as db:  # only while it looks: a stream holds no connection
            if not grants.user_may(db, user, app_id):
                raise no_longer_allowed("release")
            release = releases.get_release(db, apps.get_app(db, app_id), release_id)
        stream = LogStream.for_release(platform.redis, release.id)
        return release, stream, stream.exists()

    release, stream, kept = await run_in_threadpool(find)
    if release.status is not Status.pending and not kept:
        return PlainTextResponse("(this release's output is no longer kept)\n" if release.image else "")
    return streamed_output(platform, stream.key, platform.settings.boot_timeout + 60, "release", user, app_id)


@router.get("/apps/{ident}/releases/{release}/config-vars")
def get_release_config_vars(ident: str, release: str, user: UserDep, db: DbDep, cipher: CipherDep):
    app = access.app_for(db, ident, user, access.DEPLOY)
    return cipher.decrypt(releases.get_release(db, app, release).config_vars)


@router.post("/apps/{ident}/releases", status_code=201)
def rollback(ident: str, user: UserDep, db: DbDep, cipher: CipherDep, platform: PlatformDep,
             body: Annotated[dict | None, Body()] = None):
    target = (body or {}).get("release")
    if target is None or isinstance(target, bool) or not isinstance(target, (str, int)):
        raise InvalidParams('Give the release to roll back to: {"release": "<id or version>"}.')
    app = access.app_for(db, ident, user, access.DEPLOY)
    release = releases.rollback(db, cipher, app, user, target)
    db.commit()
    return JSONResponse(describe(platform, release, releases.current_release(db, app), user), status_code=201)
