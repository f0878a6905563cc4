"""Quotas: what an admin may set (any JSON is checked), and which limit applies to whom."""

import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paas.domain import quotas
from paas.domain.errors import InvalidParams
from paas.domain.models import User
from paas.settings import Settings

VALUES = st.none() | st.booleans() | st.integers(-5, quotas.MAX_QUOTA + 5) | st.floats(allow_nan=False) | st.text(max_size=5)
CHANGES = st.dictionaries(st.sampled_from(quotas.QUOTAS) | st.text(max_size=8), VALUES, max_size=6)


def valid(value) -> bool:
    return value is None or (type(value) is int and 0 <= value <= quotas.MAX_QUOTA)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=CHANGES | st.lists(st.integers(), max_size=2) | st.text(max_size=5) | st.none())
def test_any_change_is_applied_whole_or_refused_whole(test_sessionmaker, owner, changes):
    with test_sessionmaker() as db:
        user = db.get(User, owner.id)
        user.quotas = {"addons": 7}
        db.flush()
        acceptable = isinstance(changes, dict) and changes and set(changes) <= set(quotas.QUOTAS) and all(map(valid, changes.values()))
        try:
            quotas.set_quotas(db, user, changes)
        except InvalidParams as refused:
            assert not acceptable, (changes, refused.message)
            assert user.quotas == {"addons": 7}
        else:
            assert acceptable, changes
            expected = {"addons": 7, **changes}
            assert user.quotas == {k: v for k, v in expected.items() if v is not None}
        db.rollback()


def test_the_settings_are_the_default_an_admins_value_wins_and_admins_have_none():
    defaults = Settings(quota_apps=4, quota_dynos=9)
    user = User(email="u@example.com", quotas={"dynos": 2}, is_admin=False)
    assert quotas.limit(defaults, user, "apps") == 4 and quotas.limit(defaults, user, "dynos") == 2
    assert quotas.quotas_of(defaults, User(email="a@example.com", quotas={"apps": 1}, is_admin=True)) == dict.fromkeys(quotas.QUOTAS)


def test_the_message_names_the_quota_whose_it_is_and_how_to_raise_it():
    owner = User(id=uuid.uuid4(), email="o@example.com", quotas={}, is_admin=False)
    helper = User(id=uuid.uuid4(), email="h@example.com", quotas={}, is_admin=False)
    for actor, whose in ((None, "Your"), (owner, "Your"), (helper, "o@example.com's")):
        error = quotas._exceeded(owner, "dynos", 3, 3, actor)
        assert error.status == 422 and error.id == "quota_exceeded"
        assert error.message.startswith(f"{whose} quota of dynos is 3 (dynos: 3; in use: 3)")
        assert 'PATCH /accounts/o@example.com/quotas {"dynos": 4}' in error.message
    assert quotas._exceeded(owner, "one_off_dynos", 2, 2, None).status == 429
