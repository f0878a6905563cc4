"""An app's events, for whoever may view the app: the latest as JSON (or those after a position),
or live as server-sent events (`Accept: text/event-stream`) from now, each with its position as
the SSE id, so a client that reconnects with `Last-Event-ID` goes on where it stopped, missing
nothing and nothing twice.
A stream holds no database connection while it waits: the publisher tells it (in Redis) that
an app has new events, and it reads them then. A user holds a few streams at most at once
(paas.platform.live_streams)."""

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import Annotated

import anyio
from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from sqlalchemy import func, select

from paas.domain import access, accounts, events
from paas.domain.errors import InvalidParams
from paas.domain.models import Event
from paas.platform.auth import token_from_authorization
from paas.platform.deps import DbDep, PlatformDep, UserDep
from paas.platform import live_streams
from paas.platform.grants import RECHECK
from paas.publisher import live_channel

router = APIRouter()
BATCH = 500  # events read at once
KEEP_ALIVE = 15.0  # seconds of silence before a comment line (proxies close idle streams)


def position(value: str | None) -> int:
    if value is None:
        return 0
    if not value.isdecimal() or len(value) > 18:
        raise InvalidParams("Last-Event-ID (or after) is an event's sequence number.")
    return int(value)


@router.get("/apps/{ident}/events")
def list_events(ident: str, user: UserDep, db: DbDep, request: Request, platform: PlatformDep,
                after: Annotated[str | None, Query()] = None, max: Annotated[int, Query(ge=1, le=1000)] = 100,
                last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None):
    app = access.app_for(db, ident, user, access.VIEW)
    if "text/event-stream" in request.headers.get("accept", ""):
        # From where the client stopped, or from now (a history is the JSON list's, a page at a time).
        given = last_event_id if last_event_id is not None else after
        start = position(given) if given is not None else start_position(db, app)
        token_hash = accounts.hash_token(token_from_authorization(request.headers.get("authorization")) or "")
        slot = live_streams.take(platform.redis, user.id, platform.settings.live_streams_per_user)
        db.close()  # a stream may last hours: its connection goes back to the pool now
        still_may = partial(platform.grants.token_may, token_hash, str(app.id), access.VIEW)
        return event_stream(follow(platform, str(app.id), still_may, start, (user.id, slot)))
    start = position(last_event_id if last_event_id is not None else after)
    if after is None and last_event_id is None:  # the latest `max`, oldest first
        latest = db.scalars(select(Event).where(Event.app_id == app.id, Event.position.is_not(None))
                            .order_by(Event.position.desc()).limit(max))
        return [events.as_json(e) for e in reversed(list(latest))]
    return [events.as_json(e) for e in db.scalars(events.of_app(app.id, start).limit(max))]


def event_stream(lines: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(lines, media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def start_position(db, app) -> int:
    """Now, in the app's events: a stream from here shows what happens next."""
    return db.scalar(select(func.coalesce(func.max(Event.position), 0)).where(Event.app_id == app.id))


async def follow(platform, app_id: str, still_may: Callable[[], Awaitable[bool]], after: int, slot: tuple) -> AsyncIterator[str]:
    """The app's events after `after`, then each as it is published, until the app is destroyed
    or `still_may()` (asked every RECHECK seconds: the token, or the dashboard's session) says
    the viewer may no longer view it. `slot`: the user's and the stream's (live_streams)."""

    def read(after: int) -> list[Event]:
        with platform.sessionmaker() as db:  # only while it reads
            return list(db.scalars(events.of_app(app_id, after).limit(BATCH)))

    pubsub = platform.async_redis.pubsub()
    await pubsub.subscribe(live_channel(app_id))  # before the first read: nothing falls between
    # Renewed on its own: a client that stops reading blocks this generator, not its slot's count.
    keeping = asyncio.ensure_future(live_streams.keep(platform.async_redis, *slot))
    try:
        yield ": open\n\n"  # the answer's headers go now: a browser's EventSource opens at once
        checked = time.monotonic()
        while True:
            while found := await run_in_threadpool(read, after):
                for event in found:
                    after = event.position
                    yield f"id: {after}\nevent: {event.resource}\ndata: {json.dumps(events.as_json(event))}\n\n"
                    if (event.resource, event.action) == ("app", "destroy"):
                        return
            if time.monotonic() - checked >= RECHECK:
                if not await still_may():
                    return
                checked = time.monotonic()
            if await pubsub.get_message(ignore_subscribe_messages=True, timeout=KEEP_ALIVE) is None:
                yield ": keep-alive\n\n"
    finally:
        with anyio.CancelScope(shield=True):  # a client that went away cancels the stream: this still runs
            keeping.cancel()
            await live_streams.give_back(platform.async_redis, *slot)
            await pubsub.unsubscribe()
            await pubsub.aclose()
