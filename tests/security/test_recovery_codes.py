"""Recovery codes (MFA-6, MFA-7): 10 codes of 12 digits, argon2-hashed, each matching only itself."""

from __future__ import annotations

import pytest

from engine.security import recovery_codes


@pytest.mark.rule("MFA-7")
def test_mfa_7_ten_codes_of_twelve_digits_all_different() -> None:
    codes = recovery_codes.new_codes()
    assert len(codes) == 10 == len(set(codes))
    assert all(len(c) == 12 and c.isdigit() for c in codes)


@pytest.mark.rule("MFA-7")
def test_mfa_7_stored_only_as_salted_argon2_hashes() -> None:
    code = "123456789012"
    first, second = recovery_codes.hash_code(code), recovery_codes.hash_code(code)
    assert first.startswith("$argon2id$") and first != second  # a fresh salt each time
    assert code not in first


def test_a_typed_code_matches_its_own_hash_with_or_without_separators() -> None:
    codes = recovery_codes.new_codes(3)
    stored = recovery_codes.hash_codes(codes)
    for index, code in enumerate(codes):
        assert recovery_codes.matching(code, stored) == index
        assert recovery_codes.matching(recovery_codes.display(code), stored) == index
        assert recovery_codes.matching(" ".join(recovery_codes.display(code).split("-")), stored) == index
    assert recovery_codes.matching("000000000000" if "000000000000" not in codes else "111111111111", stored) is None


def test_malformed_input_matches_nothing_and_is_not_hashed() -> None:
    stored = recovery_codes.hash_codes(["123456789012"])
    for bad in (None, 123456789012, "12345678901", "1234567890123", "12345678901a", "x" * 1000, ""):
        assert recovery_codes.matching(bad, stored) is None
    assert recovery_codes.matching("123456789012", ["not a hash"]) is None


def test_display_groups_four_digits() -> None:
    assert recovery_codes.display("012345678901") == "0123-4567-8901"
