"""The dashboard's admin pages: users (make, disable, a new password link) and the audit log.

Admins only, as the API's /accounts and /audit-events: anyone else gets 403 on every page and
form. A new user's first token and a password link are shown once, on the answer to the form
that made them (rendered there, never put in a redirect's URL or a cookie).
"""

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request

from paas.dashboard.web import PREFIX, Acting, SignedIn, page, see_other
from paas.domain import accounts, audit, pagination
from paas.domain.models import AuditEvent
from paas.domain.ranges import Range
from paas.platform.api import accounts as accounts_api
from paas.platform.deps import DbDep, SettingsDep

router = APIRouter(prefix=PREFIX, include_in_schema=False)
AUDIT_PAGE = 50


def users_page(request: Request, db, status: int = 200, **shown_once):
    return page(request, "admin_users.html", status=status, users=accounts.active_users(db), **shown_once)


@router.get("/admin/users")
def users(request: Request, viewer: SignedIn, db: DbDep):
    accounts.require_admin(viewer.user)
    return users_page(request, db)


@router.post("/admin/users")
def create_user(request: Request, viewer: Acting, db: DbDep, settings: SettingsDep,
                email: Annotated[str, Form()] = "", name: Annotated[str, Form()] = ""):
    made = accounts_api.create_account(viewer.user, db, settings, {"email": email, "name": name.strip() or None})
    return users_page(request, db, status=201, made=made, token=made["token"], link=made["password_url"])


@router.post("/admin/users/{ident}/disable")
def disable_user(ident: str, viewer: Acting, db: DbDep):
    accounts_api.disable_account(ident, viewer.user, db)
    return see_other("/admin/users")


@router.post("/admin/users/{ident}/password-link")
def new_password_link(request: Request, ident: str, viewer: Acting, db: DbDep, settings: SettingsDep):
    made = accounts_api.new_password_link(ident, viewer.user, db, settings)
    return users_page(request, db, status=201, link_for=accounts.find_user(db, ident), link=made["password_url"])


@router.get("/admin/audit")
def audit_log(request: Request, viewer: SignedIn, db: DbDep, app: Annotated[str, Query(max_length=30)] = "",
              page_: Annotated[int | None, Query(alias="page", ge=1)] = None):
    """Newest first, AUDIT_PAGE at a time; `page`: the id the page before ended at (its Older link)."""
    accounts.require_admin(viewer.user)
    app = app.strip()
    below = Range("id", start=str(page_) if page_ else None, start_exclusive=True, order="desc", max=AUDIT_PAGE)
    found = pagination.page(db, audit.events(app or None), below, {"id": (AuditEvent.id, int)})
    older = None
    if found.next_range:
        older = urlencode({**({"app": app} if app else {}), "page": found.items[-1].id})
    return page(request, "admin_audit.html", events=found.items, app=app, older=older)
