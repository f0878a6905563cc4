"""How many live streams (an app's events as server-sent events) a user holds open at once: each
holds a Redis connection of its own while it lasts, so their number is capped per user
(`live_streams_per_user`); past it the answer is 429 until one ends. A stream holds a slot, which
it renews while it lasts (whether its client reads or not): the slot of a stream whose API
process died lapses on its own."""

import asyncio
import time
import uuid

import redis
import redis.asyncio

from paas.domain.errors import PaasError

SLOT_TTL = 45.0  # seconds a slot lasts unless renewed (a stream renews it every 15 s)


class TooManyStreams(PaasError):
    status = 429
    id = "rate_limit"


def _key(user_id: object) -> str:
    return f"paas:live-streams:{user_id}"


def take(client: redis.Redis, user_id: object, limit: int) -> str:
    """A slot for a new stream of the user's, or TooManyStreams."""
    slot, now, key = str(uuid.uuid4()), time.time(), _key(user_id)
    _, _, held, _ = (client.pipeline().zremrangebyscore(key, 0, now - SLOT_TTL).zadd(key, {slot: now})
                     .zcard(key).expire(key, int(SLOT_TTL)).execute())
    if held > limit:
        client.zrem(key, slot)
        raise TooManyStreams(f"You have {limit} live streams open, the most one may: close one (they end when "
                             "their connection closes), then try again.")
    return slot


async def keep(client: redis.asyncio.Redis, user_id: object, slot: str) -> None:
    """Renew the slot while its stream lasts (the stream cancels this when it ends)."""
    while True:
        await asyncio.sleep(SLOT_TTL / 3)
        await renew(client, user_id, slot)


async def renew(client: redis.asyncio.Redis, user_id: object, slot: str) -> None:
    await client.pipeline().zadd(_key(user_id), {slot: time.time()}).expire(_key(user_id), int(SLOT_TTL)).execute()


async def give_back(client: redis.asyncio.Redis, user_id: object, slot: str) -> None:
    await client.zrem(_key(user_id), slot)
