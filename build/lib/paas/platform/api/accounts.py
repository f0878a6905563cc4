"""Accounts and their tokens (Heroku's `/account`, `/accounts`, `/oauth/authorizations`), and
the admins' audit log."""

from typing import Annotated

from fastapi import APIRouter, Body, Header
from fastapi.responses import JSONResponse

from paas.domain import accounts, audit, pagination
from paas.domain.models import AuditEvent
from paas.domain.ranges import parse_range
from paas.platform.api import paged
from paas.platform.deps import DbDep, UserDep
from paas.platform.serializers import account_json, audit_event_json, authorization_json

router = APIRouter()


@router.get("/account")
def account(user: UserDep):
    return account_json(user)


@router.patch("/account")
def update_account(user: UserDep, db: DbDep, body: Annotated[dict | None, Body()] = None):
    accounts.update_account(db, user, body or {})
    db.commit()
    return account_json(user)


@router.get("/account/rate-limits")
def rate_limits(user: UserDep):
    return {"remaining": 4500}


@router.post("/accounts", status_code=201)
def create_account(user: UserDep, db: DbDep, body: Annotated[dict | None, Body()] = None):
    """Admins only: the answer carries the new user's first token, once."""
    accounts.require_admin(user)
    body = body or {}
    made, token = accounts.create_account(db, body.get("email"), body.get("name"))
    db.commit()
    return {**account_json(made), "token": token}


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
def create_authorization(user: UserDep, db: DbDep, body: Annotated[dict | None, Body()] = None):
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
