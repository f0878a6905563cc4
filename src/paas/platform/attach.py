"""An attached client's side of a one-off run: its output and exit code from the run's channel,
its input into it. The transports (the API's WebSocket, Heroku's rendezvous) only frame bytes.
A client is let in only while the token that asked for the run may still run commands on the
app, and that is asked again every few seconds: a revoked token or a removed collaborator ends
the run."""

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import redis.asyncio

from paas.channels.output import STREAM_TTL_SECONDS
from paas.channels.runs import RunChannel
from paas.domain import access
from paas.platform.grants import RECHECK

NO_RUNNER = "no runner took the run in time: is the paas runner running?"
REVOKED = "the run was stopped: its user may no longer run commands on the app"

Allowed = Callable[[], Awaitable[bool]]


async def run_grant(platform, run_id: str) -> Allowed | None:
    """How to ask whether the run's client may stay attached; None if it may not attach."""
    stored = await platform.async_redis.get(RunChannel(platform.async_redis, run_id).grant_key)
    if stored is None:
        return None
    grant = json.loads(stored)

    def allowed() -> Awaitable[bool]:
        return platform.grants.token_may(grant["token_hash"], grant["app_id"], access.DEPLOY)

    return allowed if await allowed() else None


async def relay(client: redis.asyncio.Redis, run_id: str, output: Callable[[bytes], Awaitable[None]],
                exited: Callable[[int, str], Awaitable[None]], inputs: AsyncIterator[bytes | None], allowed: Allowed) -> None:
    """Until the run ends (`exited` is told its status), the client goes (its `inputs` end) or
    `allowed` says no more (`exited` is told why): the run is hung up, as closing a terminal
    does. `inputs` yields stdin bytes, None at the end of input."""
    channel = RunChannel(client, run_id)
    await client.xadd(channel.input_key, {"event": "attached"})
    await client.expire(channel.input_key, STREAM_TTL_SECONDS)

    async def send_output() -> None:
        last = "0-0"
        while True:
            batch = await client.xread({channel.output_key: last}, block=5000, count=100)
            if not batch and last == "0-0" and not await client.exists(channel.request_key):
                await exited(-1, NO_RUNNER)
                return
            for _key, entries in batch or []:
                for last, fields in entries:
                    if "data" in fields:
                        await output(base64.b64decode(fields["data"]))
                    elif "exit" in fields:
                        await exited(int(fields["exit"]), fields.get("message", ""))
                        return

    async def take_input() -> None:
        async for data in inputs:
            if data is None:
                await client.xadd(channel.input_key, {"event": "eof"})
            elif data:
                encoded = base64.b64encode(data).decode()
                await client.xadd(channel.input_key, {"data": encoded}, maxlen=10_000, approximate=True)

    async def watch_access() -> None:
        """Returns once the run's user may no longer run it."""
        while await allowed():
            await asyncio.sleep(RECHECK)

    tasks = [asyncio.create_task(send_output()), asyncio.create_task(take_input()), asyncio.create_task(watch_access())]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks)  # none of them sends any more
        await client.xadd(channel.input_key, {"event": "hangup"})  # ended, or nobody listens any more
    if tasks[2] in done:
        await exited(-1, REVOKED)

