"""BANK-3's verification status as a pure machine: which event moves which status where.

Pending Verification --verify--> Verified (final)
Pending Verification --fail--> Verification Failed
Verification Failed --resubmit (new evidence)--> Pending Verification

Everything else is refused: Verified is final, a Failed account is verified only after new
evidence put it back to Pending, and Pending needs no new evidence. Kept apart from the
commands so that the whole table is tested exhaustively (tests/payments/test_verification.py)
and the commands cannot disagree about it.
"""

from __future__ import annotations

from typing import Literal

PENDING = "Pending Verification"
VERIFIED = "Verified"
FAILED = "Verification Failed"
STATUSES = (PENDING, VERIFIED, FAILED)

Event = Literal["verify", "fail", "resubmit"]
EVENTS: tuple[Event, ...] = ("verify", "fail", "resubmit")

_MOVES: dict[tuple[str, str], str] = {
    (PENDING, "verify"): VERIFIED,
    (PENDING, "fail"): FAILED,
    (FAILED, "resubmit"): PENDING,
}


def next_status(status: str, event: str) -> str | None:
    """The status after ``event``, or None when BANK-3 does not allow it from ``status``."""
    return _MOVES.get((status, event))


def refusal(status: str, event: str) -> str:
    """Why ``event`` is refused from ``status``, in words a user can act on."""
    if status == VERIFIED:
        return "a Verified account stays Verified (BANK-3)"
    if status == FAILED and event == "verify":
        return "a failed account is verified again only after new evidence puts it back to Pending Verification"
    if status == FAILED and event == "fail":
        return "the account already failed verification"
    if status == PENDING and event == "resubmit":
        return "the account is Pending Verification already: new evidence is for a failed account"
    return f"`{event}` is not possible from {status}"
