"""Bank account and routing numbers as users type them, and as everyone else sees them (BANK-7, BANK-8).

Routing numbers are checked with python-stdnum's ``us.rtn`` (9 digits and the
ABA checksum): a maintained implementation, not ours. Full account numbers are
only ever stored sealed (:mod:`engine.security.secret_box`); everywhere else —
views, logs, audit entries, emails — an account is its last four digits
(:func:`masked`).
"""

from __future__ import annotations

from dataclasses import dataclass

from stdnum.exceptions import ValidationError
from stdnum.us import rtn

#: US account numbers are 4 to 17 digits (NACHA's DFI account number field is 17 wide)
MIN_ACCOUNT, MAX_ACCOUNT = 4, 17


@dataclass(frozen=True)
class NumberProblem:
    """What is wrong with an entered number, and in which field (never echoing the number)."""

    field: str
    message: str


def routing_problem(value: object, *, field: str = "routing_number") -> NumberProblem | None:
    """BANK-8: 9 digits with a valid ABA checksum."""
    if not isinstance(value, str) or not value.isascii() or not value.isdigit() or len(value) != 9:
        return NumberProblem(field, "a routing number is 9 digits")
    try:
        rtn.validate(value)
    except ValidationError:
        return NumberProblem(field, "this routing number fails the ABA checksum: check it for a typo")
    return None


def account_problem(value: object, *, field: str = "account_number") -> NumberProblem | None:
    """An account number of 4 to 17 digits."""
    if not isinstance(value, str) or not value.isascii() or not value.isdigit() \
            or not MIN_ACCOUNT <= len(value) <= MAX_ACCOUNT:
        return NumberProblem(field, f"an account number is {MIN_ACCOUNT} to {MAX_ACCOUNT} digits")
    return None


def entered_twice_problems(number: object, confirmation: object, *, field: str,
                           check: str) -> list[NumberProblem]:
    """BANK-7: a number entered twice must be valid and the same both times (the mismatch message
    says which field, never either value)."""
    problem = routing_problem(number, field=field) if check == "routing" else account_problem(number, field=field)
    if problem is not None:
        return [problem]
    if number != confirmation:
        return [NumberProblem(f"{field}_confirmation", f"does not match {field}")]
    return []


def last_four(number: str) -> str:
    return number[-4:]


def masked(number_or_last_four: str) -> str:
    """BANK-8: how an account is shown: ``••••6789``."""
    return "\u2022\u2022\u2022\u2022" + number_or_last_four[-4:]
