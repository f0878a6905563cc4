"""The dashboard's account pages: the signed-in user's API tokens (list, make, revoke).

A new token is shown once, on the answer to the form that made it (rendered there, never put in
a redirect's URL or a cookie); afterwards only its description and age are.
"""

from collections import Counter
from typing import Annotated

from fastapi import APIRouter, Form, Request

from paas.dashboard.web import PREFIX, Acting, SignedIn, page, see_other
from paas.domain import accounts
from paas.domain.models import ApiToken
from paas.platform.api import accounts as accounts_api
from paas.platform.deps import DbDep, SettingsDep

router = APIRouter(prefix=PREFIX, include_in_schema=False)


def revoke_labels(tokens: list[ApiToken]) -> dict:
    """Each Revoke button's accessible name: its token's description, with the id when that alone
    would not tell two tokens apart."""
    seen = Counter(t.description for t in tokens)
    return {t.id: f"Revoke {t.description or 'token'}" + (f" ({t.id})" if seen[t.description] > 1 or not t.description else "")
            for t in tokens}


def account_page(request: Request, db, viewer, status: int = 200, new_token: str | None = None):
    tokens = accounts.authorizations(db, viewer.user)
    return page(request, "account.html", status=status, user=viewer.user, tokens=tokens, labels=revoke_labels(tokens),
                new_token=new_token)


@router.get("/account")
def account(request: Request, viewer: SignedIn, db: DbDep):
    return account_page(request, db, viewer)


@router.post("/account/tokens")
def create_token(request: Request, viewer: Acting, db: DbDep, settings: SettingsDep,
                 description: Annotated[str, Form()] = ""):
    made = accounts_api.create_authorization(viewer.user, db, settings, {"description": description.strip()})
    return account_page(request, db, viewer, status=201, new_token=made["access_token"]["token"])


@router.post("/account/tokens/{ident}/revoke")
def revoke_token(ident: str, viewer: Acting, db: DbDep):
    accounts_api.revoke_authorization(ident, viewer.user, db)  # another user's token: 404
    return see_other("/account")
