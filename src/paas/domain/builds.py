"""Builds: a pushed commit or source tarball on its way to a release. Every change of a build's
state is here: created (pending, queued), started by a worker, then exactly one of released
(succeeded), failed by its worker, given up on (its worker lost: paas.runner.lost_builds is the one
sweeper that finds those; or no worker left; or the push stopped waiting: `abandon`).

These functions touch only the database, and record their changes as events; callers commit.
"""

import uuid
from datetime import timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from paas.domain import apps, events, formation, releases
from paas.domain import buildpacks as buildpacks_catalogue
from paas.domain.errors import Conflict, NotFound
from paas.domain.models import App, Build, Release, Status, User


def create_build(
    db: Session, app: App, user: User, source_version: str, source_url: str | None = None, buildpacks: list[str] | None = None,
) -> Build:
    """`buildpacks` overrides the app's buildpack installations for this build only."""
    build = Build(
        app_id=app.id, user_id=user.id, source_version=source_version, source_url=source_url, status=Status.pending,
        created_at=func.clock_timestamp(),  # the queue's order, even for builds made in one transaction
        buildpacks=[buildpacks_catalogue.canonical(b) for b in buildpacks or []],
    )
    db.add(build)
    events.recorded(db, app, "build", "create", build)
    return build


def list_builds(app: App) -> Select:
    return select(Build).where(Build.app_id == app.id)


def queue_position(db: Session, build: Build) -> int:
    """How many builds no worker has taken yet were queued before this one."""
    return db.scalar(
        select(func.count()).select_from(Build).where(
            Build.status == Status.pending, Build.started_at.is_(None), Build.created_at < build.created_at
        )
    )


def start_build(db: Session, build_id: uuid.UUID, worker: str) -> Build | None:
    """A worker takes the build; None when it must not run (failed or given up on meanwhile, or
    taken before by a worker that was lost: Celery hands a lost worker's task to the next one)."""
    build = db.get(Build, build_id, with_for_update=True, populate_existing=True)
    if build is None or build.status is not Status.pending:
        return None
    if build.started_at is not None:
        finish_build(db, build, Status.failed, extra_output=LOST_WORKER)
        return None
    build.started_at, build.worker = func.now(), worker
    db.flush()
    return build


def get_build(db: Session, build_id: uuid.UUID) -> Build:
    build = db.get(Build, build_id)
    if build is None:
        raise NotFound(f"Couldn't find that build: {build_id}")
    return build


LOST_WORKER = "error: the build worker was lost (it stopped or crashed); push again to build"
NO_WORKER = "error: no paas build worker is running any more (start it with `make up`); push again to build"


def finish_build(db: Session, build: Build, status: Status, output: list[str] | None = None, extra_output: str | None = None) -> None:
    """Settle a build and keep its output (the live copy in Redis expires)."""
    with events.updating(db, build.app, "build", build):
        build.status, build.finished_at = status, func.now()
        if output is not None:
            build.output = "\n".join(output) + "\n"
        if extra_output:
            build.output = (build.output or "") + extra_output + "\n"


def started_builds(db: Session) -> list[uuid.UUID]:
    """Builds a worker took and has not finished: each is alive only while its heartbeat is."""
    return list(db.scalars(select(Build.id).where(Build.status == Status.pending, Build.started_at.is_not(None))))


def queued_builds(db: Session, for_seconds: float) -> list[uuid.UUID]:
    """Builds no worker has taken for that long."""
    return list(db.scalars(select(Build.id).where(Build.status == Status.pending, Build.started_at.is_(None),
                                                  Build.created_at < func.now() - timedelta(seconds=for_seconds))))


def abandon(db: Session, build_id: uuid.UUID, release_id: uuid.UUID | None = None) -> Status:
    """The push stopped waiting: neither the build nor its release may go live from now on.
    Returns the release's final status (succeeded when it went live before it could be stopped)."""
    if give_up_on_build(db, build_id, "error: the push stopped waiting for this build"):
        return Status.failed
    if release_id is None:
        build = get_build(db, build_id)
        if build.release_id is None:
            return build.status
        release_id = build.release_id
    return releases.give_up_on_release(db, release_id)


def give_up_on_build(db: Session, build_id: uuid.UUID, reason: str, only_queued: bool = False) -> bool:
    """Nobody may deploy this build any more (its push gave up, or its worker was lost).
    False when it had already finished (or, `only_queued`, a worker took it): then it stands."""
    build = db.get(Build, build_id, with_for_update=True, populate_existing=True)
    if build is None or build.status is not Status.pending or (only_queued and build.started_at is not None):
        return False
    finish_build(db, build, Status.failed, extra_output=reason)
    db.commit()
    return True


def release_build(
    db: Session, build: Build, image: str, process_types: dict[str, str], *,
    stack: str | None = None, buildpacks: list[str] | None = None, slug_key: str | None = None, slug_size: int | None = None,
) -> Release:
    """A successful build becomes a release that carries the app's current config."""
    app = apps.get_app(db, str(build.app_id), lock=True)
    db.refresh(build, with_for_update=True)
    if build.status is not Status.pending:
        raise Conflict("the push gave up waiting for this build; push again to deploy it")
    release = releases.add_release(
        db,
        app,
        build.user,
        description=f"Deploy {build.source_version[:7]}",
        config=app.config_vars,
        image=image,
        commit=build.source_version,
        process_types=process_types,
        build_id=build.id,
        stack=stack,
        slug_size=slug_size,
    )
    with events.updating(db, app, "build", build):
        build.status, build.image, build.release_id = Status.succeeded, image, release.id
        build.stack, build.buildpacks, build.slug_key, build.slug_size = stack, buildpacks or [], slug_key, slug_size
        build.finished_at = func.now()
    for process_type in process_types:
        if process_type != formation.RELEASE_TYPE:
            formation.ensure_formation(db, app, process_type, quantity=1 if process_type == "web" else 0)
    db.flush()
    return release
