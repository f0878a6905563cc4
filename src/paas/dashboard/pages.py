"""The dashboard's pages (server-rendered; htmx only makes forms and links swap the page body).

Each page asks the same domain services, with the same permissions, as the API: a user sees and
does exactly what the API allows them; controls they may not use are not shown, and posting to
them anyway is refused (403). Every form posts, then redirects back to its page.
"""

import time
from datetime import timedelta
from functools import partial
from typing import Annotated
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from sqlalchemy import func, or_, select

from paas.channels.dynos import read_dynos, read_dynos_of, read_runs
from paas.dashboard.app_pages import PLANS
from paas.dashboard.limits import SignInLimits
from paas.dashboard.web import COOKIE, PREFIX, Acting, SignedIn, SignInNeeded, page, see_other, viewing
from paas.domain import access, audit, builds, config, events, formation, releases, sign_in
from paas.domain.models import App, Build, Event, Release
from paas.logs import SOURCES, api_lines
from paas.metrics.store import Store
from paas.platform import live_streams
from paas.platform.api import addons as addons_api
from paas.platform.api import output_url
from paas.platform.api.builds import output_path
from paas.platform.api.events import event_stream, follow, start_position
from paas.platform.api.formation import scale
from paas.platform.api.log_sessions import parse_session, tail_response
from paas.platform.api.metrics import read_metrics
from paas.platform.deps import CipherDep, DbDep, PlatformDep, RedisDep, SettingsDep

router = APIRouter(prefix=PREFIX, include_in_schema=False)
RECENT = 20  # releases, builds and events an app's pages show
APPS_SHOWN = 200  # the apps page's longest list: past it, a search narrows it down


@router.get("")
@router.get("/")
def home():
    return RedirectResponse(PREFIX + "/apps", status_code=303)


@router.get("/sign-in")
def sign_in_form(request: Request):
    return page(request, "sign_in.html")


@router.post("/sign-in")
def sign_in_post(request: Request, db: DbDep, platform: PlatformDep, email: Annotated[str, Form(max_length=300)] = "",
                 password: Annotated[str, Form(max_length=300)] = ""):
    limits = SignInLimits(platform.redis, platform.signer.key, platform.settings.sign_in_attempts)
    address = request.client.host if request.client else ""
    limits.attempt(email, address)
    user = sign_in.user_for_password(db, email, password)
    audit.record_on_commit(db, (user.email if user else email.strip().replace("\0", ""))[:254] or "(no email)", "POST",
                           "/dashboard/sign-in" if user else "/dashboard/sign-in (failed)")
    if user is None:
        db.commit()
        return page(request, "sign_in.html", status=401, email=email, failed=True)
    limits.succeeded(email, address)
    sign_in.end_session(db, request.cookies.get(COOKIE, ""))  # the browser's previous one, if any
    lifetime = timedelta(hours=platform.settings.dashboard_session_hours)
    token = sign_in.start_session(db, user, lifetime)
    db.commit()
    answer = see_other("/apps")
    answer.set_cookie(COOKIE, token, max_age=int(lifetime.total_seconds()), path=PREFIX, httponly=True,
                      secure=request.url.scheme == "https", samesite="lax")
    return answer


@router.post("/sign-out")
def sign_out(request: Request, db: DbDep, viewer: Acting):
    sign_in.end_session(db, request.cookies.get(COOKIE, ""))
    db.commit()
    answer = see_other("/sign-in")
    answer.delete_cookie(COOKIE, path=PREFIX)
    answer.headers["clear-site-data"] = '"cache", "storage"'  # what the pages left in the browser
    return answer


@router.get("/set-password")
def set_password_form(request: Request, db: DbDep, token: Annotated[str, Query()] = ""):
    user = sign_in.link_user(db, token)
    return page(request, "set_password.html", status=200 if user else 404, token=token, user=user)


@router.post("/set-password")
def set_password(request: Request, db: DbDep, token: Annotated[str, Form()] = "", password: Annotated[str, Form()] = ""):
    user = sign_in.use_link(db, token, password)
    if user is None:
        return page(request, "set_password.html", status=404, token=token, user=None)
    db.commit()
    return see_other("/sign-in")


