"""What every answer carries and every API request may ask, as Heroku's API does: a `Request-Id`
(the client's own `X-Request-Id` when it sent a sane one, so its logs and ours line up), and the
API version: `Accept: application/vnd.heroku+json; version=3` (or 3.<variant>) is what paas
speaks; another version is refused (406) rather than answered in shapes the client did not ask for."""

import json
import re
import uuid

REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,200}")
VERSION = re.compile(r"application/vnd\.heroku\+json\s*;\s*version\s*=\s*([^\s;,]+)", re.IGNORECASE)


async def json_answer(send, status: int, id_: str, message: str, headers: tuple = ()) -> None:
    """An error answered straight from ASGI (before the API runs), in the API's own shape."""
    body = json.dumps({"id": id_, "message": message}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": body})


def adding_header(send, name: bytes, value: bytes):
    """`send`, with one more header on the answer."""
    async def sending(message):
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), (name, value)]}
        await send(message)

    return sending


def with_request_ids(app):
    async def wrapped(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = (given if REQUEST_ID.fullmatch(given) else str(uuid.uuid4())).encode()
        # nosniff: a browser takes each answer as its declared type (and streams plain text as
        # it comes instead of holding it back to guess its type).
        await app(scope, receive, adding_header(adding_header(send, b"request-id", request_id), b"x-content-type-options", b"nosniff"))

    return wrapped


def versioned(app):
    async def wrapped(scope, receive, send):
        if scope["type"] == "http":
            accept = dict(scope["headers"]).get(b"accept", b"").decode("latin-1")
            wanted = VERSION.search(accept)
            if wanted and not re.fullmatch(r"3(\.[A-Za-z0-9_-]+)?", wanted.group(1)):
                return await json_answer(send, 406, "not_acceptable", f"This API speaks version 3, not {wanted.group(1)!r}.")
        await app(scope, receive, send)

    return wrapped
