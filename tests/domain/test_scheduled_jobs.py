"""Scheduled jobs: schedules (hypothesis), and the rule the runner keeps: the latest due time of
every job has exactly one run, whatever restarts (real Postgres, the test's transaction)."""

from datetime import datetime, timedelta, timezone

import pytest
from cryptography.fernet import Fernet
from hypothesis import given
from hypothesis import strategies as st

from paas.domain import apps, scheduled_jobs
from paas.domain.crypto import ConfigCipher
from paas.domain.errors import InvalidParams
from paas.domain.models import Event
from paas.settings import DYNO_SIZES

CIPHER = ConfigCipher(Fernet.generate_key())
T0 = datetime(2026, 12, 8, 1, 0, 0, tzinfo=timezone.utc)
field = st.one_of(st.just("*"), st.integers(0, 59).map(str), st.integers(1, 30).map(lambda n: f"*/{n}"))


@given(st.tuples(field, st.sampled_from(["*", "0", "3", "*/2"]), st.sampled_from(["*", "1", "15"]), st.sampled_from(["*", "6"]),
                 st.sampled_from(["*", "1", "0-4"])), st.datetimes(datetime(2020, 1, 1), datetime(2030, 1, 1)))
def test_the_latest_due_time_is_at_or_before_now_and_the_next_after_it(fields, when):
    schedule = scheduled_jobs.validate_schedule(" ".join(fields))
    now = when.replace(tzinfo=timezone.utc)
    due = scheduled_jobs.latest_due(schedule, now)
    assert due <= now and due.second == 0
    assert scheduled_jobs.next_due(schedule, due) > now  # nothing due between the two


@pytest.mark.parametrize("schedule", ["* * * *", "0 0 * * * 5", "61 * * * *", "@reboot", "@every 5m", "H * * * *", "", None, 5,
                                      "* * * * * *", "x" * 200, "*/0 * * * *"])
def test_other_schedules_are_refused(schedule):
    with pytest.raises(InvalidParams) as refused:
        scheduled_jobs.validate_schedule(schedule)
    assert "five cron fields" in refused.value.message


@given(st.text(max_size=120))
def test_any_text_is_a_schedule_or_refused_clearly(text):
    try:
        schedule = scheduled_jobs.validate_schedule(text)
    except InvalidParams as refused:
        assert "five cron fields" in refused.message
    else:
        assert schedule in scheduled_jobs.MACROS or len(schedule.split(" ")) == 5
        scheduled_jobs.latest_due(schedule, T0)  # and it can be computed


def test_each_due_time_gets_one_run_and_a_missed_stretch_runs_once(test_sessionmaker, owner):
    with test_sessionmaker() as db:
        app = apps.create_app(db, CIPHER, owner, "cronned")
        job = scheduled_jobs.create_job(db, app, {"command": "echo hi", "schedule": "*/5 * * * *"}, DYNO_SIZES)
        db.flush()
        assert db.query(Event).filter_by(resource="scheduled-job", action="create").count() == 1
        job.scheduled_since = T0
        assert [(j.id, due) for j, due in scheduled_jobs.due_jobs(db, T0 + timedelta(seconds=3))] == [(job.id, T0)]
        assert scheduled_jobs.claim(db, job, T0, "scheduler.1", "running", 3) is not None
        assert scheduled_jobs.claim(db, job, T0, "scheduler.2", "running", 3) is None  # taken: never twice
        assert scheduled_jobs.due_jobs(db, T0 + timedelta(minutes=4)) == []  # nothing new is due
        assert scheduled_jobs.still_running(db, job)
        # The runner was away from 01:05 to 01:22: only the latest missed time (01:20) is due.
        assert [due for _j, due in scheduled_jobs.due_jobs(db, T0 + timedelta(minutes=22))] == [T0 + timedelta(minutes=20)]
        assert scheduled_jobs.interrupted(db) == 1 and not scheduled_jobs.still_running(db, job)
        [run] = scheduled_jobs.runs_of(db, job)
        assert (run.status, run.message) == ("failed", "the runner stopped while it ran")
        # A new schedule does not catch up on its own past.
        scheduled_jobs.update_job(db, job, {"schedule": "0 * * * *"}, DYNO_SIZES)
        db.flush()
        db.refresh(job)
        assert scheduled_jobs.due_jobs(db, job.scheduled_since + timedelta(seconds=1)) == []
        assert db.query(Event).filter_by(resource="scheduled-job", action="update").one().data["schedule"] == "0 * * * *"


def test_jobs_are_checked(test_sessionmaker, owner):
    with test_sessionmaker() as db:
        app = apps.create_app(db, CIPHER, owner, "checked")
        for body, words in (({"schedule": "@daily"}, "command must be"), ({"command": "x", "schedule": "soon"}, "five cron fields"),
                            ({"command": "x", "schedule": "@daily", "size": "huge"}, "size must be"),
                            ({"command": "x", "schedule": "@daily", "concurrency_policy": "replace"}, "concurrency_policy"),
                            ({"command": "a\x00b", "schedule": "@daily"}, "command must be")):
            with pytest.raises(InvalidParams) as refused:
                scheduled_jobs.create_job(db, app, body, DYNO_SIZES)
            assert words in refused.value.message, body
        job = scheduled_jobs.create_job(db, app, {"command": "  rake report ", "schedule": " 0  6 * * 1 ", "size": "Standard-2X"}, DYNO_SIZES)
        assert (job.command, job.schedule, job.size, job.concurrency_policy) == ("rake report", "0 6 * * 1", "standard-2x", "forbid")
