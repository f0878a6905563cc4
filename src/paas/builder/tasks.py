"""Celery tasks: run as `celery -A paas.builder.tasks worker`. Tasks take ids, never objects."""

import logging
import shutil
import socket
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import docker
import redis
from sqlalchemy.orm import Session, sessionmaker

from paas.builder import source
from paas.builder.dockerfile import build_from_dockerfile
from paas.builder.errors import BuildFailed
from paas.builder.files import is_file_beneath, read_beneath
from paas.builder.job import Job
from paas.builder.sandbox import Sandboxes
from paas.builder.setup import prepare_setup
from paas.builder.slug import LocalSlugStore, SlugStore
from paas.builder.slug_build import build_slug_image
from paas.celery_app import BUILD_TASK, SETUP_TASK, make_celery
from paas.channels import connect
from paas.channels.builds import Heartbeat
from paas.channels.output import LogStream
from paas.domain import builds, config, events, manifest, review_apps, scheduled_jobs
from paas.domain.manifest import Manifest, ManifestErrors
from paas.domain.crypto import ConfigCipher, load_key, load_keys
from paas.domain.db import make_sessionmaker
from paas.domain.errors import Conflict
from paas.domain.models import Build, Status
from paas.memory import release_free_memory
from paas.repos import repository_path
from paas.settings import Settings, get_settings
from paas.signing import Signer
from paas.source_files import uploaded_file

log = logging.getLogger(__name__)

celery = make_celery(get_settings())  # Celery's worker finds its app as a module attribute


@dataclass
class Worker:
    settings: Settings
    sessionmaker: sessionmaker[Session]
    redis: redis.Redis
    docker: docker.DockerClient
    cipher: ConfigCipher
    signer: Signer  # to know the platform's own source URLs
    slugs: SlugStore
    sandboxes: Sandboxes
    name: str = field(default_factory=lambda: f"{socket.gethostname()}:{threading.get_native_id()}")


_worker_lock = threading.Lock()


@cache
def _make_worker() -> Worker:
    settings = get_settings()
    client = docker.DockerClient(base_url=settings.docker_url, timeout=600)
    return Worker(
        settings=settings,
        sessionmaker=make_sessionmaker(settings),
        redis=connect(settings),
        docker=client,
        cipher=ConfigCipher(load_keys(settings)),
        signer=Signer(load_key(settings)),
        slugs=LocalSlugStore(settings.slugs_dir),
        sandboxes=Sandboxes(settings, client),
    )


def worker() -> Worker:
    """Made once per worker process, on first use (not at import); the builds of the worker's
    thread pool share it."""
    with _worker_lock:
        return _make_worker()


@celery.task(name=BUILD_TASK)
def build(build_id: str) -> None:
    try:
        run_build(worker(), uuid.UUID(build_id))
    finally:
        release_free_memory()  # a build's buffers (sources, slugs, output) go back to the system


@celery.task(name=SETUP_TASK)
def setup(setup_id: str) -> None:
    prepare_setup(worker(), uuid.UUID(setup_id), fetch_tarball, lambda build_id: celery.send_task(BUILD_TASK, args=[str(build_id)]))


class Output:
    """The build's output: live to its Redis stream, and kept to be stored with the build."""

    def __init__(self, stream: LogStream):
        self.stream, self.lines = stream, []

    def write(self, line: str) -> None:
        self.lines.append(line)
        self.stream.write(line)


