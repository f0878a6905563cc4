"""Heroku's API rate limit: a token may make `api_rate_limit` requests an hour (4,500, as on
Heroku). Every answer to a request with a token says how many it has left (`RateLimit-Remaining`);
past the limit the answer is 429 `rate_limit`. The count is in Redis, by token and hour, so every
API process shares it; only the token's hash is used as the key."""

import time

from starlette.concurrency import run_in_threadpool

from paas.domain.accounts import hash_token
from paas.platform.auth import token_from_authorization
from paas.platform.headers import adding_header, json_answer

WINDOW = 3600


def counted(redis, key: str) -> int:
    """This request's number in the token's hour (the plain client: an asyncio one is bound to
    the event loop it was first used on, and the API's tests run several)."""
    with redis.pipeline(transaction=True) as pipe:
        count, _ = pipe.incr(key).expire(key, WINDOW).execute()
    return count


def rate_limited(app, platform):
    limit = platform.settings.api_rate_limit

    async def wrapped(scope, receive, send):
        token = None
        if scope["type"] == "http":
            token = token_from_authorization(dict(scope["headers"]).get(b"authorization", b"").decode("latin-1"))
        if not token:
            return await app(scope, receive, send)
        count = await run_in_threadpool(counted, platform.redis, f"paas:rate:{hash_token(token)}:{int(time.time() // WINDOW)}")
        remaining = str(max(limit - count, 0)).encode()
        if count > limit:
            return await json_answer(send, 429, "rate_limit", "Your account reached the API rate limit; try again within the hour.",
                                     ((b"ratelimit-remaining", remaining),))
        await app(scope, receive, adding_header(send, b"ratelimit-remaining", remaining))

    return wrapped
