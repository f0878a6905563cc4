"""Dynos (Heroku's Dyno resource): the app's processes as the runner last saw them, and restarts.

The API never asks the container engine: the runner publishes what runs after every pass over an
app, and restarts are requests the runner carries out (new processes first, then the old ones go).
"""

import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Annotated

from fastapi import APIRouter, Body, Request, Response, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse

from paas.channels.dynos import next_run_name, read_dynos, read_runs
from paas.channels.runs import ATTACH_TIMEOUT, RUN_REQUEST_TTL, RunChannel
from paas.domain import access, dynos, quotas, releases
from paas.domain.accounts import hash_token
from paas.domain.errors import InvalidParams, NotFound
from paas.domain.models import User
from paas.domain.names import validate_config_key
from paas.platform import rendezvous
from paas.platform.attach import relay, run_grant
from paas.platform.auth import token_from_authorization
from paas.platform.deps import DbDep, PlatformDep, RedisDep, UserDep
from paas.shapes import app_ref

router = APIRouter()


def dyno_json(dyno: dict, app) -> dict:
    created = datetime.fromtimestamp(dyno["created_at"], timezone.utc).isoformat().replace("+00:00", "Z")
    return {
        "id": dyno["id"],
        "name": dyno["name"],
        "type": dyno["type"],
        "state": dyno["state"],
        "size": dyno["size"],
        "release": {"id": dyno["release_id"], "version": dyno["version"]},
        "app": app_ref(app),
        "attach_url": None,
        "command": dyno.get("command"),
        "created_at": created,
        "updated_at": created,
    }


@router.get("/apps/{ident}/dynos")
def list_dynos(ident: str, user: UserDep, db: DbDep, redis: RedisDep):
    app = access.app_for(db, ident, user, access.VIEW)
    return [dyno_json(d, app) for d in read_dynos(redis, app.name) + read_runs(redis, app.name)]


@router.get("/apps/{ident}/dynos/{name}")
def get_dyno(ident: str, name: str, user: UserDep, db: DbDep, redis: RedisDep):
    app = access.app_for(db, ident, user, access.VIEW)
    return dyno_json(find(redis, app, name, one_offs=True), app)


@router.delete("/apps/{ident}/dynos", status_code=202)
def restart_all(ident: str, user: UserDep, db: DbDep):
    app = access.app_for(db, ident, user, access.OPERATE)
    return restart_scope(db, app, "all")


@router.delete("/apps/{ident}/dynos/{name}", status_code=202)
def restart(ident: str, name: str, user: UserDep, db: DbDep, redis: RedisDep):
    """A dyno (`web.1`) or every dyno of a type (`web`), as `heroku ps:restart` asks."""
    app = access.app_for(db, ident, user, access.OPERATE)
    if "." in name:
        if (dyno := find(redis, app, name, one_offs=True))["type"] == "run":
            return stop_run(db, redis, app, dyno)
    elif not any(d["type"] == name for d in read_dynos(redis, app.name)):
        raise NotFound(f"Couldn't find that process type ({name}).")
    return restart_scope(db, app, name)


@router.post("/apps/{ident}/dynos/{name}/actions/stop", status_code=202)
def stop(ident: str, name: str, user: UserDep, db: DbDep, redis: RedisDep):
    """As on Heroku, a dyno of the formation that is stopped is started again by the platform:
    the process is replaced. (Scale the type down to keep it stopped.)"""
    app = access.app_for(db, ident, user, access.OPERATE)
    dyno = find(redis, app, name, one_offs=True)
    if dyno["type"] == "run":
        return stop_run(db, redis, app, dyno)
    return restart_scope(db, app, name)


def stop_run(db, redis, app, dyno: dict) -> Response:
    """A one-off is not started again: it ends (its client, if attached, sees it end)."""
    dynos.run_stopped(db, app, dyno)
    db.commit()
    RunChannel(redis, dyno["id"]).hang_up()
    return Response(content="{}", status_code=202, media_type="application/json")


def restart_scope(db, app, scope: str) -> Response:
    """The runner replaces the processes of `scope` started before this event (all, web, web.1)."""
    dynos.restart_asked(db, app, scope)
    db.commit()
    return Response(content="{}", status_code=202, media_type="application/json")


