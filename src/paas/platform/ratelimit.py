"""Heroku's API rate limit: a user may make `api_rate_limit` requests an hour (4,500, as on
Heroku), all their tokens together: tokens cost nothing to make, so a limit per token would
bind nobody. Every answer to a request with a valid token says how many the user has left
(`RateLimit-Remaining`); past the limit the answer is 429 `rate_limit`. The count is in Redis,
by user and hour, so every API process shares it. A token that is no user's is not counted:
the API refuses it anyway."""

import threading
import time

from starlette.concurrency import run_in_threadpool

from paas.domain.accounts import hash_token, user_for_token_hash
from paas.platform.auth import token_from_authorization
from paas.platform.headers import adding_header, json_answer

WINDOW = 3600
OWNER_TTL = 60.0  # seconds a token's user is remembered (a revoked token is refused by the API itself)
OWNERS_KEPT = 10_000


def hour_key(user_id: str) -> str:
    return f"paas:rate:user:{user_id}:{int(time.time() // WINDOW)}"


def counted(redis, key: str) -> int:
    """This request's number in the user's hour (the plain client: an asyncio one is bound to
    the event loop it was first used on, and the API's tests run several)."""
    with redis.pipeline(transaction=True) as pipe:
        count, _ = pipe.incr(key).expire(key, WINDOW).execute()
    return count


def remaining(redis, limit: int, user_id: str) -> int:
    return max(limit - int(redis.get(hour_key(user_id)) or 0), 0)


class TokenOwners:
    """Which user a token (by its hash) belongs to, remembered a minute, so that counting costs
    no query per request. Tokens that are no user's are not remembered: a new one works at once."""

    def __init__(self, platform):
        self.platform = platform
        self.known: dict[str, tuple[str, float]] = {}
        self.lock = threading.Lock()

    def user_id(self, token_hash: str) -> str | None:
        now = time.monotonic()
        found = self.known.get(token_hash)
        if found and found[1] > now:
            return found[0]
        with self.platform.sessionmaker() as db:
            user = user_for_token_hash(db, token_hash)
        if user is None:
            return None
        with self.lock:
            if len(self.known) >= OWNERS_KEPT:
                self.known.clear()
            self.known[token_hash] = (str(user.id), now + OWNER_TTL)
        return str(user.id)


def rate_limited(app, platform):
    limit = platform.settings.api_rate_limit
    owners = TokenOwners(platform)

    def count(token: str) -> int | None:
        user_id = owners.user_id(hash_token(token))
        return None if user_id is None else counted(platform.redis, hour_key(user_id))

    async def wrapped(scope, receive, send):
        token = None
        if scope["type"] == "http":
            token = token_from_authorization(dict(scope["headers"]).get(b"authorization", b"").decode("latin-1"))
        number = await run_in_threadpool(count, token) if token else None
        if number is None:
            return await app(scope, receive, send)
        left = str(max(limit - number, 0)).encode()
        if number > limit:
            return await json_answer(send, 429, "rate_limit", "Your account reached the API rate limit (all its tokens "
                                     "together); try again within the hour.", ((b"ratelimit-remaining", left),))
        await app(scope, receive, adding_header(send, b"ratelimit-remaining", left))

    return wrapped
