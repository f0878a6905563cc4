"""Messages between the platform's processes, over Redis.

- Log streams: the builder and the runner append lines to a Redis stream per build or release,
  closed by an end entry carrying the outcome; the git receiver follows them live and a later
  reader can replay them (streams are kept for a day).
- The runner's wake-up queue: after a commit that changes what should run, the platform pushes
  the app's name so the runner reconciles it now instead of at its next sweep.
"""

import base64
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import redis

from paas.settings import Settings

STREAM_TTL_SECONDS = 24 * 3600
WAKE_QUEUE = "paas:runner:wake"


def connect(settings: Settings) -> redis.Redis:
    return redis.Redis.from_url(settings.redis_url, decode_responses=True)


@dataclass
class End:
    """The last entry of a log stream."""

    ok: bool
    detail: dict


class LogStream:
    def __init__(self, client: redis.Redis, key: str):
        self.client, self.key = client, key

    @classmethod
    def for_build(cls, client: redis.Redis, build_id: object) -> "LogStream":
        return cls(client, f"paas:log:build:{build_id}")

    @classmethod
    def for_release(cls, client: redis.Redis, release_id: object) -> "LogStream":
        return cls(client, f"paas:log:release:{release_id}")

    def write(self, line: str) -> None:
        self.client.xadd(self.key, {"line": line.rstrip("\n")})
        self.client.expire(self.key, STREAM_TTL_SECONDS)

    def end(self, ok: bool, **detail: object) -> None:
        self.client.xadd(self.key, {"end": json.dumps({"ok": ok, **detail}, default=str)})
        self.client.expire(self.key, STREAM_TTL_SECONDS)

    def follow(self, idle_timeout: float) -> Iterator[str | End]:
        """Yield lines from the start, then the End; TimeoutError after `idle_timeout` s of silence."""
        silent_since = time.monotonic()
        for item in self.entries(tick=min(idle_timeout, 1.0)):
            if item is None:
                if time.monotonic() - silent_since >= idle_timeout:
                    raise TimeoutError(f"no output for {idle_timeout:.0f} s")
                continue
            silent_since = time.monotonic()
            yield item
            if isinstance(item, End):
                return

    def entries(self, tick: float) -> Iterator[str | End | None]:
        """Lines from the start, then the End; None after each `tick` s without news, so a
        follower can look around (is the worker alive? where is it in the queue?)."""
        last_id = "0-0"
        while True:
            batch = self.client.xread({self.key: last_id}, block=max(1, int(tick * 1000)), count=100)
            if not batch:
                yield None
                continue
            for entry_id, fields in batch[0][1]:
                last_id = entry_id
                item = log_item(fields)
                yield item
                if isinstance(item, End):
                    return

    def exists(self) -> bool:
        return bool(self.client.exists(self.key))

    def lines(self) -> list[str]:
        """Everything written so far (without the End)."""
        return [fields["line"] for _id, fields in self.client.xrange(self.key) if "line" in fields]


def log_item(fields: dict) -> str | End:
    """A log stream's entry: a line, or the End."""
    if "end" in fields:
        data = json.loads(fields["end"])
        return End(ok=data.pop("ok"), detail=data)
    return fields["line"]


class Heartbeat:
    """A build worker's sign of life: a key that expires unless the worker keeps renewing it."""

    def __init__(self, client: redis.Redis, build_id: object, ttl: float):
        self.client, self.key, self.ttl = client, f"paas:build:{build_id}:alive", ttl

    def beat(self) -> None:
        self.client.set(self.key, "1", px=int(self.ttl * 1000))

    def alive(self) -> bool:
        return bool(self.client.exists(self.key))

    def stop(self) -> None:
        self.client.delete(self.key)


ROUTER_WAKE = "@router"  # not an app name: the runner sweeps now (domains changed)


def wake_runner(client: redis.Redis, app_name: str) -> None:
    client.rpush(WAKE_QUEUE, app_name)


def wake_router(client: redis.Redis) -> None:
    client.rpush(WAKE_QUEUE, ROUTER_WAKE)


def next_run_name(client: redis.Redis, app_name: str) -> str:
    """`run.N`, numbered per app as Heroku does."""
    return f"run.{client.incr(_run_counter(app_name))}"


