"""Builds (Heroku's Build resource): list, inspect, follow the output of, and start from a source
tarball (what `heroku builds:create` does), beside the builds that `git push` starts."""

import uuid
from datetime import datetime
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Body, Header, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse

from paas.channels.output import LogStream
from paas.domain import access, apps, builds, pagination
from paas.domain.errors import InvalidParams, NotFound
from paas.domain.models import Build, Status, User
from paas.domain.ranges import parse_range
from paas.platform import grants
from paas.platform.api import check_output_url, no_longer_allowed, output_url, paged, streamed_output
from paas.platform.deps import DbDep, PlatformDep, UserDep
from paas.shapes import build_json

router = APIRouter()

BUILD_RANGE_COLUMNS = {"created_at": (Build.created_at, datetime.fromisoformat), "id": (Build.id, uuid.UUID)}


def output_path(build: Build) -> str:
    return f"/apps/{build.app_id}/builds/{build.id}/output"


def describe(platform, build: Build, user: User) -> dict:
    return build_json(build, platform.settings, output_url(platform, output_path(build), user))


@router.get("/apps/{ident}/builds")
def list_builds(ident: str, user: UserDep, db: DbDep, platform: PlatformDep,
                range_: Annotated[str | None, Header(alias="Range")] = None):
    app = access.app_for(db, ident, user, access.VIEW)
    rng = parse_range(range_, tuple(BUILD_RANGE_COLUMNS))
    page = pagination.page(db, builds.list_builds(app), rng, BUILD_RANGE_COLUMNS)
    return paged(page, lambda build: describe(platform, build, user))


@router.get("/apps/{ident}/builds/{build_id}")
def get_build(ident: str, build_id: str, user: UserDep, db: DbDep, platform: PlatformDep):
    return describe(platform, app_build(db, access.app_for(db, ident, user, access.VIEW), build_id), user)


@router.post("/apps/{ident}/builds", status_code=201)
def create_build(ident: str, user: UserDep, db: DbDep, platform: PlatformDep, body: Annotated[dict | None, Body()] = None):
    app = access.app_for(db, ident, user, access.DEPLOY)
    body = body or {}
    source = body.get("source_blob")
    if not isinstance(source, dict) or not isinstance(source.get("url"), str):
        raise InvalidParams('Give the source as {"source_blob": {"url": "<tarball URL>", "version": "..."}}.')
    url = source["url"]
    if urlsplit(url).scheme not in ("http", "https") or len(url) > 2000:
        raise InvalidParams("source_blob.url must be an http(s) URL of a .tar.gz.")
    version = source.get("version") or source.get("checksum") or "tarball"
    if not isinstance(version, str):
        raise InvalidParams("source_blob.version must be a string.")
    wanted = body.get("buildpacks") or []
    if not isinstance(wanted, list) or not all(isinstance(b, dict) and isinstance(b.get("url") or b.get("name"), str) for b in wanted):
        raise InvalidParams('Give buildpacks as [{"url": "<name or URL>"}, ...].')
    build = platform.deploys.start(
        db, app, user, source_version=version[:40], source_url=url, buildpacks=[b.get("url") or b.get("name") for b in wanted],
    )
    return JSONResponse(describe(platform, build, user), status_code=201)


@router.get("/apps/{app_id}/builds/{build_id}/output")
async def build_output(app_id: str, build_id: str, platform: PlatformDep, signature: Annotated[str | None, Query()] = None,
                       expires: Annotated[str | None, Query()] = None, user: Annotated[str | None, Query()] = None):
    """The build's output as plain text: live while it runs, whole once it has finished. Its
    URL (`output_url`) is signed for a user, who must still be allowed to view the app."""
    check_output_url(platform, f"/apps/{app_id}/builds/{build_id}/output", signature, expires, user, "build")

    def find() -> Build:
        with platform.sessionmaker() as db:  # only while it looks: a stream holds no connection
            if not grants.user_may(db, user, app_id):
                raise no_longer_allowed("build")
            return app_build(db, apps.get_app(db, app_id), build_id)

    build = await run_in_threadpool(find)
    if build.status is not Status.pending and build.output is not None:
        return PlainTextResponse(build.output)
    key = LogStream.for_build(platform.redis, build.id).key
    return streamed_output(platform, key, platform.settings.build_idle_timeout, "build", user, app_id)


def app_build(db, app, build_id: str) -> Build:
    try:
        build = builds.get_build(db, uuid.UUID(build_id))
    except ValueError:
        raise NotFound(f"Couldn't find that build: {build_id}") from None
    if build.app_id != app.id:
        raise NotFound(f"Couldn't find that build: {build_id}")
    return build
