"""Scheduled jobs: commands run on a five-field cron schedule (or @hourly, @daily...), in UTC.

The rule the runner keeps: the latest due time of every job has a run. Each run is claimed by
inserting its row (unique per job and due time), so a due time is never run twice, whatever
restarts; a job whose previous run still goes gets its due time recorded as skipped (policy
`forbid`, the default). After the runner was away, the latest due time it missed is run once
(the earlier ones never). These functions touch only the database; callers commit.
"""

import uuid
from datetime import datetime, timedelta, timezone

from croniter import croniter
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.orm import Session

from paas.domain import events, formation
from paas.domain.db import one_by_id
from paas.domain.errors import InvalidParams
from paas.domain.models import App, ScheduledJob, ScheduledRun

MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
POLICIES = ("forbid", "allow")
COMMAND_LIMIT = 2000
MAX_JOBS = 50  # per app
MAX_RUNNING = 10  # scheduled runs of one app at once, whatever their policies: a due one past it is skipped


def validate_schedule(schedule: object) -> str:
    """Five cron fields (minute hour day-of-month month day-of-week) or a macro such as @daily."""
    if isinstance(schedule, str):
        schedule = " ".join(schedule.split())
        if schedule in MACROS or (len(schedule.split(" ")) == 5 and len(schedule) <= 100 and croniter.is_valid(schedule)):
            return schedule
    raise InvalidParams(f"schedule must be five cron fields (minute hour day month weekday, in UTC) or one of {', '.join(MACROS)}.")


def validate_command(command: object) -> str:
    if not isinstance(command, str) or not command.strip() or len(command) > COMMAND_LIMIT or "\x00" in command:
        raise InvalidParams(f"command must be a command line of up to {COMMAND_LIMIT} characters.")
    return command.strip()


def latest_due(schedule: str, now: datetime) -> datetime:
    """The latest minute at or before `now` the schedule is due (UTC)."""
    minute = now.astimezone(timezone.utc).replace(second=0, microsecond=0)
    return croniter(schedule, minute + timedelta(seconds=1)).get_prev(datetime)


def next_due(schedule: str, now: datetime) -> datetime:
    return croniter(schedule, now.astimezone(timezone.utc)).get_next(datetime)


def create_job(db: Session, app: App, body: dict, sizes: dict, declared_in: str = "api") -> ScheduledJob:
    if db.scalar(select(func.count()).select_from(ScheduledJob).where(ScheduledJob.app_id == app.id)) >= MAX_JOBS:
        raise InvalidParams(f"An app has {MAX_JOBS} scheduled jobs at most.")
    job = ScheduledJob(app_id=app.id, command=validate_command(body.get("command")), schedule=validate_schedule(body.get("schedule")),
                       size=formation.canonical_size(body.get("size", formation.DEFAULT_SIZE), sizes),
                       concurrency_policy=validate_policy(body.get("concurrency_policy", "forbid")), declared_in=declared_in)
    db.add(job)
    events.recorded(db, app, "scheduled-job", "create", job)
    return job


def validate_policy(policy: object) -> str:
    if policy not in POLICIES:
        raise InvalidParams(f"concurrency_policy must be one of {', '.join(POLICIES)}.")
    return policy


def update_job(db: Session, job: ScheduledJob, body: dict, sizes: dict) -> ScheduledJob:
    unknown = set(body) - {"command", "schedule", "size", "concurrency_policy"}
    if unknown:
        raise InvalidParams(f"Cannot change {', '.join(sorted(unknown))} of a scheduled job.")
    with events.updating(db, job.app, "scheduled-job", job):
        if "command" in body:
            job.command = validate_command(body["command"])
        if "schedule" in body and validate_schedule(body["schedule"]) != job.schedule:
            job.schedule = validate_schedule(body["schedule"])
            job.scheduled_since = func.now()  # no catching up on the new schedule's past
        if "size" in body:
            job.size = formation.canonical_size(body["size"], sizes)
        if "concurrency_policy" in body:
            job.concurrency_policy = validate_policy(body["concurrency_policy"])
    return job


