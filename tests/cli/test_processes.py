import pytest
from hypothesis import given
from hypothesis import strategies as st

from paas.cli.processes import parse_scale


def test_heroku_scale_arguments():
    current = {"web": 2, "worker": 1}
    assert parse_scale(["web=3", "worker+2"], current) == [{"type": "web", "quantity": 3}, {"type": "worker", "quantity": 3}]
    assert parse_scale(["web-1", "web:Standard-2X"], current) == [{"type": "web", "quantity": 1, "size": "standard-2x"}]
    assert parse_scale(["clock=1:basic"], current) == [{"type": "clock", "quantity": 1, "size": "basic"}]
    for bad in ("web", "web=", "=2", "web=two", "Web=1", "web=-1", "worker-2"):
        with pytest.raises(ValueError):
            parse_scale([bad], current)


@given(st.dictionaries(st.from_regex(r"[a-z][a-z0-9]{0,5}", fullmatch=True), st.integers(0, 50), min_size=1),
       st.data())
def test_relative_changes_add_to_what_runs(current, data):
    kind = data.draw(st.sampled_from(sorted(current)))
    more = data.draw(st.integers(0, 50))
    assert parse_scale([f"{kind}+{more}"], current) == [{"type": kind, "quantity": current[kind] + more}]
    if more <= current[kind]:
        assert parse_scale([f"{kind}-{more}"], current) == [{"type": kind, "quantity": current[kind] - more}]
    else:
        with pytest.raises(ValueError):
            parse_scale([f"{kind}-{more}"], current)
