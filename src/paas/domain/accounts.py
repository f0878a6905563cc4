"""Users and their API tokens.

These functions touch only the database; callers commit, then send messages.
"""

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from paas.domain.errors import (
    Unauthorized,
)
from paas.domain.models import ApiToken, User


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def user_for_token(db: Session, token: str | None) -> User:
    if not token:
        raise Unauthorized("Invalid credentials provided.")
    user = db.scalar(select(User).join(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    if user is None:
        raise Unauthorized("Invalid credentials provided.")
    return user


def ensure_user(db: Session, email: str, name: str | None = None) -> User:
    user = db.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, name=name)
        db.add(user)
        db.flush()
    return user


def issue_token(db: Session, user: User, description: str = "") -> str:
    """Return a new token; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    db.add(ApiToken(user_id=user.id, token_hash=hash_token(token), description=description))
    db.flush()
    return token


def token_is_valid(db: Session, token: str) -> bool:
    return db.scalar(select(ApiToken.id).where(ApiToken.token_hash == hash_token(token))) is not None
