"""What every dashboard page shares: templates, static files with their integrity hashes, the
headers (a Content-Security-Policy with no inline script), the session cookie and CSRF tokens.

A session is a random token in an HttpOnly cookie (Secure when served over HTTPS, SameSite=Lax,
Path=/dashboard), looked up on every request, so signing out, expiry or a disabled user end it
at once. Every form carries a CSRF token derived from the session (an HMAC under the platform's
secret): a page of another site can make the browser post, but cannot know the token.
"""

import base64
import hashlib
import hmac
import logging
import re
from dataclasses import dataclass
from importlib import resources
from typing import Annotated

from fastapi import Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy.orm import Session

from paas.domain import access, audit, events, sign_in
from paas.domain.accounts import hash_token
from paas.domain.errors import Forbidden, PaasError
from paas.domain.models import User
from paas.platform.deps import get_db

PREFIX = "/dashboard"
COOKIE = "paas_session"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
HEADERS = {"content-security-policy": CSP, "referrer-policy": "same-origin",
           "cache-control": "no-store"}
STATIC = resources.files("paas.dashboard") / "static"
SCRIPTS = ("htmx-2.0.11.min.js", "uplot-1.6.32.min.js", "dashboard.js")
STYLES = ("uplot-1.6.32.min.css", "dashboard.css")


def password_url(settings, token: str) -> str:
    """Where a user sets their password with a one-time link's token."""
    return f"{settings.api_url}{PREFIX}/set-password?token={token}"


def integrity(name: str) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384((STATIC / name).read_bytes()).digest()).decode()


templates = Environment(loader=PackageLoader("paas.dashboard"), autoescape=select_autoescape(default=True))
templates.globals.update(prefix=PREFIX, assets={name: integrity(name) for name in SCRIPTS + STYLES},
                         scripts=SCRIPTS, styles=STYLES)


class SignInNeeded(Exception):
    """No live session: the browser is sent to the sign-in page."""


def page(request: Request, template: str, status: int = 200, **context) -> HTMLResponse:
    viewer = getattr(request.state, "viewer", None)
    body = templates.get_template(template).render(request=request, viewer=viewer, **context)
    return HTMLResponse(body, status_code=status, headers=HEADERS)


def error_page(request: Request, error: PaasError) -> HTMLResponse:
    return page(request, "error.html", status=error.status, error=error)


def see_other(path: str) -> RedirectResponse:
    """After a form's POST: the browser GETs the page again (a reload posts nothing twice)."""
    return RedirectResponse(PREFIX + path, status_code=303, headers=HEADERS)


def csrf_token(request: Request, session_token: str) -> str:
    key = request.app.state.platform.signer.key
    return hmac.new(key, b"dashboard csrf\0" + hash_token(session_token).encode(), hashlib.sha256).hexdigest()


@dataclass
class Viewer:
    user: User
    csrf: str
    # What every page shows of the user, read once: an error page must not need the database.
    email: str = ""
    is_admin: bool = False


def signed_in(request: Request, db: Annotated[Session, Depends(get_db)]) -> Viewer:
    token = request.cookies.get(COOKIE)
    user = sign_in.session_user(db, token)
    if user is None:
        raise SignInNeeded()
    events.act_as(db, user)
    request.state.viewer = Viewer(user, csrf_token(request, token), user.email, user.is_admin)
    return request.state.viewer


def acting(request: Request, db: Annotated[Session, Depends(get_db)], viewer: Annotated[Viewer, Depends(signed_in)],
           csrf: Annotated[str, Form()] = "") -> Viewer:
    """A form's POST: the session's user, once its CSRF token is checked (403 without it).
    The change is in the audit log like the API's."""
    if not hmac.compare_digest(csrf.encode(), viewer.csrf.encode()):
        raise Forbidden("This form was not sent by the dashboard's own page (its CSRF token is missing or wrong): reload the page and try again.")
    audit.record_on_commit(db, viewer.user.email, request.method, request.url.path)
    return viewer


def viewing(db: Session, viewer: Viewer, name: str):
    """The app, if the user may view it (else the API's 404), and what else they may do to it."""
    app = access.app_for(db, name, viewer.user, access.VIEW)
    return app, access.permissions(db, app, viewer.user)


SignedIn = Annotated[Viewer, Depends(signed_in)]
Acting = Annotated[Viewer, Depends(acting)]


LINK_TOKEN = re.compile(r"(/set-password\?(?:.*&)?token=)[^&\s]*")


class HideLinkTokens(logging.Filter):
    """The access log never holds a one-time link's token (uvicorn logs each request's path)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(LINK_TOKEN.sub(r"\1(hidden)", a) if isinstance(a, str) else a for a in record.args)
        return True
