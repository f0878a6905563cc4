"""Deploying: start a build and follow it to a live release.

One service for every way code arrives: `git push` starts a build and follows it, relaying its
output as `remote:` lines; `POST /apps/{app}/builds` (a source tarball) starts one and returns.
Either way the worker builds and releases (its event wakes the runner); the runner rolls the release out.
A follower only reads, except to abandon what it stops waiting for: a build whose worker is lost
is failed by the runner's one sweeper (paas.runner.lost_builds), which ends its output with why.
"""

import uuid
from dataclasses import dataclass

from paas.celery_app import BUILD_TASK, worker_answers
from paas.channels.builds import Heartbeat
from paas.channels.output import End, LogStream
from paas.domain import builds
from paas.domain.models import App, Build, Release, Status, User
from paas.lines import Emit

# Seconds a finished build may go without its End before the follower reads the outcome from
# the database instead (its worker died between settling the build and saying so).
SETTLED_WITHOUT_END = 5.0
# Seconds past `build_worker_lost_after` that a follower waits for the runner's sweeper to fail
# a build nobody works on, before it stops waiting itself (the runner is down too).
SWEEPER_GRACE = 60.0
UNNOTICED = " (and the paas runner did not notice: is it running?)"


@dataclass
class Outcome:
    ok: bool
    reason: str = ""


class Deploys:
    def __init__(self, platform):
        self.platform = platform
        self.settings = platform.settings

    def worker_available(self) -> bool:
        return worker_answers(self.platform.celery)

    def start(
        self, db, app: App, user: User, *, source_version: str, source_url: str | None = None, buildpacks: list[str] | None = None,
    ) -> Build:
        """Record the build and queue it. Commits: the task is sent only after the row exists."""
        build = builds.create_build(db, app, user, source_version, source_url=source_url, buildpacks=buildpacks)
        db.commit()
        try:
            self.platform.celery.send_task(BUILD_TASK, args=[str(build.id)])
        except Exception as error:  # the broker is away: a build nobody will take must not wait in the queue
            builds.give_up_on_build(db, build.id, f"error: paas could not queue this build: {error}")
            raise
        return build

    def follow(self, build_id: uuid.UUID, emit: Emit) -> Outcome:
        """Relay the build and then the release's start-up until the release is live or failed.

        Whatever goes wrong while following (a timeout, a lost worker, Redis trouble), the build
        or release is given up on before answering, so a push reported as rejected never goes
        live later; and if it went live meanwhile, the answer says so.
        """
        release_id = None
        try:
            outcome = self._follow_build(build_id, emit)
            if not outcome.ok:
                return Outcome(False, outcome.detail.get("reason", "build failed"))
            release_id, version = uuid.UUID(outcome.detail["release_id"]), outcome.detail["version"]
            try:
                outcome = self._relay(LogStream.for_release(self.platform.redis, release_id), emit,
                                      self.settings.boot_timeout + 60)
            except TimeoutError as timeout:
                if self._give_up(build_id, release_id) is Status.succeeded:
                    return Outcome(True)
                emit(f"error: v{version} was built but its start went silent ({timeout}); is the paas runner running?")
                return Outcome(False, f"v{version} did not start")
            if not outcome.ok:
                return Outcome(False, outcome.detail.get("reason", f"v{version} did not start"))
            return Outcome(True)
        except Exception:
            if self._give_up(build_id, release_id) is Status.succeeded:
                return Outcome(True)
            raise

    def _follow_build(self, build_id: uuid.UUID, emit: Emit) -> End:
        """The build's output, then its End; while it waits for a worker, its place in the queue."""
        stream = LogStream.for_build(self.platform.redis, build_id)
        last_place, started, silent, settled_for, queued_for = None, False, 0.0, 0.0, 0.0
        tick = 1.0
        stalled_after = self.settings.build_worker_lost_after + SWEEPER_GRACE
        for item in stream.entries(tick=tick):
            if isinstance(item, End):
                return item
            if isinstance(item, str):
                emit(item)
                started, silent = True, 0.0
                continue
            silent += tick
            state, detail = self._state(build_id)
            if state == "finished":
                # Its End is on the way, unless the worker died right after settling it: then
                # the row is the outcome.
                settled_for += tick
                if settled_for >= SETTLED_WITHOUT_END:
                    if detail.detail.get("why"):  # e.g. the runner's sweep found its worker lost
                        emit(detail.detail["why"])
                    return detail
                continue
            if state == "queued":
                if detail != last_place:
                    ahead = f"{detail} build{'s' if detail != 1 else ''} ahead" if detail else "next in line"
                    emit(f"-----> Waiting for a build worker ({ahead})")
                    last_place = detail
                silent, queued_for = 0.0, queued_for + tick
                if queued_for >= stalled_after and not self.worker_available():
                    return self._stop_waiting(build_id, emit, f"{builds.NO_WORKER}{UNNOTICED}", "no build worker")
                continue
            if silent >= stalled_after and not Heartbeat(self.platform.redis, build_id, 0).alive():
                return self._stop_waiting(build_id, emit, f"{builds.LOST_WORKER}{UNNOTICED}", "build worker lost")
            if started and silent >= self.settings.build_idle_timeout:
                return self._stop_waiting(
                    build_id, emit, f"error: the build printed nothing for {self.settings.build_idle_timeout:.0f} s; giving up on it",
                    "build timed out")
        raise RuntimeError("the build's output ended without an outcome")

    def _stop_waiting(self, build_id: uuid.UUID, emit: Emit, said: str, reason: str) -> End:
        """The push stops waiting, and abandons the build: its outcome, if it went live meanwhile;
        else `said` to the pusher and a failed End."""
        if self._give_up(build_id, None) is Status.succeeded:
            return self._state(build_id)[1]
        emit(said)
        return End(False, {"reason": reason})

    def _state(self, build_id: uuid.UUID) -> tuple[str, object]:
        """What the database says of a build: ("finished", its End), ("queued", its place in
        the queue) or ("running", None)."""
        with self.platform.sessionmaker() as db:
            build = builds.get_build(db, build_id)
            if build.status is not Status.pending:
                return "finished", self._outcome(db, build)
            if build.started_at is None:
                return "queued", builds.queue_position(db, build)
            return "running", None

    @staticmethod
    def _outcome(db, build: Build) -> End:
        """A finished build's outcome as its End would have told it."""
        if build.status is Status.succeeded and build.release_id is not None:
            release = db.get(Release, build.release_id)
            return End(True, {"release_id": str(release.id), "version": release.version})
        last = (build.output or "").rstrip("\n").rpartition("\n")[2]
        return End(False, {"reason": "build failed", "why": last})

    def _relay(self, stream: LogStream, emit: Emit, idle_timeout: float) -> End:
        for item in stream.follow(idle_timeout):
            if isinstance(item, End):
                return item
            emit(item)
        raise RuntimeError("the output ended without an outcome")

    def _give_up(self, build_id: uuid.UUID, release_id: uuid.UUID | None) -> Status:
        with self.platform.sessionmaker() as db:
            return builds.abandon(db, build_id, release_id)
