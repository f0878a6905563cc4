"""Live stream slots (real Redis): up to the limit per user, then 429; a slot given back or
lapsed (its API process died) frees a place; renewing keeps one."""

import asyncio
import time

import pytest
import redis.asyncio

from paas.platform import live_streams
from paas.platform.live_streams import TooManyStreams


def test_slots_up_to_the_limit_then_429_and_freed_when_given_back_or_lapsed(api_settings):
    client = redis.Redis.from_url(api_settings.redis_url, decode_responses=True)
    user = f"u-{time.time_ns()}"
    first, second = live_streams.take(client, user, 2), live_streams.take(client, user, 2)
    with pytest.raises(TooManyStreams) as refused:
        live_streams.take(client, user, 2)
    assert refused.value.status == 429 and "2 live streams" in refused.value.message
    live_streams.take(client, "someone-else", 2)  # the positive control: another user's count is theirs

    async def give_back_first() -> None:
        async with redis.asyncio.Redis.from_url(api_settings.redis_url, decode_responses=True) as aclient:
            await live_streams.give_back(aclient, user, first)
            await live_streams.renew(aclient, user, second)

    asyncio.run(give_back_first())
    third = live_streams.take(client, user, 2)
    # A slot not renewed for SLOT_TTL lapses: its stream's process died without giving it back.
    client.zadd(f"paas:live-streams:{user}", {third: time.time() - live_streams.SLOT_TTL - 1})
    live_streams.take(client, user, 2)
    with pytest.raises(TooManyStreams):
        live_streams.take(client, user, 2)
