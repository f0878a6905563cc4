"""Log sessions (Heroku's Log Session resource): `POST /apps/{app}/log-sessions` answers a
`logplex_url` that streams the app's logs in Heroku's line format, as `heroku logs` reads it.

The URL names a session kept a few minutes in Redis with what it shows (lines, tail, dyno,
source) and is signed, so the client fetches it without the API token, as from logplex.
Plain text lines, or server-sent events (`data: <line>`) for a client that asks for
`text/event-stream`, as the Heroku CLI (v9 and later) does.
"""

import json
import re
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timezone
from typing import Annotated

from fastapi import APIRouter, Body, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse

from paas import logs
from paas.domain import access, accounts
from paas.domain.errors import InvalidParams, NotFound
from paas.platform.auth import token_from_authorization
from paas.platform.deps import DbDep, PlatformDep, UserDep
from paas.platform.grants import RECHECK

router = APIRouter()

DEFAULT_LINES = 100  # Heroku's
SESSION_TTL = 300  # seconds to start reading a session's URL
DYNO = re.compile(r"[a-z][a-z0-9_-]{0,29}(\.[0-9]{1,6})?")


def session_key(session_id: str) -> str:
    return f"paas:log-session:{session_id}"


def parse_session(body: object, max_lines: int) -> dict:
    """The session's options from the request body, checked; Heroku's defaults."""
    body = {} if body is None else body
    if not isinstance(body, dict):
        raise InvalidParams('Give the log session as a JSON object: {"lines": 100, "tail": false, "dyno": "web.1", "source": "app"}.')
    unknown = set(body) - {"lines", "tail", "dyno", "source"}
    if unknown:
        raise InvalidParams(f"Unknown log session option: {', '.join(sorted(unknown))}.")
    lines = body.get("lines", DEFAULT_LINES)
    if isinstance(lines, bool) or not isinstance(lines, int) or not 0 <= lines <= max_lines:
        raise InvalidParams(f"lines must be a number from 0 to {max_lines}.")
    tail = body.get("tail", False)
    if not isinstance(tail, bool):
        raise InvalidParams("tail must be true or false.")
    dyno, source = body.get("dyno"), body.get("source")
    if dyno is not None and (not isinstance(dyno, str) or not DYNO.fullmatch(dyno)):
        raise InvalidParams("dyno must be a process type (web) or a dyno name (web.1).")
    if source is not None and source not in logs.SOURCES:
        raise InvalidParams(f"source must be one of {', '.join(logs.SOURCES)}.")
    return {"lines": lines, "tail": tail, "dyno": dyno, "source": source}


@router.post("/apps/{ident}/log-sessions", status_code=201)
def create_log_session(ident: str, request: Request, user: UserDep, db: DbDep, platform: PlatformDep,
                       body: Annotated[object, Body()] = None):
    app = access.app_for(db, ident, user, access.VIEW)
    options = parse_session(body, platform.settings.log_lines)
    session_id = secrets.token_hex(16)
    # The token's hash, never the token: a tail asks again whether the token may still read.
    token_hash = accounts.hash_token(token_from_authorization(request.headers.get("authorization")) or "")
    platform.redis.set(session_key(session_id), json.dumps({"app_id": str(app.id), "token_hash": token_hash, **options}),
                       ex=SESSION_TTL)
    now = datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
    url = platform.signer.signed(platform.settings.api_url, f"/log-sessions/{session_id}", ttl=SESSION_TTL)
    return JSONResponse({"id": session_id, "logplex_url": url, "created_at": now, "updated_at": now}, status_code=201)


@router.get("/log-sessions/{session_id}")
async def read_log_session(session_id: str, request: Request, platform: PlatformDep,
                           signature: Annotated[str | None, Query()] = None, expires: Annotated[str | None, Query()] = None):
    path = f"/log-sessions/{session_id}"
    signed = platform.signer.valid("GET", path, signature, expires)
    stored = await platform.async_redis.get(session_key(session_id)) if signed else None
    if stored is None:
        raise NotFound("Couldn't find that log session (its URL is not signed, or it expired).")
    options = json.loads(stored)

    def still_allowed() -> Awaitable[bool]:  # checks shared with every open answer (grants.py)
        return platform.grants.token_may(options.get("token_hash") or "", options["app_id"], access.VIEW)

    if not await still_allowed():  # revoked since the session was made
        raise NotFound("Couldn't find that log session (its URL is not signed, or it expired).")
    return await tail_response(platform, options["app_id"], options, still_allowed,
                               "text/event-stream" in request.headers.get("accept", ""))


async def tail_response(platform, app_id: str, options: dict, still_allowed: Callable[[], Awaitable[bool]], events: bool):
    """The app's recent lines (`options`: lines, tail, dyno, source), then, with tail, each new
    one until the app goes or `still_allowed()` (asked every RECHECK seconds) says no more:
    as plain text lines, or as server-sent events."""
    def framed(line: logs.LogLine) -> str:
        return f"data: {line.format()}\n\n" if events else line.format() + "\n"

    media_type = "text/event-stream" if events else "text/plain; charset=utf-8"
    wanted = logs.LogFilter(options["dyno"], options["source"])
    recent, last_id = await run_in_threadpool(platform.logs.recent, app_id, options["lines"], wanted)
    text = "".join(map(framed, recent))
    if not options["tail"]:
        return PlainTextResponse(text, media_type=media_type)

    async def tail() -> AsyncIterator[str]:
        yield text
        checked = time.monotonic()
        async for line in logs.follow(platform.async_redis, app_id, last_id, wanted):  # ends with the app
            if time.monotonic() - checked >= RECHECK:
                if not await still_allowed():
                    return  # the token was revoked, or its user lost access: the stream ends
                checked = time.monotonic()
            # Silence answers nothing: a client that left is noticed by the server on its own.
            if line is not None:
                yield framed(line)

    return StreamingResponse(tail(), media_type=media_type, headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
