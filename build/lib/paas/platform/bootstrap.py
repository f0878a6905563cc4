"""`python -m paas.platform.bootstrap`: make sure the admin user exists and $PAAS_HOME/admin-token works.

Only the token's hash is in the database, so the token is written to a 0600 file once, when it
is made; a token file whose token the database no longer knows is replaced.
"""

import os

from sqlalchemy import select

from paas.domain import accounts
from paas.domain.crypto import create_key
from paas.domain.db import make_sessionmaker
from paas.domain.models import App
from paas.settings import Settings, get_settings

ADMIN_EMAIL = "admin@paas.localhost"


def ensure_admin_token(settings: Settings) -> str:
    settings.home.mkdir(parents=True, exist_ok=True)
    path = settings.admin_token_file
    with make_sessionmaker(settings)() as db:
        create_key(settings, data_exists=db.scalar(select(App.id).limit(1)) is not None)
        if path.exists():
            token = path.read_text().strip()
            if accounts.token_is_valid(db, token):
                return token
        user = accounts.ensure_user(db, ADMIN_EMAIL, name="admin")
        user.is_admin = True
        token = accounts.issue_token(db, user, description="admin token made by make up")
        db.commit()
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    tmp.replace(path)
    return token


if __name__ == "__main__":
    ensure_admin_token(get_settings())
    print(get_settings().admin_token_file)