def find(redis, app, name: str, one_offs: bool = False) -> dict:
    """A dyno of the formation (restarts and stops apply to those), or also a one-off."""
    for dyno in read_dynos(redis, app.name) + (read_runs(redis, app.name) if one_offs else []):
        if dyno["name"] == name:
            return dyno
    raise NotFound(f"Couldn't find that dyno ({name}).")


# --- one-off runs -------------------------------------------------------------------------

MAX_COMMAND = 10_000  # characters


def parse_run(body: object, sizes: dict) -> dict:
    """Heroku's one-off dyno body: command, attach, env, size, force_no_tty; checked."""
    if not isinstance(body, dict) or not isinstance(body.get("command"), str) or not body["command"].strip():
        raise InvalidParams('Give the command to run: {"command": "python manage.py migrate", "attach": true}.')
    unknown = set(body) - {"command", "attach", "env", "size", "force_no_tty", "type", "time_to_live", "attach_transport"}
    if unknown:
        raise InvalidParams(f"Unknown one-off dyno option: {', '.join(sorted(unknown))}.")
    if len(body["command"]) > MAX_COMMAND:
        raise InvalidParams(f"The command is longer than {MAX_COMMAND} characters.")
    attach, no_tty = body.get("attach", False), body.get("force_no_tty", False)
    if not isinstance(attach, bool) or not isinstance(no_tty, bool):
        raise InvalidParams("attach and force_no_tty must be true or false.")
    env = body.get("env") or {}
    if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()) or len(env) > 100:
        raise InvalidParams('env must be an object of names to strings: {"COLUMNS": "80"}.')
    for key in env:
        validate_config_key(key)
    size = body.get("size") or "basic"
    if size not in sizes:
        raise InvalidParams(f"Unknown dyno size {size!r}; sizes: {', '.join(sizes)}.")
    if body.get("type", "run") != "run":
        raise InvalidParams('One-off dynos are of type "run".')
    # Heroku's rendezvous unless the client asks for the API's WebSocket (the paas CLI does).
    transport = body.get("attach_transport", "rendezvous")
    if transport not in ("rendezvous", "websocket"):
        raise InvalidParams('attach_transport must be "rendezvous" (Heroku\'s) or "websocket".')
    return {"command": body["command"], "attach": attach, "tty": attach and not no_tty, "env": env, "size": size,
            "transport": transport}


# A run asked for is going on until its output ends with its exit code. Before the runner lists
# it (once it is up) it may wait this long: for a runner to take it, then for its client.
STARTING_FOR = RUN_REQUEST_TTL + ATTACH_TIMEOUT + 30


def runs_of(user: User) -> str:
    """The one-off runs asked for on the user's apps: `app/run id` by when they were asked."""
    return f"paas:one-off-dynos:{user.id}"


def one_off_dynos_running(redis, user: User, longest: float) -> int:
    """How many one-off runs on the user's apps are going on (and forget those that ended);
    `longest`: how long a run may last."""
    key, now = runs_of(user), time.time()
    redis.zremrangebyscore(key, "-inf", now - longest - STARTING_FOR)
    going = 0
    for member, asked in redis.zrange(key, 0, -1, withscores=True):
        if run_going_on(redis, *member.split("/", 1), now - asked):
            going += 1
        else:
            redis.zrem(key, member)
    return going


def run_going_on(redis, app_name: str, run_id: str, age: float) -> bool:
    channel = RunChannel(redis, run_id)
    if redis.exists(channel.request_key):
        return True  # no runner has taken it yet
    last = redis.xrevrange(channel.output_key, count=1)
    if last and "exit" in last[0][1]:
        return False
    # Listed once it is up (a runner that restarts forgets the runs of the one before it).
    return any(run["id"] == run_id for run in read_runs(redis, app_name)) or age < STARTING_FOR


