"""Deploying: start a build and follow it to a live release.

One service for every way code arrives: `git push` starts a build and follows it, relaying its
output as `remote:` lines; `POST /apps/{app}/builds` (a source tarball) starts one and returns.
Either way the worker builds, releases, and wakes the runner; the runner rolls the release out.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from paas import messages
from paas.domain import builds, releases
from paas.domain.models import App, Build, Status, User

BUILD_TASK = "paas.builder.build"

Say = Callable[[str], None]


@dataclass
class Outcome:
    ok: bool
    reason: str = ""


class Deploys:
    def __init__(self, platform):
        self.platform = platform
        self.settings = platform.settings

    def worker_available(self) -> bool:
        return bool(self.platform.celery.control.ping(timeout=2, limit=1))

    def start(
        self, db, app: App, user: User, *, version: str, source_url: str | None = None, buildpacks: list[str] | None = None,
    ) -> Build:
        """Record the build and queue it. Commits: the task is sent only after the row exists."""
        build = builds.create_build(db, app, user, version, source_url=source_url, buildpacks=buildpacks)
        db.commit()
        self.platform.celery.send_task(BUILD_TASK, args=[str(build.id)])
        return build

    def follow(self, build_id: uuid.UUID, say: Say) -> Outcome:
        """Relay the build and then the release's start-up until the release is live or failed.

        Whatever goes wrong while following (a timeout, a lost worker, Redis trouble), the build
        or release is given up on before answering, so a push reported as rejected never goes
        live later; and if it went live meanwhile, the answer says so.
        """
        release_id = None
        try:
            outcome = self._follow_build(build_id, say)
            if not outcome.ok:
                return Outcome(False, outcome.detail.get("reason", "build failed"))
            release_id, version = uuid.UUID(outcome.detail["release_id"]), outcome.detail["version"]
            try:
                outcome = self._relay(messages.LogStream.for_release(self.platform.redis, release_id), say,
                                      self.settings.boot_timeout + 60)
            except TimeoutError as timeout:
                if self._give_up(build_id, release_id) is Status.succeeded:
                    return Outcome(True)
                say(f"error: v{version} was built but its start went silent ({timeout}); is the paas runner running?")
                return Outcome(False, f"v{version} did not start")
            if not outcome.ok:
                return Outcome(False, outcome.detail.get("reason", f"v{version} did not start"))
            return Outcome(True)
        except Exception:
            if self._give_up(build_id, release_id) is Status.succeeded:
                return Outcome(True)
            raise

    def _follow_build(self, build_id: uuid.UUID, say: Say) -> messages.End:
        """The build's output; while it waits for a worker, its place in the queue; a worker
        that goes silent fails the build within `build_worker_lost_after` seconds."""
        stream = messages.LogStream.for_build(self.platform.redis, build_id)
        heartbeat = messages.Heartbeat(self.platform.redis, build_id, self.settings.build_worker_lost_after)
        last_place, started, silent = None, False, 0.0
        tick = 1.0
        for item in stream.entries(tick=tick):
            if isinstance(item, messages.End):
                return item
            if isinstance(item, str):
                say(item)
                started, silent = True, 0.0
                continue
            silent += tick
            with self.platform.sessionmaker() as db:
                build = builds.get_build(db, build_id)
                if build.status is not Status.pending:
                    continue  # finished: its End is on the way
                if build.started_at is None:
                    place = builds.queue_position(db, build)
                    if place != last_place:
                        ahead = f"{place} build{'s' if place != 1 else ''} ahead" if place else "next in line"
                        say(f"-----> Waiting for a build worker ({ahead})")
                        last_place = place
                    silent = 0.0
                    continue
            if not heartbeat.alive():
                self._lost(build_id)
                say(builds.LOST_WORKER)
                return messages.End(False, {"reason": "build worker lost"})
            if started and silent >= self.settings.build_idle_timeout:
                self._give_up(build_id, None)
                say(f"error: the build printed nothing for {self.settings.build_idle_timeout:.0f} s; giving up on it")
                return messages.End(False, {"reason": "build timed out"})
        raise RuntimeError("the build's output ended without an outcome")

    def _relay(self, stream: messages.LogStream, say: Say, idle_timeout: float) -> messages.End:
        for item in stream.follow(idle_timeout):
            if isinstance(item, messages.End):
                return item
            say(item)
        raise RuntimeError("the output ended without an outcome")

    def _lost(self, build_id: uuid.UUID) -> None:
        with self.platform.sessionmaker() as db:
            builds.give_up_on_build(db, build_id, builds.LOST_WORKER)

    def _give_up(self, build_id: uuid.UUID, release_id: uuid.UUID | None) -> Status:
        """Make sure neither the build nor its release goes live from now on; returns the
        release's final status (succeeded when it went live before we could stop it)."""
        with self.platform.sessionmaker() as db:
            if builds.give_up_on_build(db, build_id, "error: the push stopped waiting for this build"):
                return Status.failed
            if release_id is None:
                build = builds.get_build(db, build_id)
                if build.release_id is None:
                    return build.status
                release_id = build.release_id
            return releases.give_up_on_release(db, release_id)
