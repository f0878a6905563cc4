"""Following build and release output for many readers at once, on real Redis (the tests' own db)."""

import asyncio
import uuid

import redis

from paas.channels.output import End, LogStream
from paas.platform.followers import Followers


def new_stream(api_settings) -> LogStream:
    return LogStream(redis.Redis.from_url(api_settings.redis_url, decode_responses=True), f"paas:log:build:test-{uuid.uuid4()}")


async def read_all(followers: Followers, key: str, tick: float = 5.0, got: list | None = None) -> list:
    got = [] if got is None else got
    async for batch in followers.follow(key, tick):
        got.extend(batch)
    return got


def test_every_reader_gets_every_line_once_in_order_whenever_it_comes(api_settings):
    stream = new_stream(api_settings)
    followers = Followers(api_settings.redis_url)

    async def scenario():
        for i in range(3):
            stream.write(f"line {i}")
        early = [asyncio.create_task(read_all(followers, stream.key)) for _ in range(200)]
        await asyncio.sleep(0.3)  # not a wait: the early readers are reading when more lines come
        for i in range(3, 600):  # more than one batch's worth, while they read
            stream.write(f"line {i}")
            if i == 300:
                late = asyncio.create_task(read_all(followers, stream.key))
                await asyncio.sleep(0.1)  # the same: a reader that joins half way through
        stream.end(True)
        readers = await asyncio.wait_for(asyncio.gather(*early, late), 30)
        for got in readers:
            assert got[:-1] == [f"line {i}" for i in range(600)] and isinstance(got[-1], End) and got[-1].ok
        # Nothing is left behind: no reader, no key followed, no task reading news (it ends soon after).
        for _ in range(100):
            if followers.readers == {} and followers.after == {} and followers.news is None:
                break
            await asyncio.sleep(0.02)
        assert followers.readers == {} and followers.after == {} and followers.news is None

    try:
        asyncio.run(scenario())
    finally:
        stream.client.delete(stream.key)


def test_a_reader_that_leaves_is_forgotten_and_silence_is_told(api_settings):
    stream = new_stream(api_settings)
    followers = Followers(api_settings.redis_url)

    async def scenario():
        stream.write("first")
        got: list = []
        leaving = asyncio.create_task(read_all(followers, stream.key, got=got))
        ticks = []

        async def ticking():
            async for batch in followers.follow(stream.key, tick=0.2):
                ticks.append(batch)
                if len(ticks) == 3:
                    return

        await asyncio.wait_for(ticking(), 10)
        assert ticks == [["first"], [], []]  # what was there, then nothing twice
        assert got == ["first"] and set(followers.readers[stream.key]) and not leaving.done()
        leaving.cancel()  # as a client that closes its connection
        await asyncio.gather(leaving, return_exceptions=True)
        assert followers.readers == {} and followers.after == {}
        # The next reader starts afresh, and a stream that does not exist yet is waited for.
        later = f"{stream.key}-later"
        reader = asyncio.create_task(read_all(followers, later))
        await asyncio.sleep(0.3)  # not a wait: the reader is waiting before the stream exists
        LogStream(stream.client, later).write("born late")
        LogStream(stream.client, later).end(False, reason="x")
        got = await asyncio.wait_for(reader, 10)
        assert got[0] == "born late" and got[1] == End(ok=False, detail={"reason": "x"})
        stream.client.delete(later)

    try:
        asyncio.run(scenario())
    finally:
        stream.client.delete(stream.key)
