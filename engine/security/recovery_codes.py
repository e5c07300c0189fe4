"""Recovery codes: 10 per user, 12 digits each, shown once, stored only as argon2 hashes (MFA-6, MFA-7).

Why argon2 (argon2-cffi) and not a fast hash: a 12-digit code has only 40 bits,
so a fast hash of it falls to a brute force as soon as a dump leaks; a salted,
memory-hard hash makes every guess expensive. The codes are made with
:mod:`secrets`; a user types them with or without spaces or dashes
(``1234-5678-9012``), which :func:`normalize` removes before anything is hashed.

Pure: what to store and what matched is returned; the caller spends a matched
code (MFA-6: single use) and replaces the whole set when regenerating (MFA-7).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

COUNT = 10
DIGITS = 12
_SEPARATORS = re.compile(r"[\s-]")

#: argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): ~60 ms per hash on one
#: core here. Why not more: matching tries every stored code (10 hashes per attempt), and 40-bit
#: single-use codes behind a 10-failure lockout (MFA-11) are attacked offline, where the memory
#: cost, not the time, is what a GPU pays for.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def new_codes(count: int = COUNT) -> list[str]:
    """``count`` fresh codes of 12 digits (uniform, leading zeros kept), all different."""
    made: set[str] = set()
    while len(made) < count:
        made.add(f"{secrets.randbelow(10 ** DIGITS):0{DIGITS}d}")
    return sorted(made)


def display(code: str) -> str:
    """``123456789012`` → ``1234-5678-9012``: how a code is shown once to the user."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def normalize(typed: object) -> str | None:
    """The 12 digits of what the user typed, or None when it cannot be a recovery code."""
    if not isinstance(typed, str) or len(typed) > 64:
        return None
    digits = _SEPARATORS.sub("", typed)
    if len(digits) != DIGITS or not digits.isascii() or not digits.isdigit():
        return None
    return digits


def hash_code(code: str) -> str:
    """The argon2 hash to store for ``code`` (a fresh salt each time)."""
    digits = normalize(code)
    if digits is None:
        raise ValueError("a recovery code is 12 digits")
    return _HASHER.hash(digits)


def hash_codes(codes: Sequence[str]) -> list[str]:
    return [hash_code(c) for c in codes]


def matching(typed: object, stored: Sequence[str]) -> int | None:
    """The index of the stored hash ``typed`` matches (to spend it, MFA-6), or None.

    Every stored hash is tried, so the time taken does not say which one matched.
    """
    digits = normalize(typed)
    if digits is None:
        return None
    found: int | None = None
    for index, hashed in enumerate(stored):
        try:
            ok = _HASHER.verify(hashed, digits)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            ok = False
        if ok and found is None:
            found = index
    return found
