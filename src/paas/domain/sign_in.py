"""The dashboard's sign-in: passwords, one-time links to set one, and sessions.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's low-memory choice). A
session or a link is a random token the browser holds; only its SHA-256 is kept (256 random
bits need no slow hash), so a copy of the database signs nobody in. A disabled user's sessions
and links end with their tokens (accounts.disable). These functions touch only the database;
callers commit.
"""

import secrets
import threading
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from paas.domain.accounts import hash_token
from paas.domain.errors import InvalidParams, Unavailable
from paas.domain.models import PasswordLink, User, WebSession

HASHER = PasswordHasher()
# Verified against when the email is no user's, so an unknown email costs what a wrong password does.
NOBODY = HASHER.hash(secrets.token_urlsafe(16))
SHORTEST, LONGEST = 10, 200
LINK_TTL = timedelta(days=1)
# Each hash takes 64 MiB and a tenth of a second of a core: a few at a time, so a flood of
# sign-ins can neither exhaust the API's memory nor take all its threads; past WAIT, 503.
HASHING, WAIT = threading.BoundedSemaphore(2), 10.0


@contextmanager
def hashing():
    if not HASHING.acquire(timeout=WAIT):
        raise Unavailable("Too many sign-ins at once: try again in a moment.")
    try:
        yield
    finally:
        HASHING.release()


def set_password(db: Session, user: User, password: object) -> None:
    if not isinstance(password, str) or not SHORTEST <= len(password) <= LONGEST:
        raise InvalidParams(f"A password has {SHORTEST} to {LONGEST} characters.")
    with hashing():
        user.password_hash = HASHER.hash(password)
    db.flush()


def user_for_password(db: Session, email: str, password: str) -> User | None:
    """The active user with this email and password, else None (the same answer, and about the
    same time, whether the email or the password was wrong)."""
    found = "\0" not in email and len(email) <= 254  # else no user's (and never a query Postgres refuses)
    user = found and db.scalar(select(User).where(func.lower(User.email) == email.strip().lower(), User.disabled_at.is_(None)))
    with hashing():
        try:
            HASHER.verify(user.password_hash if user and user.password_hash else NOBODY, password[:LONGEST])
        except (VerificationError, InvalidHashError):
            return None
    if user is None or user.password_hash is None:
        return None
    if HASHER.check_needs_rehash(user.password_hash):  # the library's defaults grew since
        set_password(db, user, password)
    return user


def new_link(db: Session, user: User) -> str:
    """A token for a one-time link where the user sets a password (shown once)."""
    token = secrets.token_urlsafe(32)
    db.add(PasswordLink(token_hash=hash_token(token), user_id=user.id, expires_at=datetime.now(UTC) + LINK_TTL))
    db.flush()
    return token


def link_user(db: Session, token: str) -> User | None:
    """Whose link this is, while it is unused and unexpired and its user active."""
    return db.scalar(select(User).join(PasswordLink, PasswordLink.user_id == User.id).where(
        PasswordLink.token_hash == hash_token(token), PasswordLink.expires_at > func.now(), User.disabled_at.is_(None)))


def use_link(db: Session, token: str, password: object) -> User | None:
    """Sets the password and spends the link (and the user's other links); the user's sessions
    end (whoever had the password before is out). None if the link was no good."""
    user = link_user(db, token)
    if user is None:
        return None
    set_password(db, user, password)
    for held in (PasswordLink, WebSession):
        db.execute(delete(held).where(held.user_id == user.id))
    return user


def start_session(db: Session, user: User, lifetime: timedelta) -> str:
    db.execute(delete(WebSession).where(WebSession.expires_at <= func.now()))  # sign-ins keep the table small
    token = secrets.token_urlsafe(32)
    db.add(WebSession(token_hash=hash_token(token), user_id=user.id, expires_at=datetime.now(UTC) + lifetime))
    db.flush()
    return token


def session_user(db: Session, token: str | None) -> User | None:
    """The session's user while it lasts and the user is active."""
    return session_user_by_hash(db, hash_token(token)) if token else None


def session_user_by_hash(db: Session, token_hash: str) -> User | None:
    return db.scalar(select(User).join(WebSession, WebSession.user_id == User.id).where(
        WebSession.token_hash == token_hash, WebSession.expires_at > func.now(), User.disabled_at.is_(None)))


def end_session(db: Session, token: str) -> None:
    db.execute(delete(WebSession).where(WebSession.token_hash == hash_token(token)))

