"""Scheduled jobs (`/apps/{app}/scheduled-jobs`, and each job's `/runs`): paas' own resource, in
the Platform API's style. Reading them needs view on the app; changing them, deploy (a job runs
any command in the app, as `run` does)."""

from datetime import datetime, timezone
from typing import Annotated

from fastapi import APIRouter, Body

from paas.domain import access, scheduled_jobs
from paas.platform.deps import DbDep, SettingsDep, UserDep
from paas.shapes import scheduled_job_json, scheduled_run_json

router = APIRouter()


def described(db, jobs: list) -> list[dict]:
    now, last = datetime.now(timezone.utc), scheduled_jobs.last_runs(db, jobs)
    return [scheduled_job_json(job, scheduled_jobs.next_due(job.schedule, now), last.get(job.id)) for job in jobs]


@router.get("/apps/{ident}/scheduled-jobs")
def list_jobs(ident: str, user: UserDep, db: DbDep):
    return described(db, scheduled_jobs.jobs_of(db, access.app_for(db, ident, user, access.VIEW)))


@router.post("/apps/{ident}/scheduled-jobs", status_code=201)
def create_job(ident: str, user: UserDep, db: DbDep, settings: SettingsDep, body: Annotated[dict | None, Body()] = None):
    app = access.app_for(db, ident, user, access.DEPLOY)
    job = scheduled_jobs.create_job(db, app, body or {}, settings.dyno_sizes)
    db.commit()
    return described(db, [job])[0]


@router.get("/apps/{ident}/scheduled-jobs/{job_id}")
def get_job(ident: str, job_id: str, user: UserDep, db: DbDep):
    return described(db, [scheduled_jobs.job_of(db, access.app_for(db, ident, user, access.VIEW), job_id)])[0]


@router.patch("/apps/{ident}/scheduled-jobs/{job_id}")
def update_job(ident: str, job_id: str, user: UserDep, db: DbDep, settings: SettingsDep, body: Annotated[dict | None, Body()] = None):
    job = scheduled_jobs.job_of(db, access.app_for(db, ident, user, access.DEPLOY), job_id)
    scheduled_jobs.update_job(db, job, body or {}, settings.dyno_sizes)
    db.commit()
    return described(db, [job])[0]


@router.delete("/apps/{ident}/scheduled-jobs/{job_id}")
def delete_job(ident: str, job_id: str, user: UserDep, db: DbDep):
    job = scheduled_jobs.job_of(db, access.app_for(db, ident, user, access.DEPLOY), job_id)
    answer = described(db, [job])[0]
    scheduled_jobs.delete_job(db, job)
    db.commit()
    return answer


@router.get("/apps/{ident}/scheduled-jobs/{job_id}/runs")
def list_runs(ident: str, job_id: str, user: UserDep, db: DbDep):
    """The job's latest runs (100 at most), newest first."""
    job = scheduled_jobs.job_of(db, access.app_for(db, ident, user, access.VIEW), job_id)
    return [scheduled_run_json(run) for run in scheduled_jobs.runs_of(db, job)]
