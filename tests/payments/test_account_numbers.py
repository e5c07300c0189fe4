"""BANK-7, BANK-8: routing numbers with the ABA checksum, numbers entered twice, shown as last four."""

from __future__ import annotations

import pytest

from engine.payments import account_numbers as numbers


@pytest.mark.rule("BANK-8")
def test_bank_8_routing_numbers_are_nine_digits_with_the_aba_checksum() -> None:
    assert numbers.routing_problem("011000015") is None  # the Federal Reserve Bank of Boston
    assert numbers.routing_problem("021000021") is None
    checksum = numbers.routing_problem("011000016")
    assert checksum is not None and "checksum" in checksum.message and "011000016" not in checksum.message
    for bad in ("01100001", "0110000150", "01100001a", "", None, 11000015, "０１１０００○１５"):
        problem = numbers.routing_problem(bad)
        assert problem is not None and problem.message == "a routing number is 9 digits", bad


@pytest.mark.rule("BANK-7")
def test_bank_7_numbers_are_entered_twice_and_must_match() -> None:
    assert numbers.entered_twice_problems("021000021", "021000021", field="routing_number", check="routing") == []
    mismatch = numbers.entered_twice_problems("123456789", "123456780", field="account_number", check="account")
    assert [(p.field, p.message) for p in mismatch] == [("account_number_confirmation", "does not match account_number")]
    invalid = numbers.entered_twice_problems("12", "12", field="account_number", check="account")
    assert [p.field for p in invalid] == ["account_number"]


@pytest.mark.rule("BANK-8")
def test_bank_8_an_account_is_shown_as_its_last_four_digits() -> None:
    assert numbers.masked("000123456789") == "\u2022\u2022\u2022\u20226789"
    assert numbers.last_four("000123456789") == "6789"
