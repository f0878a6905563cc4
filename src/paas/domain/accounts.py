"""Users and their API tokens.

These functions touch only the database; callers commit (the events they record go out after).
"""

import hashlib
import re
import secrets

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from paas.domain.db import add_unique, by_ident, one_by_id
from paas.domain.errors import Forbidden, InvalidParams, NotFound, Unauthorized
from paas.domain.models import ApiToken, PasswordLink, User, WebSession

EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9.-]{1,189}\.[A-Za-z]{2,}$")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def user_for_token(db: Session, token: str | None) -> User:
    user = user_for_token_hash(db, hash_token(token)) if token else None
    if user is None:
        raise Unauthorized("Invalid credentials provided.")
    return user


def user_for_token_hash(db: Session, token_hash: str) -> User | None:
    """The user a token (by its hash) belongs to, unless it was revoked or its user disabled."""
    return db.scalar(select(User).join(ApiToken).where(ApiToken.token_hash == token_hash, User.disabled_at.is_(None)))


def ensure_user(db: Session, email: str, name: str | None = None) -> User:
    user = db.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, name=name)
        db.add(user)
        db.flush()
    return user


def issue_token(db: Session, user: User, description: str = "") -> str:
    """Return a new token; only its hash is stored."""
    return new_authorization(db, user, description)[0]


def new_authorization(db: Session, user: User, description: object = "", token: str | None = None) -> tuple[str, ApiToken]:
    """A new token (shown once) and its record; `token`: one made elsewhere, taken as it is."""
    if not isinstance(description, str) or len(description) > 200:
        raise InvalidParams("description is text of up to 200 characters.")
    token = token or secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, token_hash=hash_token(token), description=description)
    db.add(row)
    db.flush()
    return token, row


def authorizations(db: Session, user: User) -> list[ApiToken]:
    return list(db.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at)))


def get_authorization(db: Session, user: User, ident: str) -> ApiToken:
    return one_by_id(db, select(ApiToken).where(ApiToken.user_id == user.id), ApiToken.id, ident, "authorization")


def revoke(db: Session, row: ApiToken) -> None:
    db.delete(row)
    db.flush()


def require_admin(user: User) -> None:
    if not user.is_admin:
        raise Forbidden("Only the platform's admins may do that.")


def create_account(db: Session, email: object, name: object = None) -> tuple[User, str]:
    """A new user and their first token (shown once)."""
    if not isinstance(email, str) or not EMAIL.fullmatch(email.strip()):
        raise InvalidParams("email must be an email address.")
    if name is not None and (not isinstance(name, str) or len(name) > 100):
        raise InvalidParams("name is text of up to 100 characters.")
    email = email.strip().lower()
    if db.scalar(select(User.id).where(func.lower(User.email) == email)) is not None:
        raise InvalidParams(f"{email} already has an account.")
    user = User(email=email, name=name)
    add_unique(db, user, f"{email} already has an account.")
    token, _ = new_authorization(db, user, "first token, made with the account")
    return user, token


def find_user(db: Session, ident: str, include_disabled: bool = False) -> User:
    """By id or email (what Heroku's endpoints take); disabled users only to remove them from things."""
    stmt = by_ident(select(User), User.id, ident, func.lower(User.email) == ident.strip().lower())
    user = db.scalar(stmt if include_disabled else stmt.where(User.disabled_at.is_(None)))
    if user is None:
        raise NotFound(f"Couldn't find that user: {ident}")
    return user


def disable(db: Session, user: User) -> None:
    """The user can no longer sign in: every token, dashboard session and password link goes.
    Their apps stay (an admin may act on them)."""
    if user.is_admin:
        raise InvalidParams("An admin account cannot be disabled.")
    user.disabled_at = func.now()
    for held in (ApiToken, WebSession, PasswordLink):
        db.execute(delete(held).where(held.user_id == user.id))
    db.flush()


def update_account(db: Session, user: User, body: dict) -> User:
    unknown = set(body) - {"name"}
    if unknown:
        raise InvalidParams(f"Cannot change {', '.join(sorted(unknown))} of an account here.")
    if "name" in body:
        if body["name"] is not None and (not isinstance(body["name"], str) or len(body["name"]) > 100):
            raise InvalidParams("name is text of up to 100 characters.")
        user.name = body["name"]
    db.flush()
    return user


def token_is_valid(db: Session, token: str) -> bool:
    return db.scalar(select(ApiToken.id).where(ApiToken.token_hash == hash_token(token))) is not None


def active_users(db: Session) -> list[User]:
    return list(db.scalars(select(User).where(User.disabled_at.is_(None)).order_by(User.created_at)))
