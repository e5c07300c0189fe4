"""TOTP codes (MFA-1..MFA-4): RFC 6238's own vectors, the ±1 step window, no reuse, and the code's form."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlparse

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.security import totp

#: RFC 6238 appendix B's SHA-1 secret ("12345678901234567890") in base32
RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
#: RFC 6238 appendix B (SHA-1): unix time -> the 8-digit code, whose last 6 digits are the 6-digit code
RFC_VECTORS = [(59, "94287082"), (1111111109, "07081804"), (1111111111, "14050471"),
               (1234567890, "89005924"), (2000000000, "69279037"), (20000000000, "65353130")]


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, timezone.utc)


@pytest.mark.parametrize(("seconds", "code8"), RFC_VECTORS)
@pytest.mark.rule("MFA-1")
def test_mfa_1_codes_are_rfc_6238_sha1_six_digits(seconds: int, code8: str) -> None:
    code = code8[-6:]
    assert totp.code_at_step(RFC_SECRET, totp.step_at(at(seconds))) == code
    assert totp.check(RFC_SECRET, code, at=at(seconds), last_step=None).accepted


@pytest.mark.rule("MFA-1")
def test_mfa_1_a_code_is_six_ascii_digits_as_a_string_leading_zeros_kept() -> None:
    seconds = 1234567890  # code 005924
    assert totp.check(RFC_SECRET, "005924", at=at(seconds), last_step=None).accepted
    for bad in (5924, "5924", "05924", " 005924", "005924 ", "٠٠٥٩٢٤", "00592a", None, "0059240"):
        assert totp.check(RFC_SECRET, bad, at=at(seconds), last_step=None).outcome == "wrong", bad


@pytest.mark.rule("MFA-2")
def test_mfa_2_one_step_either_side_and_no_further() -> None:
    now = at(1_700_000_000)
    step = totp.step_at(now)
    for offset, ok in ((-2, False), (-1, True), (0, True), (1, True), (2, False)):
        verdict = totp.check(RFC_SECRET, totp.code_at_step(RFC_SECRET, step + offset), at=now, last_step=None)
        assert verdict.accepted is ok, offset
        if ok:
            assert verdict.step == step + offset


@pytest.mark.rule("MFA-3")
def test_mfa_3_a_code_of_the_last_used_step_or_an_earlier_one_is_replayed() -> None:
    now = at(1_700_000_000)
    step = totp.step_at(now)
    first = totp.check(RFC_SECRET, totp.code_at_step(RFC_SECRET, step), at=now, last_step=None)
    assert first.accepted and first.step == step
    again = totp.check(RFC_SECRET, totp.code_at_step(RFC_SECRET, step), at=now + timedelta(seconds=5),
                       last_step=first.step)
    assert again.outcome == "replayed" and not again.accepted
    earlier = totp.check(RFC_SECRET, totp.code_at_step(RFC_SECRET, step - 1), at=now, last_step=first.step)
    assert earlier.outcome == "replayed"
    # MFA-3: a second action in the same step waits for the next code
    later = totp.check(RFC_SECRET, totp.code_at_step(RFC_SECRET, step + 1), at=now + timedelta(seconds=30),
                       last_step=first.step)
    assert later.accepted and later.step == step + 1


@pytest.mark.rule("MFA-4")
def test_mfa_4_secrets_are_random_160_bits_in_base32() -> None:
    import base64

    made = {totp.new_secret() for _ in range(50)}
    assert len(made) == 50
    for secret in made:
        assert len(base64.b32decode(secret)) * 8 == 160


@pytest.mark.rule("MFA-4")
def test_mfa_4_the_provisioning_uri_names_issuer_account_and_parameters() -> None:
    uri = totp.provisioning_uri(RFC_SECRET, account="cfo@demo.example", issuer="payroute Demo Builders")
    parsed = urlparse(uri)
    assert (parsed.scheme, parsed.netloc) == ("otpauth", "totp")
    assert parsed.path == "/payroute%20Demo%20Builders:cfo@demo.example"
    query = parse_qs(parsed.query)
    assert query == {"secret": [RFC_SECRET], "issuer": ["payroute Demo Builders"], "algorithm": ["SHA1"],
                     "digits": ["6"], "period": ["30"]}


def test_a_code_at_the_epoch_is_checked_without_a_step_before_it() -> None:
    assert totp.check(RFC_SECRET, totp.code_at_step(RFC_SECRET, 0), at=at(0), last_step=None).accepted


def test_a_naive_moment_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        totp.step_at(datetime(2026, 1, 1))


@given(st.integers(min_value=300, max_value=2**33), st.integers(min_value=-5, max_value=5))
def test_only_codes_inside_the_window_and_after_the_last_step_are_accepted(seconds: int, offset: int) -> None:
    now = at(seconds)
    step = totp.step_at(now)
    code = totp.code_at_step(RFC_SECRET, step + offset)
    last = step - 1
    verdict = totp.check(RFC_SECRET, code, at=now, last_step=last)
    if verdict.accepted:
        # a code is accepted only for a step inside the window and after the last one used
        assert verdict.step is not None and abs(verdict.step - step) <= 1 and verdict.step > last
        assert totp.code_at_step(RFC_SECRET, verdict.step) == code
    elif abs(offset) <= 1 and step + offset > last:
        pytest.fail(f"a fresh code inside the window was refused: {verdict}")