def app_renamed(client: redis.Redis, old: str, new: str) -> None:
    """The runner moves the app's processes to the new name (they start again under it: their
    HEROKU_APP_NAME and host change) and the router follows; run numbers go on."""
    if client.exists(_run_counter(old)):
        client.rename(_run_counter(old), _run_counter(new))
    wake_runner(client, new)
    wake_runner(client, old)
    wake_router(client)


def forget_app(client: redis.Redis, app_name: str) -> None:
    """An app that is gone: its run numbers go; the runner stops its processes and its route."""
    client.delete(_run_counter(app_name))
    wake_runner(client, app_name)


def _run_counter(app_name: str) -> str:
    return f"paas:run-counter:{app_name}"


# --- dynos: what runs, as the runner last saw it, and restarts asked for ----------------------

def dynos_key(app_name: str) -> str:
    return f"paas:dynos:{app_name}"


def publish_dynos(client: redis.Redis, app_name: str, dynos: list[dict]) -> None:
    """The runner's view of an app's processes, for the API (which never asks the engine). No
    expiry: the runner writes only changes (none left, or the app gone: the key goes)."""
    if dynos:
        client.set(dynos_key(app_name), json.dumps(dynos))
    else:
        client.delete(dynos_key(app_name))


def read_dynos(client: redis.Redis, app_name: str) -> list[dict]:
    data = client.get(dynos_key(app_name))
    return json.loads(data) if data else []


NODES_KEY = "paas:nodes"


def publish_nodes(client: redis.Redis, nodes: list[dict], join: str | None) -> None:
    """The runner's view of the hosts it runs processes on, and how another joins, for the API
    (which never asks the engine)."""
    client.set(NODES_KEY, json.dumps({"at": time.time(), "nodes": nodes, "join": join}))


def read_nodes(client: redis.Redis) -> tuple[list[dict], float | None, str | None]:
    """The nodes, when the runner last looked (None: it never did), and the join command."""
    data = client.get(NODES_KEY)
    if not data:
        return [], None, None
    found = json.loads(data)
    return found["nodes"], found["at"], found.get("join")


def runs_key(app_name: str) -> str:
    return f"paas:runs:{app_name}"


def publish_run(client: redis.Redis, app_name: str, name: str, dyno: dict | None) -> None:
    """A one-off dyno that runs now (None: it ended), shown beside the formation's dynos."""
    if dyno is None:
        client.hdel(runs_key(app_name), name)
    else:
        client.hset(runs_key(app_name), name, json.dumps(dyno))
        client.expire(runs_key(app_name), 2 * 24 * 3600)  # a runner that died leaves none for long


def forget_runs(client: redis.Redis) -> None:
    """Every run listed (a runner that starts: the runs of the one before it have ended)."""
    for key in client.scan_iter(runs_key("*")):
        client.delete(key)


def read_runs(client: redis.Redis, app_name: str) -> list[dict]:
    return [json.loads(data) for _name, data in sorted(client.hgetall(runs_key(app_name)).items())]


def request_restart(client: redis.Redis, app_name: str, scope: str, at: float) -> None:
    """Processes of `scope` (`all`, a type like `web`, or one like `web.1`) started before `at` are
    to be replaced; the runner does it on its next pass over the app (its waker wakes it)."""
    client.hset(f"paas:restart:{app_name}", scope, at)
    client.expire(f"paas:restart:{app_name}", STREAM_TTL_SECONDS)


def restart_requests(client: redis.Redis, app_name: str) -> dict[str, float]:
    return {scope: float(at) for scope, at in client.hgetall(f"paas:restart:{app_name}").items()}


# --- one-off runs: the API asks, the runner runs, and an attached client talks through Redis -----

RUN_QUEUE = "paas:runner:runs"
RUN_REQUEST_TTL = 60  # seconds the runner has to take a run the API asked for
ATTACH_TIMEOUT = 60.0  # seconds an attached run waits for its client before it is given up
ENDED_RUN_TTL = 600  # seconds a run's channel is kept once it has ended


ADDON_QUEUE = "paas:runner:addon-jobs"
_KINDS = {WAKE_QUEUE: "wake", RUN_QUEUE: "run", ADDON_QUEUE: "addon"}