def run_build(w: Worker, build_id: uuid.UUID) -> None:
    out = Output(LogStream.for_build(w.redis, build_id))
    heartbeat = Heartbeat(w.redis, build_id, w.settings.build_worker_lost_after)
    heartbeat.beat()  # before the build is marked started: a follower never sees it started and silent
    with w.sessionmaker() as db:
        build = builds.start_build(db, build_id, w.name)
        db.commit()
        if build is None:
            heartbeat.stop()
            log.info("build %s is not to run (given up on, or its first worker was lost)", build_id)
            return
        environment = "review" if review_apps.of_app(db, build.app) else None  # app.json's keys for review apps
        job = Job(
            build_id=build_id, app=build.app.name, version=build.source_version, source_url=build.source_url,
            env=config.config_vars(w.cipher, build.app), stack=build.app.build_stack,
            buildpacks=list(build.buildpacks or build.app.buildpacks),
            cache_generation=build.app.build_cache_generation, app_id=str(build.app.id),
        )
    alive = threading.Event()
    threading.Thread(target=_beat, args=(heartbeat, alive), daemon=True).start()
    started = time.monotonic()
    what = f"commit {job.version[:7]}" if job.source_url is None else f"source version {job.version}"
    out.write(f"-----> Building {job.app} from {what}")
    workdir = Path(tempfile.mkdtemp(prefix=f"paas-build-{build_id.hex}-"))
    try:
        source_dir = workdir / f"build_{build_id.hex}"
        source_dir.mkdir()
        limits = source.Limits(w.settings.source_unpacked_limit, w.settings.source_files_limit)
        if job.source_url is None:
            job.tree = source.from_commit(repository_path(w.settings, job.app), job.version, source_dir, limits)
        else:
            fetch_tarball(w, job.source_url, source_dir)
        declared = read_manifest(source_dir, environment, w.settings, out.write)
        if is_file_beneath(source_dir, "Dockerfile"):
            result = build_from_dockerfile(w.settings, w.docker, w.sandboxes, job, source_dir, out.write)
        else:
            result = build_slug_image(w.settings, w.docker, w.slugs, job, source_dir, workdir, out.write, w.sandboxes.network())
        out.write(f"-----> Process types: {', '.join(sorted(result.process_types)) or '(none: add a Procfile)'}")
        with w.sessionmaker() as db:
            build = builds.get_build(db, build_id)
            events.act_as(db, build.user)
            release = builds.release_build(
                db, build, result.image, result.process_types,
                stack=result.stack, buildpacks=result.buildpacks, slug_key=result.slug_key, slug_size=result.slug_size,
            )
            version, release_id = release.version, release.id
            scheduled_jobs.declare(db, build.app, declared.cron if declared else (), w.settings.dyno_sizes)
            out.write(f"-----> Build finished in {time.monotonic() - started:.1f} s; released v{version}")
            builds.finish_build(db, build, Status.succeeded, out.lines)
            db.commit()
    except (BuildFailed, Conflict) as failure:
        finish_failed(w, build_id, out, f"error: {failure}", "build failed")
        heartbeat.stop()
        return
    except Exception as error:  # the platform's fault, not the app's: say so and keep the detail in the log
        log.exception("build %s crashed", build_id)
        finish_failed(w, build_id, out, f"error: the build crashed inside paas: {error}", "build failed (paas error)")
        heartbeat.stop()
        return
    finally:
        alive.set()
        shutil.rmtree(workdir, ignore_errors=True)
    # Released: from here on nothing may report this build as failed. The heartbeat goes last, so
    # a follower never sees the worker gone before it sees the outcome.
    try:
        out.stream.end(True, release_id=str(release_id), version=version)
    finally:
        heartbeat.stop()


def fetch_tarball(w: Worker, url: str, directory: Path) -> None:
    """A source tarball's files into `directory`: one of the platform's own uploads, or fetched
    under the outbound rule; within the source limits either way."""
    limits = source.Limits(w.settings.source_unpacked_limit, w.settings.source_files_limit)
    if uploaded := own_source(w, url):
        source.from_tarball(uploaded, directory, limits, "the uploaded source")
    else:
        source.from_url(w.settings, url, directory, w.settings.source_size_limit, limits)


def read_manifest(directory: Path, environment: str | None, settings: Settings, emit) -> Manifest | None:
    """The source's app.json (None without one); BuildFailed listing every problem it has."""
    text = read_beneath(directory, "app.json", manifest.MAX_BYTES)
    if text is None:
        return None
    try:
        parsed = manifest.parse(text, environment, settings.dyno_sizes)
    except ManifestErrors as refused:
        emit(f"-----> app.json has {len(refused.errors)} problem{'s' if len(refused.errors) > 1 else ''}:")
        for error in refused.errors:
            emit(f"       {error}")
        raise BuildFailed("app.json has problems (listed above): nothing was deployed") from None
    return parsed


def own_source(w: Worker, url: str) -> Path | None:
    """The file of one of the platform's own source URLs (None: not one of them)."""
    try:
        return uploaded_file(w.settings, w.signer, url)
    except FileNotFoundError as error:
        raise BuildFailed(f"the uploaded source is gone: {error} (upload it again to a new source)") from None


def _beat(heartbeat: Heartbeat, done: threading.Event) -> None:
    while not done.wait(heartbeat.ttl / 4):
        try:
            heartbeat.beat()
        except redis.RedisError:
            log.warning("could not renew the heartbeat of %s", heartbeat.key)



def finish_failed(w: Worker, build_id: uuid.UUID, out: Output, line: str, reason: str) -> None:
    out.write(line)
    out.write("-----> Build failed: the app keeps running its current release.")
    with w.sessionmaker() as db:
        build = db.get(Build, build_id, with_for_update=True, populate_existing=True)
        if build is not None and build.status is Status.pending:
            builds.finish_build(db, build, Status.failed, out.lines)
            db.commit()
    out.stream.end(False, reason=reason)
