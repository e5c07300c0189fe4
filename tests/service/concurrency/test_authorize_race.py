"""Twenty authorizations of one disbursement at once (AUTH-11, GEN-7): exactly one drawdown and
one order per payment; every other request is refused cleanly and spends no code (AUTH-4).

Each racer is a distinct eligible Disburser with a valid code of its own, in its own thread with
its own Services (engine and connection), held at a barrier until all are ready. On PostgreSQL
the company and disbursement row locks serialise them; on SQLite ``BEGIN IMMEDIATE`` does.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from engine.errors import DomainError
from engine.payments import authorization
from engine.security import totp
from engine.security.permissions import PAYMENTS_DISBURSER
from engine.service import directory
from engine.services import Services
from engine.store.db import Database
from engine.store.tables import AuditEntry, Disbursement, Drawdown, MfaEnrollment, PaymentOrder
from tests.payments.authorizing import make_ready
from tests.payments.banking import Authenticator
from tests.roles import grant_role

RACERS = 20


@pytest.mark.rule("AUTH-11")
@pytest.mark.rule("ROLE-2")
@pytest.mark.rule("GEN-7")
def test_twenty_concurrent_authorizations_make_exactly_one_drawdown(svc, clock, database_url: str) -> None:
    r = make_ready(svc, clock)
    d = r.disbursement(("1200.00", None), ("34.56", None))
    users = []
    for i in range(RACERS):
        email = f"disburser{i}@gc.example"
        user = directory.create_user(svc, email, f"Disburser {i}").id
        directory.add_member(svc, r.w.admin, r.w.company, email)
        grant_role(svc, r.w.admin, r.w.company, user, PAYMENTS_DISBURSER)
        users.append(Authenticator(svc, clock, r.w.company, user))
    clock.advance(seconds=30)  # every racer's code is of a step none of them used yet
    codes = [totp.code_at_step(a.secret, totp.step_at(clock())) for a in users]

    barrier = threading.Barrier(RACERS)
    outcomes: list[object] = [None] * RACERS

    def run(i: int) -> None:
        db = Database(database_url, pool_size=1, max_overflow=0) if "postgresql" in database_url \
            else Database(database_url)
        mine = Services(db, clock=clock)
        try:
            with mine.db.sessions() as s:
                s.scalar(select(func.count()).select_from(Disbursement))  # connect before the start line
            barrier.wait(timeout=60)
            try:
                outcomes[i] = authorization.authorize(mine, users[i].user, r.w.company, d, mfa_code=codes[i])
            except BaseException as exc:  # noqa: BLE001 - every failure is an outcome here
                outcomes[i] = exc
        finally:
            db.dispose()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(RACERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
        assert not t.is_alive(), "a racer did not finish (deadlock?)"

    won = [o for o in outcomes if isinstance(o, authorization.AuthorizationView)]
    lost = Counter(o.code for o in outcomes if isinstance(o, DomainError))
    other = [repr(o) for o in outcomes if not isinstance(o, (authorization.AuthorizationView, DomainError))]
    assert not other, other
    assert len(won) == 1, (len(won), lost)
    assert set(lost) <= {"disbursement_authorized", "state_conflict"}, lost
    assert sum(lost.values()) == RACERS - 1
    winner = won[0]
    with svc.db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Drawdown)) == 1
        orders = list(s.scalars(select(PaymentOrder)))
        assert len(orders) == 2 and len({o.invoice_id for o in orders}) == 2
        assert len({o.check_number for o in orders}) == 2
        assert sum(o.amount for o in orders) == winner.drawdown_amount == s.scalar(select(Drawdown.amount))
        row = s.get(Disbursement, d)
        assert row.authorized_by == winner.authorized_by and row.drawdown_status == "Funding Requested"
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "disbursement_authorized")) == 1
        # AUTH-4: only the winner's code was spent; nobody's failure was counted
        spent = [u.user for u in users if s.get(MfaEnrollment, u.user).last_step == totp.step_at(clock())]
        assert spent == [winner.authorized_by]
        assert all(s.get(MfaEnrollment, u.user).failures == 0 for u in users)