def count_one_off(db, redis, settings, app, actor: User, run_id: str) -> None:
    """Count the run against the app's owner, or refuse it (429) if they have their quota's worth
    going on. Counted first, then checked: two asked at once cannot both take the last one."""
    key = runs_of(app.owner)
    redis.zadd(key, {f"{app.name}/{run_id}": time.time()})
    redis.expire(key, int(settings.one_off_timeout + STARTING_FOR) + 3600)
    going = one_off_dynos_running(redis, app.owner, settings.one_off_timeout)
    try:
        quotas.require_room(db, settings, app.owner, "one_off_dynos", in_use=going - 1, actor=actor)
    except quotas.QuotaExceeded:
        redis.zrem(key, f"{app.name}/{run_id}")
        raise


@router.post("/apps/{ident}/dynos", status_code=201)
def run(ident: str, user: UserDep, db: DbDep, platform: PlatformDep, asked: Request,
        body: Annotated[object, Body()] = None):
    """A one-off dyno of the newest release (`heroku run`). Attached: the answer's attach_url
    carries the command's stdin and output, then its exit code: Heroku's rendezvous
    (`rendezvous.py`), or with {"attach_transport": "websocket"} the WebSocket below. Detached:
    its output goes to the app's logs."""
    app = access.app_for(db, ident, user, access.DEPLOY)
    request = parse_run(body, platform.settings.dyno_sizes)
    release = releases.latest_release(db, app)  # with the config just set, as on Heroku
    if release is None or release.image is None:
        raise InvalidParams(f"{app.name} has no release to run a command in yet: deploy some code first.")
    run_id = str(uuid.uuid4())
    count_one_off(db, platform.redis, platform.settings, app, user, run_id)
    name = next_run_name(platform.redis, app.name)
    channel = RunChannel(platform.redis, run_id)
    if request["attach"]:  # its client is let in while this token may run commands on the app
        channel.grant(hash_token(token_from_authorization(asked.headers.get("authorization")) or ""), str(app.id))
    # Its request first (it carries the env: never in an event); its event then has the runner start it.
    channel.ask({**request, "app": app.name, "app_id": str(app.id), "release_id": str(release.id), "name": name, "by": user.email})
    dynos.run_asked(db, app, run_id, name, request, release)
    db.commit()
    attach_url = None
    if request["attach"]:
        signed = platform.signer.signed("", attach_path(run_id), ttl=ATTACH_TIMEOUT)
        if request["transport"] == "websocket" or not platform.settings.rendezvous_port:
            attach_url = "ws" + platform.settings.api_url.removeprefix("http") + signed
        else:
            attach_url = rendezvous.attach_url(platform.settings, signed, request["tty"])
    now = datetime.now(timezone.utc).timestamp()
    dyno = {"id": run_id, "name": name, "type": "run", "state": "starting", "size": request["size"],
            "release_id": str(release.id), "version": release.version, "created_at": now}
    return JSONResponse({**dyno_json(dyno, app), "attach_url": attach_url, "command": request["command"]}, status_code=201)


def attach_path(run_id: str) -> str:
    return f"/dynos/{run_id}/attach"


@router.websocket("/dynos/{run_id}/attach")
async def attach(websocket: WebSocket, run_id: str, signature: str | None = None, expires: str | None = None):
    """Binary frames both ways (stdin in, output out); the client sends the text frame
    {"eof": true} at the end of its input; the last frame from here is {"exit": N}. A client
    that goes away hangs up the run, as closing a terminal does; so does revoking its token."""
    platform = websocket.app.state.platform
    allowed = await run_grant(platform, run_id) if platform.signer.valid("GET", attach_path(run_id), signature, expires) else None
    if allowed is None:
        await websocket.close(code=4404, reason="no such run (the URL is not signed or expired, or its user may no longer run it)")
        return
    await websocket.accept()

    async def exited(status: int, message: str) -> None:
        await websocket.send_text(json.dumps({"exit": status, "message": message}))

    async def inputs() -> AsyncIterator[bytes | None]:
        try:
            while (message := await websocket.receive())["type"] != "websocket.disconnect":
                if message.get("bytes"):
                    yield message["bytes"]
                elif message.get("text") and json.loads(message["text"]).get("eof"):
                    yield None
        except (WebSocketDisconnect, ValueError, AttributeError):
            pass

    await relay(platform.async_redis, run_id, websocket.send_bytes, exited, inputs(), allowed)
    try:
        await websocket.close()
    except RuntimeError:  # the client closed it already
        pass
