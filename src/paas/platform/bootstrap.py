"""`python -m paas.platform.bootstrap`: make sure the admin user exists, $PAAS_HOME/admin-token
works and the admin has a dashboard password (its first one in $PAAS_HOME/admin-password).

Only the token's hash is in the database, so the token is written to a 0600 file once, when it
is made. A database with no admin yet takes the token the file already holds (if the file is
private to this user): the other way of running the platform on this home (`make up`, or the
compose stack) made it, and one token then serves both. Otherwise a token file whose token the database no longer knows (revoked) is replaced.
"""

import os
import re
import secrets
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from paas.domain import accounts, sign_in
from paas.domain.crypto import create_key
from paas.domain.db import make_sessionmaker
from paas.domain.models import App, User
from paas.settings import Settings, get_settings

ADMIN_EMAIL = "admin@paas.localhost"
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{32,200}")  # as tokens are made (URL-safe base64), never shorter


def private(path: Path) -> bool:
    """Only its owner, this process's user, can read or change it (as the bootstrap writes it)."""
    found = path.stat()
    return found.st_uid == os.geteuid() and not found.st_mode & 0o077


def ensure_admin_token(settings: Settings, sessions: sessionmaker[Session] | None = None) -> str:
    settings.home.mkdir(parents=True, exist_ok=True)
    path = settings.admin_token_file
    with (sessions or make_sessionmaker(settings))() as db:
        create_key(settings, data_exists=db.scalar(select(App.id).limit(1)) is not None)
        existing = path.read_text().strip() if path.exists() else ""
        if existing and accounts.token_is_valid(db, existing):
            return existing
        first_admin = db.scalar(select(User.id).where(User.email == ADMIN_EMAIL)) is None
        user = accounts.ensure_user(db, ADMIN_EMAIL, name="admin")
        user.is_admin = True
        if first_admin and TOKEN_SHAPE.fullmatch(existing) and private(path):
            accounts.new_authorization(db, user, "admin token from $PAAS_HOME/admin-token", token=existing)
            db.commit()
            return existing
        token = accounts.issue_token(db, user, description="admin token made by make up")
        db.commit()
    write_private(path, token)
    return token


def ensure_admin_password(settings: Settings, sessions: sessionmaker[Session] | None = None) -> None:
    """The admin's first dashboard password, made once into $PAAS_HOME/admin-password (0600,
    never printed): only while the admin has none. As with the token, a database with an admin
    but no password yet takes the one the file holds (if only its owner can read it): the other
    way of running the platform on this home made it, and one password serves both. Changing it
    later leaves the file stale."""
    path = settings.admin_password_file
    with (sessions or make_sessionmaker(settings))() as db:
        admin = db.scalar(select(User).where(User.email == ADMIN_EMAIL))
        if admin is None or admin.password_hash is not None:
            return
        existing = path.read_text().strip() if path.exists() and private(path) else ""
        password = existing if sign_in.SHORTEST <= len(existing) <= sign_in.LONGEST else secrets.token_urlsafe(18)
        sign_in.set_password(db, admin, password)
        if password != existing:
            write_private(path, password)
        db.commit()


def write_private(path: Path, secret: str) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret + "\n")
    tmp.replace(path)


if __name__ == "__main__":
    ensure_admin_token(get_settings())
    ensure_admin_password(get_settings())
    print(get_settings().admin_token_file)
