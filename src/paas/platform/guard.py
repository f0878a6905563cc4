"""Before the API reads a request's body: a caller without a valid token is refused (401), and a
body over `api_body_limit` is refused (413), declared or streamed, so nobody makes the API read
or parse more than that. Signed URLs (a tarball's upload, whose limit is its own) carry no token
and pass; the dashboard's forms carry a session instead of a token, keep the size limit, and
must come from the dashboard's own origin."""

from starlette.concurrency import run_in_threadpool

from paas.domain import accounts
from paas.domain.errors import Unauthorized
from paas.platform.auth import token_from_authorization
from paas.platform.headers import json_answer

WITH_BODY = {"POST", "PUT", "PATCH", "DELETE"}
SIGNED = ("/sources/",)  # their signature is checked by their handler, their size by theirs
SESSION = ("/dashboard/",)  # the dashboard's forms: a session cookie and a CSRF token, checked by its pages


def guarded(api, platform):
    limit = platform.settings.api_body_limit

    async def app(scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in WITH_BODY or scope["path"].startswith(SIGNED):
            return await api(scope, receive, send)
        headers = dict(scope["headers"])
        if scope["path"].startswith(SESSION) and cross_site(scope, headers):
            return await json_answer(send, 403, "forbidden", "The dashboard takes forms from its own pages only.")
        if not scope["path"].startswith(SESSION) and not await run_in_threadpool(
                _token_valid, platform, headers.get(b"authorization", b"").decode("latin-1")):
            return await json_answer(send, 401, "unauthorized", "Invalid credentials provided.")
        declared = headers.get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > limit:
            return await json_answer(send, 413, "request_too_large", f"The request body is over {limit // 1024} kB.")
        seen, started, refused = 0, False, False

        async def counted():
            # Past the limit: answered here, and the API is told the client left (it reads no more).
            nonlocal seen, refused
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit and not refused:
                refused = True
                if not started:
                    await json_answer(send, 413, "request_too_large", f"The request body is over {limit // 1024} kB.")
            return {"type": "http.disconnect"} if refused else message

        async def sending(message):
            nonlocal started
            if refused:
                return  # the 413 is the answer
            started = True
            await send(message)

        await api(scope, counted, sending)

    return app


def cross_site(scope, headers: dict) -> bool:
    """A dashboard form sent by another site's page (what browsers say of it): refused before its
    CSRF token is even read, which also keeps other sites from signing a browser in."""
    site = headers.get(b"sec-fetch-site", b"").decode("latin-1")
    if site and site not in ("same-origin", "none"):
        return True
    origin = headers.get(b"origin", b"").decode("latin-1")
    own = f"{scope.get('scheme', 'http')}://{headers.get(b'host', b'').decode('latin-1')}"
    return bool(origin) and origin != own


def _token_valid(platform, header: str) -> bool:
    token = token_from_authorization(header)
    if not token:
        return False
    with platform.sessionmaker() as db:
        try:
            accounts.user_for_token(db, token)
        except Unauthorized:
            return False
    return True