def wait_for_work(client: redis.Redis, timeout: float) -> tuple[str, str] | None:
    """("wake", app), ("run", run id) or ("addon", job), whichever comes first; None after
    `timeout` seconds."""
    item = client.blpop(list(_KINDS), timeout=timeout)
    if not item:
        return None
    return (_KINDS[item[0]], item[1])


class RunChannel:
    """One one-off run. The request (taken once by the runner); its output, then its exit code,
    as a stream the attached client reads from the start; its input (stdin bytes, end of input,
    hang-up), as a stream the runner reads. Bytes travel base64-encoded. Its grant: whose token
    asked for it, so that its attached client is let in (and kept) only while that token may."""

    def __init__(self, client: redis.Redis, run_id: str):
        self.client, self.run_id = client, run_id
        self.request_key, self.output_key, self.input_key, self.grant_key = (
            f"paas:run:{run_id}:request", f"paas:run:{run_id}:out", f"paas:run:{run_id}:in", f"paas:run:{run_id}:grant",
        )

    def grant(self, token_hash: str, app_id: str) -> None:
        """The token's hash, never the token; kept as long as the attach URL opens."""
        self.client.set(self.grant_key, json.dumps({"token_hash": token_hash, "app_id": app_id}), ex=int(ATTACH_TIMEOUT) + 5)

    def ask(self, request: dict) -> None:
        self.client.set(self.request_key, json.dumps(request), ex=RUN_REQUEST_TTL)
        self.client.rpush(RUN_QUEUE, self.run_id)

    def take(self) -> dict | None:
        """The request, once (it carries the run's env, so it does not stay in Redis)."""
        data = self.client.getdel(self.request_key)
        return json.loads(data) if data else None

    def _add(self, key: str, fields: dict) -> None:
        self.client.xadd(key, fields, maxlen=10_000, approximate=True)
        self.client.expire(key, STREAM_TTL_SECONDS)

    def output(self, data: bytes) -> None:
        self._add(self.output_key, {"data": base64.b64encode(data).decode()})

    def taken(self) -> None:
        """The runner has the run (the attached client waits for it, not for a runner that is down)."""
        self._add(self.output_key, {"taken": "1"})

    def exited(self, status: int, message: str = "") -> None:
        self._add(self.output_key, {"exit": str(status), "message": message})
        for key in (self.output_key, self.input_key):  # its output may hold secrets (`run env`)
            self.client.expire(key, ENDED_RUN_TTL)

    def hang_up(self) -> None:
        self._add(self.input_key, {"event": "hangup"})

    def inputs(self, block: float) -> Iterator[bytes | str | None]:
        """Stdin bytes; "attached", "eof" and "hangup" as they come; None every `block` s of silence."""
        last = "0-0"
        while True:
            batch = self.client.xread({self.input_key: last}, block=max(1, int(block * 1000)), count=100)
            if not batch:
                yield None
                continue
            for entry_id, fields in batch[0][1]:
                last = entry_id
                yield base64.b64decode(fields["data"]) if "data" in fields else fields["event"]


# --- add-on jobs: the API sends (after its commit), the runner does, the API may wait ---------

JOB_OUTCOME_TTL = 600  # seconds an outcome is kept for a waiter that comes late


def send_addon_job(client: redis.Redis, job: str, *args) -> str:
    """Queue an add-on job (it takes ids); returns the id its outcome is reported under. The
    queue keeps it while no runner is there."""
    job_id = str(uuid.uuid4())
    client.rpush(ADDON_QUEUE, json.dumps({"job": job, "args": list(args), "id": job_id}))
    return job_id


def _job_key(job_id: str) -> str:
    return f"paas:job:{job_id}"


def report_outcome(client: redis.Redis, job_id: str, ok: bool, message: str = "") -> None:
    key = _job_key(job_id)
    client.pipeline().rpush(key, json.dumps({"ok": ok, "message": message})).expire(key, JOB_OUTCOME_TTL).execute()


def wait_for_outcome(client: redis.Redis, job_id: str, timeout: float) -> dict | None:
    """{"ok": ..., "message": ...}, or None if the job has not ended within `timeout` seconds."""
    item = client.blpop([_job_key(job_id)], timeout=timeout)
    return json.loads(item[1]) if item else None
