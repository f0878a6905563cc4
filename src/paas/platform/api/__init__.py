import time
from contextlib import aclosing

from fastapi.responses import JSONResponse, StreamingResponse

from paas.domain.errors import Forbidden, NotFound
from paas.domain.models import User
from paas.domain.pagination import Page
from paas.platform.grants import RECHECK
from paas.signing import expired

# Seconds an output URL opens for (a stream, once open, goes on until its output ends); the
# resource (GET /apps/A/builds/B) gives a new one.
OUTPUT_URL_TTL = 3600


def paged(page: Page, serialize) -> JSONResponse:
    """200 when everything fits; 206 with `Next-Range` when the client should ask for more."""
    body = [serialize(item) for item in page.items]
    if page.next_range is None:
        return JSONResponse(body)
    return JSONResponse(body, status_code=206, headers={"Next-Range": page.next_range})


def output_url(platform, path: str, user: User) -> str:
    """A build's or a release's output URL, made for `user`: it opens within the hour, while
    they still may view the app. Signed rather than authenticated, like Heroku's."""
    return platform.signer.signed(platform.settings.api_url, path, ttl=OUTPUT_URL_TTL, user=str(user.id))


def check_output_url(platform, path: str, signature: str | None, expires: str | None, user_id: str | None, what: str) -> None:
    """404 unless `output_url` made it; 403 once it expired. (The user's access is the caller's to check.)"""
    if expires is None or user_id is None or not platform.signer.matches("GET", path, signature, expires, user_id):
        raise NotFound(f"Couldn't find that {what}'s output (the URL is not signed).")
    if expired(expires):
        raise Forbidden(f"This URL of the {what}'s output has expired: the {what} (GET {path.removesuffix('/output')}) has a new one.")


def no_longer_allowed(what: str) -> Forbidden:
    return Forbidden(f"The user this URL of the {what}'s output was made for may no longer view the app.")


def streamed_output(platform, key: str, idle_timeout: float, what: str, user_id: str, app_id: str) -> StreamingResponse:
    """A build's or a release's output (the log stream `key`) as plain text, from its start,
    live until it ends, or until the URL's user may no longer view the app. Holds no thread."""

    async def lines():
        silent_since = checked = time.monotonic()
        async with aclosing(platform.followers.follow(key, tick=RECHECK / 2)) as batches:
            async for items in batches:
                now = time.monotonic()
                if items:
                    silent_since = now
                elif now - silent_since >= idle_timeout:
                    yield f"(no output for a while; the {what} may still be running)\n"
                    return
                if now - checked >= RECHECK:
                    if not await platform.grants.user_may(user_id, app_id):
                        return  # revoked, or no longer a collaborator: the stream ends
                    checked = now
                if text := "".join(item + "\n" for item in items if isinstance(item, str)):
                    yield text

    return StreamingResponse(lines(), media_type="text/plain")
