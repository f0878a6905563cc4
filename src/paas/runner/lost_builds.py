"""The one sweeper of lost builds: a started build whose worker stopped beating (it died: out of
memory, killed, its host gone), and builds waiting in the queue when no worker is left, are
failed here, and their output ends with why, so whoever follows them (a push, `paas builds`) is
told at once; nothing else decides that a build is lost."""

import logging
import threading
import time
import uuid
from collections.abc import Callable

import redis
from sqlalchemy.orm import Session, sessionmaker

from paas.celery_app import make_celery, worker_answers
from paas.channels.builds import Heartbeat
from paas.channels.output import LogStream
from paas.domain import builds
from paas.settings import Settings

log = logging.getLogger("paas.runner.lost_builds")
LOOK = 1.0  # seconds between looks: a push learns its worker was lost this long after the heartbeat expired
QUEUED_WORKER_CHECK = 30.0  # seconds a build waits in the queue before the sweeper asks whether any worker answers
WHY = {builds.LOST_WORKER: "build worker lost", builds.NO_WORKER: "no build worker"}


def fail_lost_builds(sessions: sessionmaker[Session], redis_client: redis.Redis, lost_after: float,
                     worker_available: Callable[[], bool]) -> list[uuid.UUID]:
    """Fail what is lost now; the ids of the builds failed."""
    with sessions() as db:
        started, waiting = builds.started_builds(db), builds.queued_builds(db, QUEUED_WORKER_CHECK)
    lost = {b: builds.LOST_WORKER for b in started if not Heartbeat(redis_client, b, lost_after).alive()}
    if waiting and not worker_available():
        lost |= {b: builds.NO_WORKER for b in waiting}
    failed = []
    for build_id, reason in lost.items():
        with sessions() as db:
            # Finished meanwhile, or (a queued one) taken by a worker while the ping went: it stands.
            if not builds.give_up_on_build(db, build_id, reason, only_queued=reason == builds.NO_WORKER):
                continue
        stream = LogStream.for_build(redis_client, build_id)
        stream.write(reason)
        stream.end(False, reason=WHY[reason])
        log.info("build %s: %s", build_id, WHY[reason])
        failed.append(build_id)
    return failed


class LostBuilds:
    """The sweeper's thread in the runner."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session], redis_client: redis.Redis):
        self.settings, self.sessions, self.redis = settings, sessions, redis_client
        self.celery = make_celery(settings)
        self.next_ping, self.answered = 0.0, True

    def worker_available(self) -> bool:
        """Whether a build worker answers. An answer holds for QUEUED_WORKER_CHECK; silence is
        asked about again at each look (a worker may be back a second later)."""
        if not self.answered or time.monotonic() >= self.next_ping:
            self.answered = worker_answers(self.celery)
            self.next_ping = time.monotonic() + QUEUED_WORKER_CHECK
        return self.answered

    def start(self) -> "LostBuilds":
        threading.Thread(target=self.run, daemon=True, name="lost-builds").start()
        return self

    def run(self) -> None:
        while True:
            try:
                fail_lost_builds(self.sessions, self.redis, self.settings.build_worker_lost_after, self.worker_available)
            except Exception:
                log.exception("sweeping lost builds failed; again in %.0f s", LOOK)
            time.sleep(LOOK)
