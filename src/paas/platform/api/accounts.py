"""Accounts and their tokens (Heroku's `/account`, `/accounts`, `/oauth/authorizations`), and
the admins' audit log."""

from typing import Annotated

from fastapi import APIRouter, Body, Header
from fastapi.responses import JSONResponse

from paas.dashboard.web import password_url
from paas.domain import accounts, audit, pagination, quotas, sign_in
from paas.domain.models import AuditEvent, User
from paas.domain.ranges import parse_range
from paas.platform import ratelimit
from paas.platform.api import paged
from paas.platform.api.dynos import one_off_dynos_running
from paas.platform.deps import DbDep, PlatformDep, SettingsDep, UserDep
from paas.shapes import account_json, audit_event_json, authorization_json

router = APIRouter()


@router.get("/account")
@router.get("/users/~")
def account(user: UserDep):
    return account_json(user)


@router.patch("/account")
def update_account(user: UserDep, db: DbDep, body: Annotated[dict | None, Body()] = None):
    accounts.update_account(db, user, body or {})
    db.commit()
    return account_json(user)


@router.get("/account/rate-limits")
def rate_limits(user: UserDep, platform: PlatformDep):
    """What the caller has left of the hour's requests, all their tokens together."""
    return {"remaining": ratelimit.remaining(platform.redis, platform.settings.api_rate_limit, str(user.id))}


def quotas_json(db, platform, user: User) -> dict:
    """Each quota: its limit (None: none, for admins) and what the user has now."""
    def in_use(quota: str) -> int:
        if quota == "one_off_dynos":  # what runs now, in Redis
            return one_off_dynos_running(platform.redis, user, platform.settings.one_off_timeout)
        return quotas.used(db, user, quota)

    return {quota: {"limit": most, "used": in_use(quota)} for quota, most in quotas.quotas_of(platform.settings, user).items()}


@router.get("/account/quotas")
def my_quotas(user: UserDep, db: DbDep, platform: PlatformDep):
    return quotas_json(db, platform, user)


@router.get("/accounts/{ident}/quotas")
def user_quotas(ident: str, user: UserDep, db: DbDep, platform: PlatformDep):
    accounts.require_admin(user)
    return quotas_json(db, platform, accounts.find_user(db, ident))


@router.patch("/accounts/{ident}/quotas")
def set_user_quotas(ident: str, user: UserDep, db: DbDep, platform: PlatformDep, body: Annotated[object, Body()] = None):
    """Admins only: `{"apps": 5, "dynos": null}` sets the user's quotas (null: back to the default)."""
    accounts.require_admin(user)
    found = accounts.find_user(db, ident)
    quotas.set_quotas(db, found, body)
    db.commit()
    return quotas_json(db, platform, found)


@router.post("/accounts", status_code=201)
def create_account(user: UserDep, db: DbDep, settings: SettingsDep, body: Annotated[dict | None, Body()] = None):
    """Admins only: the answer carries the new user's first token and a one-time link where they
    set their dashboard password, once."""
    accounts.require_admin(user)
    body = body or {}
    made, token = accounts.create_account(db, body.get("email"), body.get("name"))
    link = sign_in.new_link(db, made)
    db.commit()
    return {**account_json(made), "token": token, "password_url": password_url(settings, link)}


@router.post("/accounts/{ident}/password-link", status_code=201)
def new_password_link(ident: str, user: UserDep, db: DbDep, settings: SettingsDep):
    """Admins only: a new one-time link where the user sets their dashboard password (a lost
    password, or an expired link); using it ends the user's dashboard sessions."""
    accounts.require_admin(user)
    link = sign_in.new_link(db, accounts.find_user(db, ident))
    db.commit()
    return {"password_url": password_url(settings, link)}


@router.get("/accounts")
def list_accounts(user: UserDep, db: DbDep):
    accounts.require_admin(user)
    return [account_json(u) for u in accounts.active_users(db)]


@router.delete("/accounts/{ident}")
def disable_account(ident: str, user: UserDep, db: DbDep):
    accounts.require_admin(user)
    found = accounts.find_user(db, ident)
    accounts.disable(db, found)
    db.commit()
    return account_json(found)


@router.post("/oauth/authorizations", status_code=201)
def create_authorization(user: UserDep, db: DbDep, settings: SettingsDep, body: Annotated[dict | None, Body()] = None):
    quotas.require_room(db, settings, user, "authorizations")
    token, row = accounts.new_authorization(db, user, (body or {}).get("description", ""))
    db.commit()
    return authorization_json(row, token)


@router.get("/oauth/authorizations")
def list_authorizations(user: UserDep, db: DbDep):
    return [authorization_json(row) for row in accounts.authorizations(db, user)]


@router.get("/oauth/authorizations/{ident}")
def get_authorization(ident: str, user: UserDep, db: DbDep):
    return authorization_json(accounts.get_authorization(db, user, ident))


@router.delete("/oauth/authorizations/{ident}")
def revoke_authorization(ident: str, user: UserDep, db: DbDep):
    row = accounts.get_authorization(db, user, ident)
    body = authorization_json(row)
    accounts.revoke(db, row)
    db.commit()
    return JSONResponse(body)


EVENT_RANGE_COLUMNS = {"id": (AuditEvent.id, int)}


@router.get("/audit-events")
def audit_events(user: UserDep, db: DbDep, app: str | None = None, range_: Annotated[str | None, Header(alias="Range")] = None):
    """Admins only: every change, newest first (`?app=NAME` for one app's)."""
    accounts.require_admin(user)
    rng = parse_range(range_ or "id ..; order=desc", tuple(EVENT_RANGE_COLUMNS))
    return paged(pagination.page(db, audit.events(app), rng, EVENT_RANGE_COLUMNS), audit_event_json)
