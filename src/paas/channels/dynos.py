"""What runs, as the runner last saw it, for the API (which never asks the engine): each app's
dynos, its one-off runs and the nodes; restarts the API asks for; one-off run numbers."""

import json
import time
from dataclasses import dataclass

import redis

from paas.channels.output import STREAM_TTL_SECONDS


def next_run_name(client: redis.Redis, app_name: str, kind: str = "run") -> str:
    """`run.N` (or `scheduler.N`), numbered per app as Heroku does."""
    return f"{kind}.{client.incr(_run_counter(app_name))}"


def app_renamed(client: redis.Redis, old: str, new: str) -> None:
    """Run numbers go on under the new name."""
    if client.exists(_run_counter(old)):
        client.rename(_run_counter(old), _run_counter(new))


def app_destroyed(client: redis.Redis, app_name: str) -> None:
    client.delete(_run_counter(app_name))


def _run_counter(app_name: str) -> str:
    return f"paas:run-counter:{app_name}"


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


def read_dynos_of(client: redis.Redis, app_names: list[str]) -> list[list[dict]]:
    """Each app's dynos, as read_dynos has them, in one round trip."""
    with client.pipeline(transaction=False) as pipe:
        for name in app_names:
            pipe.get(dynos_key(name))
        return [json.loads(data) if data else [] for data in pipe.execute()]


NODES_KEY = "paas:nodes"


@dataclass(frozen=True)
class Nodes:
    nodes: list[dict]
    at: float | None  # when the runner last looked (None: it never did)
    join: str | None  # how another host joins


def publish_nodes(client: redis.Redis, nodes: list[dict], join: str | None) -> None:
    """The hosts the runner runs processes on, and how another joins."""
    client.set(NODES_KEY, json.dumps({"at": time.time(), "nodes": nodes, "join": join}))


def read_nodes(client: redis.Redis) -> Nodes:
    data = client.get(NODES_KEY)
    if not data:
        return Nodes([], None, None)
    found = json.loads(data)
    return Nodes(found["nodes"], found["at"], found.get("join"))


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