def declare(db: Session, app: App, jobs: tuple[dict, ...], sizes: dict) -> None:
    """The app's jobs from app.json become `jobs` (a build's manifest's); those made through the
    API stay. A job declared as before keeps its runs."""
    wanted = [(validate_command(j["command"]), validate_schedule(j["schedule"]),
               formation.canonical_size(j.get("size", formation.DEFAULT_SIZE), sizes), j.get("concurrency_policy", "forbid"))
              for j in jobs]
    for job in jobs_of(db, app):
        if job.declared_in != "app.json":
            continue
        key = (job.command, job.schedule, job.size, job.concurrency_policy)
        if key in wanted:
            wanted.remove(key)
        else:
            delete_job(db, job)
    for command, schedule, size, policy in wanted:
        create_job(db, app, {"command": command, "schedule": schedule, "size": size, "concurrency_policy": policy}, sizes, "app.json")


def delete_job(db: Session, job: ScheduledJob) -> None:
    events.recorded(db, job.app, "scheduled-job", "destroy", job)
    db.delete(job)
    db.flush()


def jobs_of(db: Session, app: App) -> list[ScheduledJob]:
    return list(db.scalars(select(ScheduledJob).where(ScheduledJob.app_id == app.id).order_by(ScheduledJob.created_at)))


def job_of(db: Session, app: App, ident: str) -> ScheduledJob:
    return one_by_id(db, select(ScheduledJob).where(ScheduledJob.app_id == app.id), ScheduledJob.id, ident, "scheduled job")


def runs_of(db: Session, job: ScheduledJob, limit: int = 100) -> list[ScheduledRun]:
    return list(db.scalars(select(ScheduledRun).where(ScheduledRun.job_id == job.id).order_by(ScheduledRun.due_at.desc()).limit(limit)))


def last_runs(db: Session, jobs: list[ScheduledJob]) -> dict[uuid.UUID, ScheduledRun]:
    """Each job's latest run, in one query."""
    newest = (select(ScheduledRun).where(ScheduledRun.job_id.in_([j.id for j in jobs]))
              .order_by(ScheduledRun.job_id, ScheduledRun.due_at.desc()).ext(distinct_on(ScheduledRun.job_id)))
    return {run.job_id: run for run in db.scalars(newest)}


# --- the runner's side ---------------------------------------------------------------------

def due_jobs(db: Session, now: datetime) -> list[tuple[ScheduledJob, datetime]]:
    """Every job whose latest due time (since it was scheduled) has no run yet, with that time."""
    latest = (select(ScheduledRun.job_id, func.max(ScheduledRun.due_at).label("due_at")).group_by(ScheduledRun.job_id).subquery())
    found = []
    for job, last in db.execute(select(ScheduledJob, latest.c.due_at).outerjoin(latest, latest.c.job_id == ScheduledJob.id)):
        due = latest_due(job.schedule, now)
        if due >= job.scheduled_since and (last is None or last < due):
            found.append((job, due))
    return found


def claim(db: Session, job: ScheduledJob, due: datetime, name: str, status: str, release_version: int | None = None,
          message: str | None = None) -> ScheduledRun | None:
    """The run of `job` at `due`, recorded now as `running`, or as `skipped` or `failed` with
    `message` saying why. None when another pass has it already."""
    made = db.execute(insert(ScheduledRun).values(
        id=uuid.uuid4(), job_id=job.id, due_at=due, name=name, status=status, release_version=release_version, message=message,
        finished_at=None if status == "running" else func.now(),
    ).on_conflict_do_nothing(index_elements=["job_id", "due_at"]).returning(ScheduledRun.id)).scalar()
    return db.get(ScheduledRun, made) if made else None


def running_of_app(db: Session, app_id: uuid.UUID) -> int:
    """How many scheduled runs of the app's jobs go on now."""
    return db.scalar(select(func.count()).select_from(ScheduledRun).join(ScheduledJob)
                     .where(ScheduledJob.app_id == app_id, ScheduledRun.status == "running"))


def still_running(db: Session, job: ScheduledJob) -> bool:
    return db.scalar(select(ScheduledRun.id).where(ScheduledRun.job_id == job.id, ScheduledRun.status == "running").limit(1)) is not None


def finish(db: Session, run_id: uuid.UUID, exit_code: int | None, message: str | None = None) -> None:
    db.execute(update(ScheduledRun).where(ScheduledRun.id == run_id).values(
        status="succeeded" if exit_code == 0 else "failed", exit_code=exit_code, finished_at=func.now(), message=message))


def interrupted(db: Session) -> int:
    """Runs a runner that stopped left as running: they ended with it (their containers are
    removed); failed, so that `forbid` does not wait for them for ever."""
    return db.execute(update(ScheduledRun).where(ScheduledRun.status == "running").values(
        status="failed", finished_at=func.now(), message="the runner stopped while it ran")).rowcount
