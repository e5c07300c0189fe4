"""Money on the wire: parse and format are exact inverses (GEN-1, GEN-2)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.money import MoneyError, MoneyTooLarge, format_money, format_money_plain, parse_money

cents = st.integers(min_value=0, max_value=10**17 - 1)  # at most 15 digits before the point


@pytest.mark.rule("GEN-1", "GEN-2")
@given(cents)
def test_format_then_parse_is_the_identity(n: int) -> None:
    """GEN-1: every amount in cents survives the wire form exactly, never through a float."""
    value = Decimal(n).scaleb(-2)
    text = format_money_plain(value)
    assert parse_money(text) == value
    assert format_money_plain(parse_money(text)) == text


@given(cents)
def test_human_form_groups_thousands_and_keeps_cents(n: int) -> None:
    value = Decimal(n).scaleb(-2)
    shown = format_money(value)
    assert shown.startswith("$") and shown.count(".") == 1 and len(shown.rsplit(".", 1)[1]) == 2
    assert Decimal(shown[1:].replace(",", "")) == value


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=0, max_value=2))
def test_parse_keeps_the_written_precision_up_to_two_decimals(whole: int, places: int) -> None:
    text = str(whole) if places == 0 else f"{whole}.{'7' * places}"
    assert parse_money(text) == Decimal(text)
    assert str(parse_money(text)) == text


@pytest.mark.rule("GEN-2")
@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=3, max_value=8))
def test_three_or_more_decimals_are_refused_not_rounded(whole: int, places: int) -> None:
    """GEN-2: never rounded."""
    with pytest.raises(MoneyError, match="more than two decimals"):
        parse_money(f"{whole}.{'1' * places}")


@pytest.mark.rule("GEN-2")
@pytest.mark.parametrize("value", [100, 100.5, 1e3, True])
def test_json_numbers_are_refused(value: object) -> None:
    """GEN-2: a JSON number may already have been through a binary float."""
    with pytest.raises(MoneyError, match="not a JSON number"):
        parse_money(value)


@pytest.mark.rule("GEN-2")
@pytest.mark.parametrize("text", ["1e5", "+5.00", " 5.00", "5.00 ", "1,000.00", ".5", "5.", "NaN", "05.00", ""])
def test_other_spellings_are_refused(text: str) -> None:
    with pytest.raises(MoneyError):
        parse_money(text)


def test_negative_is_refused_with_its_own_reason() -> None:
    with pytest.raises(MoneyError, match="negative"):
        parse_money("-5.00")


@pytest.mark.rule("GEN-1")
@pytest.mark.parametrize("text", ["1000000000000000", "1000000000000000.00", "9999999999999999.99"])
def test_more_than_15_digits_before_the_point_are_refused(text: str) -> None:
    """GEN-1: bounded where parsed, so no amount reaches storage that it cannot hold exactly."""
    with pytest.raises(MoneyTooLarge, match="too large: at most 15 digits before the decimal point") as e:
        parse_money(text)
    assert e.value.rule == "GEN-1"
    assert parse_money("999999999999999.99") == Decimal("999999999999999.99")
    with pytest.raises(MoneyTooLarge):
        parse_money("-" + text, allow_negative=True)
