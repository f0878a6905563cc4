"""Celery tasks: run as `celery -A paas.builder.tasks worker`. Tasks take ids, never objects."""

import logging
import time
import uuid
from dataclasses import dataclass
from functools import cache

import docker
import redis
from sqlalchemy.orm import Session, sessionmaker

from paas import messages
from paas.builder.celery_app import make_celery
from paas.builder.dockerfile import BuildFailed, build_image, commit_tree, has_dockerfile, push_image, source_tarball
from paas.platform import services
from paas.platform.db import make_sessionmaker
from paas.platform.errors import Conflict
from paas.platform.models import Status
from paas.platform.repos import open_or_init
from paas.settings import Settings, get_settings

log = logging.getLogger(__name__)

celery = make_celery(get_settings())  # Celery's worker finds its app as a module attribute


@dataclass
class Worker:
    settings: Settings
    sessionmaker: sessionmaker[Session]
    redis: redis.Redis
    docker: docker.DockerClient


@cache
def worker() -> Worker:
    """Made once per worker process, on first use (not at import)."""
    settings = get_settings()
    return Worker(
        settings=settings,
        sessionmaker=make_sessionmaker(settings),
        redis=messages.connect(settings),
        docker=docker.DockerClient(base_url=settings.docker_url, timeout=600),
    )


@celery.task(name="paas.builder.build")
def build(build_id: str) -> None:
    run_build(worker(), uuid.UUID(build_id))


def run_build(w: Worker, build_id: uuid.UUID) -> None:
    out = messages.LogStream.for_build(w.redis, build_id)
    with w.sessionmaker() as db:
        build = services.get_build(db, build_id)
        app_name, commit, status = build.app.name, build.commit, build.status
    if status is not Status.pending:
        log.info("build %s is %s already (its push gave up on it); not building", build_id, status.value)
        return
    started = time.monotonic()
    out.write(f"-----> Building {app_name} from commit {commit[:7]}")
    try:
        image = build_and_push(w, app_name, commit, str(build_id), out.write)
        with w.sessionmaker() as db:
            release = services.release_build(db, services.get_build(db, build_id), image, {"web": ""})
            db.commit()
            version, release_id = release.version, release.id
    except (BuildFailed, Conflict) as failure:
        finish_failed(w, build_id, out, f"error: {failure}", "build failed")
        return
    except Exception as error:  # the platform's fault, not the app's: say so and keep the detail in the log
        log.exception("build %s crashed", build_id)
        finish_failed(w, build_id, out, f"error: the build crashed inside paas: {error}", "build failed (paas error)")
        return
    messages.wake_runner(w.redis, app_name)
    out.write(f"-----> Build finished in {time.monotonic() - started:.1f} s; released v{version}")
    out.end(True, release_id=str(release_id), version=version)


def build_and_push(w: Worker, app_name: str, commit: str, tag: str, emit) -> str:
    repo = open_or_init(w.settings, app_name)
    tree = commit_tree(repo, commit)
    if not has_dockerfile(tree):
        raise BuildFailed(
            "no Dockerfile at the root of this commit. paas builds apps from a Dockerfile "
            f"(start it with `FROM {w.settings.stack_image}`)."
        )
    emit("-----> Building image from Dockerfile")
    repository = f"{w.settings.registry}/{app_name}"
    build_image(w.docker, source_tarball(repo, tree), f"{repository}:{tag}", emit)
    emit("-----> Pushing image to the registry")
    digest = push_image(w.docker, repository, tag)
    emit(f"       {repository}@{digest}")
    return f"{repository}@{digest}"


def finish_failed(w: Worker, build_id: uuid.UUID, out: messages.LogStream, line: str, reason: str) -> None:
    with w.sessionmaker() as db:
        services.fail_build(db, services.get_build(db, build_id))
        db.commit()
    out.write(line)
    out.write("-----> Build failed: the app keeps running its current release.")
    out.end(False, reason=reason)
