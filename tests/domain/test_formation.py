"""Scaling arithmetic and sizes (pure)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paas.domain.errors import InvalidParams
from paas.domain.formation import MAX_QUANTITY, canonical_size, new_quantity
from paas.settings import DYNO_SIZES


@pytest.mark.parametrize(("current", "asked", "expected"), [
    (1, 3, 3), (1, "3", 3), (1, "+2", 3), (3, "-1", 2), (1, "-5", 0), (2, 0, 0), (0, " +1 ", 1),
])
def test_absolute_and_relative_quantities(current, asked, expected):
    assert new_quantity(current, asked) == expected


@pytest.mark.parametrize("asked", [-1, "1.5", True, None, "++1", "two", MAX_QUANTITY + 1, [], "1e3"])
def test_bad_quantities_are_refused(asked):
    with pytest.raises(InvalidParams):
        new_quantity(1, asked)


@given(st.integers(0, MAX_QUANTITY), st.integers(0, MAX_QUANTITY))
def test_a_relative_change_adds_or_removes_and_never_goes_below_zero(current, change):
    if current + change <= MAX_QUANTITY:
        assert new_quantity(current, f"+{change}") == current + change
    assert new_quantity(current, f"-{change}") == max(0, current - change)


@given(st.text(max_size=8))
def test_any_text_is_a_quantity_or_a_clear_error(text):
    try:
        assert 0 <= new_quantity(5, text) <= MAX_QUANTITY
    except InvalidParams as error:
        assert "quantity" in error.message or "At most" in error.message


def test_sizes_are_taken_in_any_case_and_checked():
    assert canonical_size("Standard-2X", DYNO_SIZES) == "standard-2x"
    for bad in ("huge", "", 2, None):
        with pytest.raises(InvalidParams):
            canonical_size(bad, DYNO_SIZES)
