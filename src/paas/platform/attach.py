"""An attached client's side of a one-off run: its output and exit code from the run's channel,
its input into it. The transports (the API's WebSocket, Heroku's rendezvous) only frame bytes."""

import asyncio
import base64
from collections.abc import AsyncIterator, Awaitable, Callable

import redis.asyncio

from paas import messages

NO_RUNNER = "no runner took the run in time: is the paas runner running?"


async def relay(client: redis.asyncio.Redis, run_id: str, output: Callable[[bytes], Awaitable[None]],
                exited: Callable[[int, str], Awaitable[None]], inputs: AsyncIterator[bytes | None]) -> None:
    """Until the run ends (`exited` is told its status) or the client goes (its `inputs` end:
    the run is hung up, as closing a terminal does). `inputs` yields stdin bytes, None at the
    end of input."""
    channel = messages.RunChannel(client, run_id)
    await client.xadd(channel.input_key, {"event": "attached"})
    await client.expire(channel.input_key, messages.STREAM_TTL_SECONDS)

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

    tasks = [asyncio.create_task(send_output()), asyncio.create_task(take_input())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await client.xadd(channel.input_key, {"event": "hangup"})  # ended, or nobody listens any more
