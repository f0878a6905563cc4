"""The platform's ASGI app: the REST API (FastAPI) and the git receiver (dulwich via a2wsgi).

Run with `uvicorn paas.platform.app:create_app --factory`.
"""

import logging
import re

from a2wsgi import WSGIMiddleware
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException

from paas.dashboard import account as dashboard_account
from paas.dashboard import admin as dashboard_admin
from paas.dashboard import app_pages as dashboard_app_pages
from paas.dashboard import pages as dashboard
from paas.dashboard.web import PREFIX as DASHBOARD, STATIC, HideLinkTokens, SignInNeeded, error_page
from paas.domain.errors import Conflict, InvalidParams, PaasError
from paas.memory import release_periodically
from paas.platform.api import (
    accounts,
    addons,
    app_setups,
    apps,
    buildpack_registry,
    builds,
    collaborators,
    config_vars,
    domains,
    dynos,
    events,
    formation,
    links,
    log_sessions,
    metrics,
    nodes,
    pipelines,
    registry_token,
    releases,
    review_apps,
    router_tls,
    scheduled_jobs,
    sources,
    stacks,
    teams,
    webhooks,
)
from paas.platform.context import Platform
from paas.platform.git import make_git_app
from paas.platform.guard import guarded
from paas.platform.headers import versioned, with_request_ids
from paas.platform.ratelimit import rate_limited
from paas.platform.rendezvous import Rendezvous
from paas.settings import Settings, get_settings

GIT_PATH = re.compile(r"^/[^/]+\.git(/|$)")
# Each push holds one worker thread while its build runs: this is how many pushes run at once.
GIT_WORKERS = 16
log = logging.getLogger(__name__)


def error(status: int, id_: str, message: str, details: dict | None = None) -> JSONResponse:
    return JSONResponse({"id": id_, "message": message, **(details or {})}, status_code=status)


def make_api(platform: Platform) -> FastAPI:
    api = FastAPI(title="paas", version="0.1.0")
    api.state.platform = platform
    for module in (accounts, addons, app_setups, apps, buildpack_registry, builds, collaborators, config_vars, domains, dynos, events, formation, links, log_sessions,
                   metrics, nodes, pipelines, registry_token, releases, review_apps, router_tls, scheduled_jobs, sources, stacks, teams, webhooks):
        api.include_router(module.router)
    for pages in (dashboard, dashboard_app_pages, dashboard_account, dashboard_admin):
        api.include_router(pages.router)
    api.mount(DASHBOARD + "/static", StaticFiles(directory=str(STATIC)), name="dashboard-static")

    @api.get("/", include_in_schema=False)
    def root(request: Request):
        """A browser gets the dashboard; an API client the API's usual 404."""
        if "text/html" in request.headers.get("accept", ""):
            return RedirectResponse(DASHBOARD + "/apps", status_code=303)
        return error(404, "not_found", "Not Found")

    @api.exception_handler(PaasError)
    def paas_error(request: Request, exc: PaasError):
        if request.url.path.startswith(DASHBOARD + "/"):
            return error_page(request, exc)
        return error(exc.status, exc.id, exc.message, exc.details)

    @api.exception_handler(SignInNeeded)
    def sign_in_needed(request: Request, exc: SignInNeeded):
        return RedirectResponse(DASHBOARD + "/sign-in", status_code=303)

    @api.exception_handler(RequestValidationError)
    def invalid(request: Request, exc: RequestValidationError):
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            return error(400, "bad_request", "The request body is not valid JSON.")
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return paas_error(request, InvalidParams(problems or "Invalid request."))

    @api.exception_handler(IntegrityError)
    def conflict(request: Request, exc: IntegrityError):
        # Two requests made the same thing at once (a name, a link): the later one is refused.
        return paas_error(request, Conflict("That conflicts with a change made at the same time; try again."))

    @api.exception_handler(DataError)
    def unstorable(request: Request, exc: DataError):
        # A value the database cannot hold, such as text with a NUL byte: the client's input.
        return paas_error(request, PaasError("The request holds a value that cannot be stored (a NUL byte?)."))

    @api.exception_handler(Exception)
    def crashed(request: Request, exc: Exception):
        # The platform's fault: the client gets the usual shape, the log gets the detail.
        log.error("%s %s crashed", request.method, request.url.path, exc_info=exc)
        return error(500, "internal_server_error", "Something went wrong inside paas; the request did nothing more.")

    @api.exception_handler(HTTPException)
    def http_error(request: Request, exc: HTTPException):
        ids = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}
        return error(exc.status_code, ids.get(exc.status_code, "bad_request"), str(exc.detail))

    return api


def create_app(settings: Settings | None = None):
    platform = Platform.from_settings(settings or get_settings())
    release_periodically(30.0)
    access_log = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, HideLinkTokens) for f in access_log.filters):
        access_log.addFilter(HideLinkTokens())
    api = make_api(platform)
    front = versioned(rate_limited(guarded(api, platform), platform))
    git = WSGIMiddleware(make_git_app(platform), workers=GIT_WORKERS)

    async def route(scope, receive, send):
        if scope["type"] == "http" and GIT_PATH.match(scope["path"]):
            await git(scope, receive, send)
        else:
            await front(scope, receive, send)

    app = with_request_ids(route)
    app.api = api  # tests reach dependency overrides and state through this
    return serving_rendezvous(app, Rendezvous(platform))


def serving_rendezvous(app, rendezvous: Rendezvous):
    """The app, with Heroku's rendezvous (for `heroku run`) served beside it while the server runs."""

    async def with_rendezvous(scope, receive, send):
        if scope["type"] != "lifespan":
            return await app(scope, receive, send)
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await rendezvous.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await rendezvous.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    with_rendezvous.api = app.api
    return with_rendezvous
