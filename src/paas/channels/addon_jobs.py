"""Add-on jobs (paas.addons.jobs): queued for the runner, which does them and reports each
one's outcome under the job's id, for an API call that may wait for it. A job that makes
something (an add-on's server, an attachment's network, a link's) has that thing's id as its own,
so the API call that committed it knows what to wait for."""

import json
import uuid
from dataclasses import asdict, dataclass, field

import redis

from paas.channels.runner import ADDON_QUEUE

JOB_OUTCOME_TTL = 600  # seconds an outcome is kept for a waiter that comes late


@dataclass(frozen=True)
class Job:
    job: str  # a name of paas.addons.jobs.JOBS
    args: list = field(default_factory=list)  # ids, as strings
    id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @classmethod
    def parse(cls, payload: str) -> "Job":
        """ValueError for what no sender makes."""
        try:
            data = json.loads(payload)
            job = cls(data["job"], list(data["args"]), str(data["id"]))
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"not an add-on job: {payload[:200]!r}") from error
        if not isinstance(job.job, str):
            raise ValueError(f"not an add-on job: {payload[:200]!r}")
        return job


def send(client: redis.Redis, job: Job) -> None:
    """The queue keeps it while no runner is there."""
    client.rpush(ADDON_QUEUE, json.dumps(asdict(job)))


def claim(client: redis.Redis, job_id: str) -> bool:
    """Whether the job is this taker's to do: False when it was taken before (its event was
    delivered again: the publisher delivers at least once)."""
    return bool(client.set(f"paas:job-claim:{job_id}", "1", nx=True, ex=JOB_OUTCOME_TTL))


def _outcome_key(job_id: str) -> str:
    return f"paas:job:{job_id}"


def report_outcome(client: redis.Redis, job_id: str, ok: bool, message: str = "") -> None:
    key = _outcome_key(job_id)
    client.pipeline().rpush(key, json.dumps({"ok": ok, "message": message})).expire(key, JOB_OUTCOME_TTL).execute()


def wait_for_outcome(client: redis.Redis, job_id: str, timeout: float) -> dict | None:
    """{"ok": ..., "message": ...}, or None if the job has not ended within `timeout` seconds."""
    item = client.blpop([_outcome_key(job_id)], timeout=timeout)
    return json.loads(item[1]) if item else None
