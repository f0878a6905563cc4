"""Log session options: any JSON a client sends is either accepted as Heroku's options or
refused with a clear InvalidParams."""

from hypothesis import given
from hypothesis import strategies as st

from paas.domain.errors import InvalidParams
from paas.platform.api.log_sessions import DEFAULT_LINES, parse_session

json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=40),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                           max_leaves=6)
bodies = st.dictionaries(st.sampled_from(["lines", "tail", "dyno", "source", "other"]), json_values, max_size=4) | json_values


@given(bodies)
def test_options_are_checked(body):
    try:
        options = parse_session(body, max_lines=10_000)
    except InvalidParams as error:
        assert error.message
        return
    assert 0 <= options["lines"] <= 10_000 and isinstance(options["tail"], bool)
    assert options["source"] in (None, "app", "heroku")


def test_heroku_defaults():
    assert parse_session(None, 10_000) == {"lines": DEFAULT_LINES, "tail": False, "dyno": None, "source": None}
    assert parse_session({"lines": 1500, "tail": True, "dyno": "web.1", "source": "app"}, 10_000)["dyno"] == "web.1"
