"""The domain services' tests: a user to own what they make (in the test's own transaction)."""

import pytest

from paas.domain import accounts


@pytest.fixture
def owner(test_sessionmaker):
    with test_sessionmaker() as db:
        user = accounts.ensure_user(db, "owner@example.com")
        db.commit()
        return user
