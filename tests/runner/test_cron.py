"""The runner's cron with real parts (Docker, Postgres, Redis) and a clock the test moves: each
due minute gets one run of the app's current release, recorded with its exit code and logged; a
job whose run still goes is skipped, not started twice; a runner that was away runs each job's
latest missed minute once. (Runs are run in the test's thread: the test's database session is one
connection, which threads must not share.)"""

from datetime import datetime, timedelta, timezone

from paas.domain import apps, scheduled_jobs
from paas.domain.models import ScheduledJob
from paas.runner.cron import Cron
from tests.runner.test_reconcile import SERVE, world  # noqa: F401 (a fixture)


def runs(world, job_id) -> list:
    with world.sessionmaker() as db:
        return [(r.status, r.exit_code, r.name, r.message, r.due_at) for r in scheduled_jobs.runs_of(db, db.get(ScheduledJob, job_id))]


def test_due_runs_run_once_each_never_overlap_and_a_missed_stretch_runs_once(world):
    world.deploy(SERVE)
    t0 = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(minutes=30)
    with world.sessionmaker() as db:
        app = apps.get_app(db, world.name)
        sizes = world.reconciler.settings.dyno_sizes
        quick = scheduled_jobs.create_job(db, app, {"command": "echo scheduled-hello; exit 3", "schedule": "* * * * *",
                                                    "size": "standard-2x"}, sizes)
        slow = scheduled_jobs.create_job(db, app, {"command": "sleep 600", "schedule": "* * * * *"}, sizes)
        db.flush()
        quick.scheduled_since = slow.scheduled_since = t0
        db.commit()
        app_id, quick_id, slow_id = str(app.id), quick.id, slow.id
    cron = Cron(world.reconciler)
    first = {thread.name: thread for thread in cron.tick(t0 + timedelta(seconds=1))}
    assert len(first) == 2
    [(_, _, name, _, _)] = runs(world, quick_id)
    first[f"cron-{name}"].run()  # quick, to its end; slow is left "running", as if its process still ran
    [(status, code, name, message, due)] = runs(world, quick_id)
    assert (status, code, due, message) == ("failed", 3, t0, None) and name.startswith("scheduler.")
    assert cron.tick(t0 + timedelta(seconds=30)) == []  # the same minute: nothing new

    [second] = cron.tick(t0 + timedelta(minutes=1, seconds=1))  # quick runs again; slow is still going
    second.run()
    assert [(r[0], r[4]) for r in runs(world, quick_id)] == [("failed", t0 + timedelta(minutes=1)), ("failed", t0)]
    assert [(r[0], r[3]) for r in runs(world, slow_id)] == [("skipped", "the previous run was still going"), ("running", None)]
    logged, _ = world.reconciler.logs.recent(app_id, 50)
    texts = [f"{line.dyno}: {line.text}" for line in logged]
    assert f"{name}: Starting process with command `echo scheduled-hello; exit 3` (scheduled)" in texts, texts
    assert f"{name}: Process exited with status 3" in texts
    assert any(t.startswith("scheduler: Skipped `sleep 600` due at") for t in texts), texts

    # The runner stops at t0+1m and is back at t0+7m: the run it left going ended with it, and
    # each job's latest missed minute (t0+7m) runs once; t0+2m..t0+6m never do.
    back = Cron(world.reconciler)
    back.recover()
    oldest = runs(world, slow_id)[-1]
    assert (oldest[0], oldest[3]) == ("failed", "the runner stopped while it ran")
    caught_up = {thread.name: thread for thread in back.tick(t0 + timedelta(minutes=7, seconds=2))}
    assert len(caught_up) == 2
    caught_up[f"cron-{runs(world, quick_id)[0][2]}"].run()
    assert [r[4] for r in runs(world, quick_id)] == [t0 + timedelta(minutes=7), t0 + timedelta(minutes=1), t0]
    assert [r[4] for r in runs(world, slow_id)] == [t0 + timedelta(minutes=7), t0 + timedelta(minutes=1), t0]
    assert back.tick(t0 + timedelta(minutes=7, seconds=40)) == []
    with world.sessionmaker() as db:  # the positive control of the rule's query: a new minute is due again
        assert {job.id for job, _due in scheduled_jobs.due_jobs(db, t0 + timedelta(minutes=8))} == {quick_id, slow_id}


def test_an_app_runs_at_most_ten_scheduled_runs_at_once_whatever_the_policy(world):
    world.deploy(SERVE)
    t0 = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(minutes=30)
    with world.sessionmaker() as db:
        app = apps.get_app(db, world.name)
        sizes = world.reconciler.settings.dyno_sizes
        jobs = [scheduled_jobs.create_job(db, app, {"command": f"echo {i}", "schedule": "* * * * *", "concurrency_policy": "allow"}, sizes)
                for i in range(scheduled_jobs.MAX_RUNNING + 1)]
        db.flush()
        for job in jobs:
            job.scheduled_since = t0
        for job in jobs[:scheduled_jobs.MAX_RUNNING]:  # ten runs going (as if their processes ran)
            scheduled_jobs.claim(db, job, t0 - timedelta(minutes=1), "scheduler.0", "running", 1)
        db.commit()
        last = jobs[-1].id
    assert Cron(world.reconciler).tick(t0 + timedelta(seconds=1)) == []  # every due one skipped, none started
    [(status, _, _, message, _)] = runs(world, last)
    assert (status, message) == ("skipped", "10 scheduled runs of the app were going")
    with world.sessionmaker() as db:  # the positive control: with one ended, the next minute's runs start again
        scheduled_jobs.finish(db, scheduled_jobs.runs_of(db, db.get(ScheduledJob, jobs[0].id))[-1].id, 0)
        db.commit()
    started = Cron(world.reconciler).tick(t0 + timedelta(minutes=1, seconds=1))
    assert len(started) == 1
    started[0].run()
