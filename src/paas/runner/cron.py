"""The runner's `cron` thread: starts scheduled jobs' runs, each a one-off dyno `scheduler.N` of
the app's current release, in a thread of its own (a run may last hours). Its output goes to the
app's logs as any process's does; its exit code and times are recorded with the run.

Once a minute (within a fraction of a second of it) the jobs whose latest due time has no run
get one (paas.domain.scheduled_jobs); a runner that was away runs each job's latest missed
time once, when it is back.
"""

import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone

from paas.channels.dynos import next_run_name, publish_run
from paas.domain import releases, scheduled_jobs
from paas.domain.models import ScheduledJob
from paas.runner.backend import OneOffTimeout

log = logging.getLogger(__name__)
TICK = 0.2  # seconds between looks at the clock


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class Cron:
    def __init__(self, reconciler, clock: Callable[[], datetime] = utc_now):
        self.reconciler, self.clock = reconciler, clock
        self.settings, self.logs = reconciler.settings, reconciler.logs
        self.minute: datetime | None = None

    def start(self) -> "Cron":
        self.recover()
        threading.Thread(target=self.loop, daemon=True, name="cron").start()
        return self

    def recover(self) -> None:
        """The runs the last runner left running ended with it (their containers are removed)."""
        with self.reconciler.sessionmaker() as db:
            if (count := scheduled_jobs.interrupted(db)):
                log.info("%d scheduled runs ended with the last runner", count)
            db.commit()

    def loop(self) -> None:
        while True:
            now = self.clock()
            minute = now.replace(second=0, microsecond=0)
            if minute != self.minute:
                try:
                    for run in self.tick(now):
                        run.start()
                    self.minute = minute
                except Exception:  # the database is away, say: tried again at the next look
                    log.exception("starting scheduled runs failed")
            time.sleep(TICK)

    def tick(self, now: datetime) -> list[threading.Thread]:
        """Claim (or skip) the run of each job that is due: the runs' threads, to start."""
        runs = []
        with self.reconciler.sessionmaker() as db:
            for job, due in scheduled_jobs.due_jobs(db, now):
                thread = self.begin(db, job, due)
                db.commit()
                if thread is not None:
                    runs.append(thread)
        return runs

    def begin(self, db, job: ScheduledJob, due: datetime) -> threading.Thread | None:
        """Claim the job's run at `due`, and the thread that runs it (None: skipped, or taken)."""
        app, redis = job.app, self.reconciler.redis
        app_id = str(app.id)
        if job.concurrency_policy == "forbid" and scheduled_jobs.still_running(db, job):
            if scheduled_jobs.claim(db, job, due, "", "skipped", message="the previous run was still going"):
                self.logs.event(app_id, "scheduler", f"Skipped `{job.command}` due at {due:%H:%M}: the previous run is still going")
            return None
        if scheduled_jobs.running_of_app(db, app.id) >= scheduled_jobs.MAX_RUNNING:
            if scheduled_jobs.claim(db, job, due, "", "skipped", message=f"{scheduled_jobs.MAX_RUNNING} scheduled runs of the app were going"):
                self.logs.event(app_id, "scheduler", f"Skipped `{job.command}` due at {due:%H:%M}: "
                                                     f"{scheduled_jobs.MAX_RUNNING} scheduled runs of the app are going")
            return None
        release = releases.current_release(db, app)
        if release is None or release.image is None:
            if scheduled_jobs.claim(db, job, due, "", "failed", message="the app has no release with code to run"):
                self.logs.event(app_id, "scheduler", f"Could not run `{job.command}`: the app has no release with code yet")
            return None
        name = next_run_name(redis, app.name, "scheduler")
        run = scheduled_jobs.claim(db, job, due, name, "running", release.version)
        if run is None:
            return None
        spec = self.reconciler.one_off(release, "scheduler", job.command, self.reconciler.networks_of(db, app),
                                       index=int(name.split(".")[1]), size=job.size)
        return threading.Thread(target=self.run, args=(run.id, spec, app.name, job.command), daemon=True, name=f"cron-{name}")

    def run(self, run_id: uuid.UUID, spec, app_name: str, command: str) -> None:
        redis, logs, app_id = self.reconciler.redis, self.logs, spec.app_id
        logs.event(app_id, spec.name, f"Starting process with command `{command}` (scheduled)")
        publish_run(redis, app_name, spec.name, {
            "id": str(run_id), "name": spec.name, "type": "scheduler", "state": "up", "size": spec.size,
            "release_id": spec.release_id, "version": spec.version, "created_at": time.time(), "command": command,
        })
        exit_code, message = None, None
        try:
            exit_code = self.reconciler.backend.containers.run_once(spec, self.settings.one_off_timeout, lambda line: None)
        except OneOffTimeout as timeout:
            exit_code, message = 137, str(timeout)
        except Exception as error:
            log.exception("scheduled run %s of %s failed", spec.name, app_name)
            message = f"paas could not run it: {error}"[:200]
        finally:
            publish_run(redis, app_name, spec.name, None)
        logs.event(app_id, spec.name, f"Process exited with status {exit_code if exit_code is not None else -1}")
        logs.event(app_id, spec.name, "State changed from up to complete")
        with self.reconciler.sessionmaker() as db:
            scheduled_jobs.finish(db, run_id, exit_code, message)
            db.commit()
