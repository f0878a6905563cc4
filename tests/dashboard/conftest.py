"""The API's in-process fixtures serve the dashboard's tests too, with a browser and people who
have passwords."""

import re

import pytest
from fastapi.testclient import TestClient

from paas.domain import accounts, sign_in
from tests.platform.conftest import client, platform_app, token

__all__ = ["client", "platform_app", "token"]

PASSWORD = "correct horse battery"


@pytest.fixture
def browser(platform_app):
    """A browser with no failed sign-ins counted against it (they are kept in Redis for a while)."""
    redis = platform_app.api.state.platform.redis
    redis.delete(*redis.keys("paas:sign-in:*"), "none")
    with TestClient(platform_app, follow_redirects=False) as c:
        yield c


@pytest.fixture
def person(test_sessionmaker):
    """Make a user with a password: their email."""
    def make(email: str, admin: bool = False) -> str:
        with test_sessionmaker() as db:
            user = accounts.ensure_user(db, email)
            user.is_admin = admin
            sign_in.set_password(db, user, PASSWORD)
            db.commit()
        return email
    return make


def signed_in(browser, email: str, password: str = PASSWORD):
    answer = browser.post("/dashboard/sign-in", data={"email": email, "password": password})
    assert answer.status_code == 303, answer.text
    return answer


def csrf_of(page) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]+)"', page.text).group(1)
