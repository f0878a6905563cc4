import pytest
from hypothesis import given
from hypothesis import strategies as st

from paas.domain.errors import RangeNotSatisfiable
from paas.domain.ranges import DEFAULT_MAX, MAX_LIMIT, Range, parse_range

FIELDS = ("version", "id")


def test_no_header_is_the_default_field_ascending():
    assert parse_range(None, FIELDS) == Range(field="version", order="asc", max=DEFAULT_MAX)
    assert parse_range("   ", FIELDS) == Range(field="version")


@pytest.mark.parametrize(
    "header, expected",
    [
        ("version ..; max=15, order=desc", Range(field="version", order="desc", max=15)),
        ("id ..; max=1000;", Range(field="id", max=1000)),
        ("id ..; ;", Range(field="id")),
        ("id ..", Range(field="id")),
        ("version", Range(field="version")),
        ("version 3..; order=asc", Range(field="version", start="3")),
        ("version ]7..; max=2, order=desc", Range(field="version", start="7", start_exclusive=True, order="desc", max=2)),
        ("version ..; MAX=5, Order=DESC", Range(field="version", order="desc", max=5)),
        ("version 3..9; max=2", Range(field="version", start="3", end="9", max=2)),
        ("version ..9[", Range(field="version", end="9", end_exclusive=True)),
    ],
)
def test_heroku_range_headers(header, expected):
    assert parse_range(header, FIELDS) == expected


def test_max_is_capped():
    assert parse_range("id ..; max=5000", FIELDS).max == MAX_LIMIT


@pytest.mark.parametrize("header", ["name ..", "version ..; order=sideways", "version ..; max=0", "version ..; max=x",
                                    "version 3", "version ..; max=\u00b2", "version ..; max=\u0663"])
def test_bad_ranges_are_not_satisfiable(header):
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, FIELDS)


def test_next_range_round_trips():
    rng = Range(field="version", order="desc", max=2)
    assert parse_range(rng.next_range(7), FIELDS) == Range(
        field="version", start="7", start_exclusive=True, order="desc", max=2
    )
    bounded = Range(field="version", end="3", end_exclusive=True)
    assert parse_range(bounded.next_range(1), FIELDS) == Range(field="version", start="1", start_exclusive=True, end="3", end_exclusive=True)


@given(st.text(max_size=80))
def test_any_header_parses_or_is_not_satisfiable(header):
    try:
        parsed = parse_range(header, FIELDS)
    except RangeNotSatisfiable:
        return
    assert parsed.field in FIELDS and 1 <= parsed.max <= MAX_LIMIT and parsed.order in ("asc", "desc")
