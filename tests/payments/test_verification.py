"""BANK-3's verification machine, pure: the whole table, and any sequence of events."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.payments.verification import EVENTS, FAILED, PENDING, STATUSES, VERIFIED, next_status, refusal

#: every (status, event) and what BANK-3 says it leads to (None: refused)
TABLE = {
    (PENDING, "verify"): VERIFIED, (PENDING, "fail"): FAILED, (PENDING, "resubmit"): None,
    (VERIFIED, "verify"): None, (VERIFIED, "fail"): None, (VERIFIED, "resubmit"): None,
    (FAILED, "verify"): None, (FAILED, "fail"): None, (FAILED, "resubmit"): PENDING,
}


@pytest.mark.rule("BANK-3")
@pytest.mark.parametrize(("status", "event"), sorted(TABLE))
def test_each_status_and_event(status: str, event: str) -> None:
    assert next_status(status, event) == TABLE[(status, event)]
    if TABLE[(status, event)] is None:
        assert refusal(status, event)


@pytest.mark.rule("BANK-3")
def test_the_table_covers_every_pair() -> None:
    assert set(TABLE) == {(s, e) for s in STATUSES for e in EVENTS}


@pytest.mark.rule("BANK-3")
@given(st.lists(st.sampled_from(EVENTS), max_size=30))
def test_any_sequence_stays_in_the_statuses_and_verified_is_final(events: list[str]) -> None:
    status = PENDING
    for event in events:
        new = next_status(status, event)
        if status == VERIFIED:
            assert new is None  # final
        if new is not None:
            assert new in STATUSES
            if new == VERIFIED:
                assert status == PENDING  # only from Pending: Failed needs new evidence first
            status = new