@router.get("/apps")
def app_list(request: Request, viewer: SignedIn, db: DbDep, redis: RedisDep, q: Annotated[str, Query(max_length=100)] = ""):
    stmt = access.visible_apps(viewer.user)
    if q:
        stmt = stmt.where(func.strpos(App.name, q.strip().lower()) > 0)
    found = list(db.scalars(stmt.order_by(App.name).limit(APPS_SHOWN)))
    total = len(found) if len(found) < APPS_SHOWN else db.scalar(select(func.count()).select_from(stmt.subquery()))
    states = dict(zip((a.name for a in found), map(dyno_summary, read_dynos_of(redis, [a.name for a in found]))))
    return page(request, "apps.html", apps=found, states=states, q=q, total=total)


def dyno_summary(dynos: list[dict]) -> str:
    if not dynos:
        return "no dynos"
    up = sum(d["state"] == "up" for d in dynos)
    return f"{up} of {len(dynos)} up"


@router.get("/apps/{name}")
def overview(request: Request, name: str, viewer: SignedIn, db: DbDep, redis: RedisDep, settings: SettingsDep):
    app, may = viewing(db, viewer, name)
    # What the app's log says of them (app[api] lines): dyno state changes are left out.
    said = events.of_app(app.id).where(or_(Event.resource != "dyno", Event.action != "update"))
    activity = [(e.created_at, line) for e in db.scalars(said.order_by(None).order_by(Event.position.desc()).limit(RECENT))
                for line in reversed(api_lines(e))]
    return page(request, "overview.html", app=app, may=may, tab="Overview", web_url=settings.web_url(app.name),
                current=releases.current_release(db, app), dynos=read_dynos(redis, app.name) + read_runs(redis, app.name),
                activity=activity)


@router.get("/apps/{name}/deploys")
def deploys(request: Request, name: str, viewer: SignedIn, db: DbDep, platform: PlatformDep):
    app, may = viewing(db, viewer, name)
    found = list(db.scalars(releases.list_releases(app).order_by(Release.version.desc()).limit(RECENT)))
    found_builds = list(db.scalars(builds.list_builds(app).order_by(Build.created_at.desc()).limit(RECENT)))
    newest = found_builds[0] if found_builds else None  # its output streams in while it runs
    output = urlsplit(output_url(platform, output_path(newest), viewer.user)) if newest else None  # same origin: a path
    current = releases.current_release(db, app)
    rollbackable = {r.version for r in found if current and r.version != current.version and releases.eligible_for_rollback(r)}
    return page(request, "deploys.html", app=app, may=may, tab="Deploys", releases=found, builds=found_builds,
                current=current, rollbackable=rollbackable, newest=newest,
                output=f"{output.path}?{output.query}" if output else None)


@router.post("/apps/{name}/rollback")
def rollback(name: str, viewer: Acting, db: DbDep, cipher: CipherDep, version: Annotated[int, Form()]):
    app = access.app_for(db, name, viewer.user, access.DEPLOY)
    releases.rollback(db, cipher, app, viewer.user, version)
    db.commit()
    return see_other(f"/apps/{app.name}/deploys")


@router.get("/apps/{name}/config")
def config_page(request: Request, name: str, viewer: SignedIn, db: DbDep, cipher: CipherDep):
    app, may = viewing(db, viewer, name)
    values = config.config_vars(cipher, app) if access.DEPLOY in may else None
    return page(request, "config.html", app=app, may=may, tab="Config", values=values)


@router.post("/apps/{name}/config")
def set_config(name: str, viewer: Acting, db: DbDep, cipher: CipherDep, key: Annotated[str, Form()],
               value: Annotated[str, Form()] = ""):
    app = access.app_for(db, name, viewer.user, access.DEPLOY)
    config.update_config(db, cipher, app, viewer.user, {key: value})
    db.commit()
    return see_other(f"/apps/{app.name}/config")


@router.post("/apps/{name}/config/unset")
def unset_config(name: str, viewer: Acting, db: DbDep, cipher: CipherDep, key: Annotated[str, Form()]):
    app = access.app_for(db, name, viewer.user, access.DEPLOY)
    config.update_config(db, cipher, app, viewer.user, {key: None})
    db.commit()
    return see_other(f"/apps/{app.name}/config")


@router.get("/apps/{name}/resources")
def resources(request: Request, name: str, viewer: SignedIn, db: DbDep, settings: SettingsDep):
    app, may = viewing(db, viewer, name)
    return page(request, "resources.html", app=app, may=may, tab="Resources", formation=formation.list_formation(db, app),
                sizes=list(settings.dyno_sizes), addons=addons_api.list_app_addons(name, viewer.user, db), plans=PLANS)


