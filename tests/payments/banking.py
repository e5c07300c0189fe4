"""Helpers for the bank-account tests: numbers typed twice, an MFA-enrolled user, codes from the clock."""

from __future__ import annotations

import weakref

import pytest
from sqlalchemy import func, select

from engine.errors import DomainError
from engine.payments.bank_accounts import AccountNumbers
from engine.security import enrollment, totp

def refused(call, code: str, rule: str | None = None) -> DomainError:
    """The DomainError ``call()`` raises, checked to carry ``code`` (and ``rule``, when given)."""
    with pytest.raises(DomainError) as e:
        call()
    assert e.value.code == code, (e.value.code, e.value.message)
    if rule is not None:
        assert e.value.rule == rule, (e.value.rule, e.value.message)
    return e.value


def count(svc, model) -> int:
    """How many rows ``model``'s table holds."""
    with svc.db.sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


#: valid ABA routing numbers (BANK-8)
ROUTING = "021000021"
OTHER_ROUTING = "011000015"


def numbers(account: str = "000123456789", routing: str = ROUTING, *, account_again: str | None = None,
            routing_again: str | None = None) -> AccountNumbers:
    """Numbers as a careful user types them, each twice (or, with ``*_again``, a second time differently)."""
    return AccountNumbers(routing, routing if routing_again is None else routing_again,
                          account, account if account_again is None else account_again)


#: who has enrolled, per service: user id -> their Authenticator (a weak key: a test's service goes with it)
_ENROLLED: dict[int, tuple[weakref.ref, dict[str, "Authenticator"]]] = {}


def _enrolled(svc) -> dict[str, "Authenticator"]:
    ref, users = _ENROLLED.get(id(svc), (None, None))
    if ref is None or ref() is not svc:
        users = {}
        _ENROLLED[id(svc)] = (weakref.ref(svc), users)
    assert users is not None
    return users


class Authenticator:
    """A user's authenticator app: enrolled through the engine, giving the current code; each
    ``code()`` moves the clock on one step first, so no two codes share a step (MFA-3).

    A user enrolls once per service: a second Authenticator for them (a test's own after a
    helper such as :func:`tests.roles.grant` enrolled the Admin) is the same app."""

    def __init__(self, svc, clock, company: str, user: str) -> None:
        self.svc, self.clock, self.user = svc, clock, user
        known = _enrolled(svc).get(user)
        if known is not None:
            self.secret = known.secret
            return
        started = enrollment.start_enrollment(svc, user, company)
        enrollment.confirm_enrollment(svc, user, company, code=self._now(started.setup_key))
        self.secret = started.setup_key
        _enrolled(svc)[user] = self

    def _now(self, secret: str) -> str:
        return totp.code_at_step(secret, totp.step_at(self.svc.now()))

    def code(self) -> str:
        self.clock.advance(seconds=30)
        return self._now(self.secret)

    def wrong(self) -> str:
        step = totp.step_at(self.svc.now())
        right = {totp.code_at_step(self.secret, step + k) for k in (-1, 0, 1, 2)}
        return next(c for c in (f"{n:06d}" for n in range(1000)) if c not in right)


def authenticator(svc, company: str, user: str) -> Authenticator:
    """``user``'s app, enrolling them (in ``company``) the first time; the clock is the service's.

    A service on the real clock (an HTTP test's app) is put on a test clock stopped at this
    moment, so that each code can move it one step on (two real codes within 30 s would share a
    step, MFA-3)."""
    if not callable(getattr(svc.clock, "advance", None)):
        from tests.db_fixtures import Clock

        svc.clock = Clock(svc.now())
    return Authenticator(svc, svc.clock, company, user)
