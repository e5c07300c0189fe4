"""Weeks of workflow history for a live demo server, made through the engine's own commands.

The demo seed answers its disbursements within a second of making them, so its inbox has
nothing overdue and its insights time nothing. A page test that must show an overdue row or a
chart with real spread makes that history here: the same commands a user's requests run
(create a disbursement, answer its steps), on the live server's database, under an injected
clock set in the past and moved forward between answers — never rows written by hand.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from engine.service import directory, disbursements, instances
from engine.service.demo import find_demo
from engine.service.disbursement_queries import get_disbursement
from engine.service.disbursements import PaymentLine
from engine.services import Services
from engine.store.db import Database


class _Clock:
    def __init__(self, start: datetime) -> None:
        self.moment = start

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **kwargs: float) -> None:
        self.moment += timedelta(**kwargs)


#: (amount, hours the Controller takes, the Controller's answer, hours the CFO takes or None to leave it waiting)
_STORIES = (
    ("18250.00", 3, "Approve", None),
    ("142000.00", 20, "Approve", 30),
    ("96400.00", 50, "Approve", None),
    ("275000.00", 8, "Approve", 140),
    ("12875.50", 1, "Reject", None),
    ("188300.00", 30, "Approve", 18),
    ("41000.00", 150, "Approve", None),
    ("133700.00", 70, "Reject", None),
)


def make_history(database_url: str, *, overdue: bool = True) -> str:
    """Disbursements answered over the past weeks (for the insights), and with ``overdue`` one
    more left waiting at Controller Review for eight days (an overdue inbox row); returns that
    waiting disbursement's id (or "" without ``overdue``)."""
    import pytest

    db = Database(database_url)
    # the live server's own keys (the demo's development key), as the tests' autouse fixture sets
    # them for each test: this may run in a module-scoped fixture, before that fixture does
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PAYROUTE_INSECURE_DEVELOPMENT_KEY", "1")
        env.delenv("PAYROUTE_AUDIT_KEY", raising=False)
        env.delenv("PAYROUTE_AUDIT_KEY_FILE", raising=False)
        return _make(db, overdue)


def _make(db: Database, overdue: bool) -> str:
    try:
        now = datetime.now(timezone.utc)
        clock = _Clock(now - timedelta(days=35))  # the stories take about 24 days
        svc = Services(db, clock=clock)
        demo = find_demo(svc)
        assert demo is not None, "the live server seeds the demo before it serves"
        u = demo.users
        admin, disburser = u["admin@demo.example"], u["disburser@demo.example"]
        project = demo.projects[1]
        invoices = directory.list_invoices(svc, admin, demo.company, demo.projects[0]).items
        payee = invoices[0].payee_id
        funding = get_disbursement(svc, admin, demo.company,
                                                 demo.disbursements["approved"]).disbursement.funding_account_id
        assert funding is not None

        def new(amount: str, number: str) -> str:
            invoice = directory.create_invoice(svc, admin, demo.company, project, payee=payee, number=number,
                                               amount_due=amount).id
            return disbursements.create_disbursement(svc, disburser, demo.company, project_id=project,
                                                     funding_account=funding, payments=[PaymentLine(invoice)]).id

        def answer(who: str, d: str, reply: str) -> None:
            where = instances.view(svc, admin, demo.company, d)
            assert where is not None and where.current_occurrence is not None
            instances.respond(svc, u[who], demo.company, d, occurrence=where.current_occurrence, answer=reply)

        for n, (amount, controller_hours, reply, cfo_hours) in enumerate(_STORIES, start=1):
            d = new(amount, f"HIST-{n:03d}")
            clock.advance(hours=controller_hours)
            answer("controller@demo.example", d, reply)
            where = instances.view(svc, admin, demo.company, d)
            if cfo_hours is not None and where is not None and where.current_step == "CFO Review":
                clock.advance(hours=cfo_hours)
                answer("cfo@demo.example", d, "Approve")
            clock.advance(hours=6)
        if not overdue:
            return ""
        clock.moment = now - timedelta(days=8)
        return new("57300.00", "HIST-LATE")
    finally:
        db.dispose()