@router.post("/apps/{name}/formation")
def scale_formation(name: str, viewer: Acting, db: DbDep, settings: SettingsDep, process_type: Annotated[str, Form()],
                    quantity: Annotated[int, Form()], size: Annotated[str | None, Form()] = None):
    app = access.app_for(db, name, viewer.user, access.OPERATE)
    scale(db, settings, app, viewer.user, [{"type": process_type, "quantity": quantity, **({"size": size} if size else {})}])
    return see_other(f"/apps/{app.name}/resources")


@router.get("/apps/{name}/metrics")
def metrics_page(request: Request, name: str, viewer: SignedIn, db: DbDep, settings: SettingsDep,
                 type_: Annotated[str, Query(alias="type", max_length=30)] = "web"):
    """Plots drawn by the page's script from metrics.json; the last minutes as a table without it."""
    app, may = viewing(db, viewer, name)
    recent = read_metrics(Store(settings.metrics_dir), app, type_, str(time.time() - 300), None, None)
    types = [f.type for f in formation.list_formation(db, app)] or ["web"]
    return page(request, "metrics.html", app=app, may=may, tab="Metrics", process_type=type_, types=types,
                recent=[p for p in recent["points"] if p["requests"] is not None][-10:])


@router.get("/apps/{name}/metrics.json")
def metrics_json(name: str, viewer: SignedIn, db: DbDep, settings: SettingsDep,
                 type_: Annotated[str, Query(alias="type", max_length=30)] = "web",
                 from_: Annotated[str | None, Query(alias="from", max_length=40)] = None,
                 step: Annotated[int | None, Query(ge=10, le=86400)] = None):
    app, _ = viewing(db, viewer, name)
    return read_metrics(Store(settings.metrics_dir), app, type_, from_, None, step)


def session_hash(request: Request) -> str:
    return sign_in.hash_token(request.cookies.get(COOKIE, ""))


@router.get("/apps/{name}/live")
def live(request: Request, name: str, viewer: SignedIn, db: DbDep, platform: PlatformDep):
    """The app's events from now, as server-sent events: the page's script refreshes its live
    parts on each. Ends when the session does, or the user may no longer view the app."""
    app, _ = viewing(db, viewer, name)
    app_id, start = str(app.id), start_position(db, app)
    slot = live_streams.take(platform.redis, viewer.user.id, platform.settings.live_streams_per_user)
    db.close()  # a stream may last hours: its connection goes back to the pool now
    still_may = partial(platform.grants.session_may, session_hash(request), app_id)
    return event_stream(follow(platform, app_id, still_may, start, (viewer.user.id, slot)))


@router.get("/apps/{name}/logs")
def logs_page(request: Request, name: str, viewer: SignedIn, db: DbDep,
              dyno: Annotated[str, Query(max_length=40)] = "", source: Annotated[str, Query(max_length=10)] = ""):
    app, may = viewing(db, viewer, name)
    types = [f.type for f in formation.list_formation(db, app)]
    return page(request, "logs.html", app=app, may=may, tab="Logs", dyno=dyno, source=source, types=types,
                sources=SOURCES, query=urlencode({k: v for k, v in (("dyno", dyno), ("source", source)) if v}))


@router.get("/apps/{name}/logs/stream")
async def logs_stream(request: Request, name: str, platform: PlatformDep, dyno: Annotated[str, Query(max_length=40)] = "",
                      source: Annotated[str, Query(max_length=10)] = ""):
    """The app's last lines, then each new one, as plain text: what the logs page shows."""
    token_hash = session_hash(request)

    def find() -> tuple[str, dict]:
        with platform.sessionmaker() as db:  # only while it looks: a tail holds no connection
            user = sign_in.session_user_by_hash(db, token_hash)
            if user is None:
                raise SignInNeeded()
            app = access.app_for(db, name, user, access.VIEW)
            return str(app.id), parse_session({"lines": 200, "tail": True, "dyno": dyno or None, "source": source or None},
                                               platform.settings.log_lines)

    app_id, options = await run_in_threadpool(find)
    return await tail_response(platform, app_id, options, partial(platform.grants.session_may, token_hash, app_id), events=False)
