"""One-time codes (TOTP, RFC 6238): enrollment secrets, their otpauth URI, and checking a code.

Pure: the caller passes the moment and the last step it accepted for the user,
and stores what comes back, so the rules are testable without a database or a
clock. pyotp computes the codes; this module owns the product's rules about them:

- MFA-1: 6 digits, 30-second steps, HMAC-SHA1; a code is a string (leading zeros
  kept), so ``"012345"`` and ``12345`` are not the same input, and anything but
  exactly six ASCII digits is wrong before any secret is touched;
- MFA-2: the current step or one either side, each compared in constant time
  (all three are computed and compared whatever the first comparisons gave);
- MFA-3: no reuse: the accepted step is returned for the caller to store, and a
  code for that step or an earlier one is refused as ``replayed``, whichever
  device it comes from;
- MFA-4: a random 160-bit secret.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from urllib.parse import quote

import pyotp

DIGITS = 6
STEP_SECONDS = 30
#: MFA-2: one step either side of the current one
WINDOW = 1
SECRET_BITS = 160


def new_secret() -> str:
    """A random 160-bit secret, in base32 (32 characters): the setup key (MFA-4)."""
    return pyotp.random_base32(length=SECRET_BITS // 5)


def step_at(moment: datetime) -> int:
    """The 30-second step ``moment`` falls in (RFC 6238's T)."""
    if moment.tzinfo is None:
        raise ValueError("a TOTP moment must be timezone-aware")
    return int(moment.timestamp()) // STEP_SECONDS


def provisioning_uri(secret: str, *, account: str, issuer: str = "payroute") -> str:
    """The ``otpauth://totp/...`` URI an authenticator app reads from the QR code (MFA-4)."""
    label = f"{quote(issuer, safe='')}:{quote(account, safe='@')}"
    return (f"otpauth://totp/{label}?secret={secret}&issuer={quote(issuer, safe='')}"
            f"&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}")


def code_at_step(secret: str, step: int) -> str:
    """The code of ``step`` (for tests and for a simulated authenticator)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).at(step * STEP_SECONDS)


def well_formed(code: object) -> bool:
    """Exactly six ASCII digits (MFA-1)."""
    return isinstance(code, str) and len(code) == DIGITS and code.isascii() and code.isdigit()


Outcome = Literal["accepted", "wrong", "replayed"]


@dataclass(frozen=True)
class Verdict:
    """What a code is worth: ``accepted`` at ``step`` (store it as the user's last step), ``wrong``
    (counts as a failure, MFA-11), or ``replayed``: a right code for a step already used (MFA-3),
    which also counts as a failure, since an attacker replaying an observed code is one."""

    outcome: Outcome
    step: int | None = None

    @property
    def accepted(self) -> bool:
        return self.outcome == "accepted"


def check(secret: str, code: object, *, at: datetime, last_step: int | None) -> Verdict:
    """Check ``code`` against ``secret`` at ``at``, given the last step accepted for this user."""
    if not well_formed(code):
        return Verdict("wrong")
    assert isinstance(code, str)
    now = step_at(at)
    matched: int | None = None
    for step in range(max(0, now - WINDOW), now + WINDOW + 1):  # no step before the epoch
        # every candidate is computed and compared: the time taken does not say which one matched
        if hmac.compare_digest(code_at_step(secret, step), code) and matched is None:
            matched = step
    if matched is None:
        return Verdict("wrong")
    if last_step is not None and matched <= last_step:
        return Verdict("replayed")
    return Verdict("accepted", matched)
