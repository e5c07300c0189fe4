"""Random use of the money flow: a Hypothesis state machine over create / approve / authorize /
dispatch / poll / time / the simulated bank's levers / repeated and backward bank events, on a
real database (SQLite; PostgreSQL too when ``PAYROUTE_TEST_DATABASE_URL`` is set), checking after
every step what must always hold.

A separate machine from :mod:`tests.properties.test_workflow_state_machine`: that one fuzzes the
workflow (its own flow, no bank accounts, nobody enrolled in MFA); this one takes the workflow as
given (the reference workflow, approved by the Controller) and fuzzes what happens to the money
after it — the company of :func:`tests.payments.authorizing.make_ready`, two payees, two
authorizers enrolled in MFA (the Admin and the Controller, a Disburser) and one who is not (the
creator, a Disburser).

Rules covered (domain.md): AUTH-2..AUTH-5, AUTH-8, AUTH-10, AUTH-11, MFA-3, MFA-8, ST-3..ST-6,
FLOW-1, FLOW-3..FLOW-7, FLOW-9, DSB-5, DSB-14, AUD-5, AUD-6.

Invariants, after every step:

- authorized ⇒ the workflow is Approved, the authorizer approved none of its invoices (AUTH-5)
  and is enrolled, and exactly one fresh code was spent for it: the authorizer's MFA last step
  moved once, to the step of the code given (checked in the step), and there is one
  ``mfa_verified`` entry for ``authorize`` per authorization (invariant);
- a refused authorize changed no money row, and moved no one's MFA last step; only a bad code
  counts a failure, and a wrong code does not spend the good one;
- money is conserved: the payment orders of a drawdown sum to exactly its amount (FLOW-1, FLOW-4);
  the simulated bank's balances (funding + deposit + beneficiaries) total what was credited;
  an invoice's amount due + its completed payments = its original amount (DSB-14);
- nothing is paid twice: at most one Completed order per (disbursement, invoice);
- Funding Completed ⇒ every order was sent in that transaction (FLOW-4); Funding Failed ⇒ no order
  was ever Requested, every payment is Not Initiated and the invoices are released (FLOW-6);
  a Failed order keeps its invoice reserved (FLOW-7);
- the engine never runs ahead of the bank: a Completed / Failed status is the bank's answer;
- each instruction id is taken by the bank at most once, and the bank took exactly the
  instructions whose outbox rows are sent (FLOW-9, AUD-5);
- a repeated bank event writes nothing; a backward one writes one ``bank_event_ignored`` entry
  and changes nothing else (FLOW-9); each status change has exactly one audit entry, and each
  funding or payment failure its emails once (AUD-6);
- an invoice joins a new disbursement only once released or paid in part (DSB-5, FLOW-6, FLOW-7);
- every audit chain verifies.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlalchemy import func, select

from engine.errors import DomainError
from engine.payments import authorization, stored_bank
from engine.payments.bank import BankRefused, Instruction, Receipt, Status
from engine.payments.dispatch import dispatch
from engine.payments.settlement import apply_event, poll
from engine.payments.simulated_bank import Book
from engine.runtime import funds
from engine.security import totp
from engine.service import audit, disbursements, instances
from engine.service.disbursements import PaymentLine
from engine.services import Services
from engine.store.db import Database
from engine.store.tables import (
    AuditEntry,
    Disbursement,
    DisbursementItem,
    Drawdown,
    Invoice,
    MfaEnrollment,
    OutboxEmail,
    PaymentOrder,
    SimulatedBankBook,
)
from tests.db_fixtures import PG_URL, Clock, _pg_schema_url
from tests.payments.authorizing import Ready, make_ready
from tests.payments.banking import Authenticator

RULES = ("AUTH-2", "AUTH-3", "AUTH-4", "AUTH-5", "AUTH-8", "AUTH-10", "AUTH-11", "MFA-3", "MFA-8",
         "ST-3", "ST-4", "ST-5", "ST-6", "FLOW-1", "FLOW-3", "FLOW-4", "FLOW-5", "FLOW-6", "FLOW-7",
         "FLOW-9", "DSB-5", "DSB-14", "AUD-5", "AUD-6")

NEW_YORK = ZoneInfo("America/New_York")
VENDORS = ("Acme Concrete", "Beta Steel")
#: invoice (amount due, amount paid or None for in full); the reference workflow's CFO step starts
#: above $100,000.00, so these all go to the Controller alone
LINES = (("1000.00", None), ("250.50", None), ("4000.00", "1500.00"), ("75.25", None), ("3000.00", None))
FUNDING = ("1000000.00", "6000.00", "0.00")  # first = the simplest: every drawdown settles
TIMEOUT_REASON = "the payee's bank rejected the order"


# ---------------------------------------------------------------- the bank, counted


class CountingBank:
    """The stored simulated bank, every call counted: ``Services(db, banks={False: this})``."""

    def __init__(self, inner: stored_bank.StoredBank) -> None:
        self.inner = inner
        self.submits: Counter[str] = Counter()
        self.receipts: Counter[str] = Counter()

    def submit(self, instruction: Instruction, *, at: datetime) -> Receipt:
        self.submits[instruction.id] += 1
        receipt = self.inner.submit(instruction, at=at)
        self.receipts[instruction.id] += 1
        return receipt

    def status(self, instruction_id: str, *, at: datetime) -> Status:
        return self.inner.status(instruction_id, at=at)

    def statuses(self, instruction_ids: Sequence[str], *, at: datetime) -> dict[str, Status | BankRefused]:
        return self.inner.statuses(instruction_ids, at=at)


# ---------------------------------------------------------------- one ready company, built once


@dataclass
class Template:
    """A SQLite file holding a company ready to authorize, copied for every example (building it
    costs seconds: two MFA enrollments hash twenty recovery codes with argon2)."""

    path: Path
    ready: Ready
    moment: datetime


_TEMPLATE: list[Template] = []


def _build(svc: Services, clock: Clock) -> Ready:
    r = make_ready(svc, clock)
    for vendor in VENDORS:
        r.payee_account(vendor)
    return r


def _template() -> Template:
    if not _TEMPLATE:
        folder = Path(tempfile.mkdtemp(prefix="payroute-money-template-", dir=_fast_tmp()))
        path = folder / "ready.sqlite3"
        db = Database(f"sqlite:///{path}")
        db.create_all()
        clock = Clock(datetime(2026, 3, 2, 14, 0, tzinfo=timezone.utc))  # a Monday, 09:00 New York
        r = _build(Services(db, clock=clock), clock)
        db.dispose()
        _TEMPLATE.append(Template(path, r, clock()))
    return _TEMPLATE[0]


def _fast_tmp() -> str | None:
    """A memory file system when there is one: SQLite's commits there cost no fsync."""
    return "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


def _rebind(r: Ready, svc: Services, clock: Clock) -> Ready:
    def authenticator(a: Authenticator) -> Authenticator:
        copy = Authenticator.__new__(Authenticator)
        copy.svc, copy.clock, copy.user, copy.secret = svc, clock, a.user, a.secret
        return copy

    w = replace(r.w, svc=svc, payees=dict(r.w.payees))
    return Ready(w, authenticator(r.admin), authenticator(r.controller), dict(r.beneficiary), r._accounts)


# ---------------------------------------------------------------- the model


@dataclass
class Planned:
    """What the model knows of one disbursement."""

    id: str
    vendor: str
    #: invoice id -> (amount due when it joined, amount paid)
    lines: dict[str, tuple[Decimal, Decimal]]
    approver: str | None
    approved: bool
    authorized_by: str | None = None

    @property
    def partial(self) -> bool:
        return any(paid < due for due, paid in self.lines.values())


@dataclass
class Mfa:
    last_step: int | None
    failures: int = 0
    #: the last code accepted (to replay it)
    spent: str | None = None


@dataclass
class Model:
    planned: list[Planned] = field(default_factory=list)
    #: invoice id -> its amount due when registered
    originals: dict[str, Decimal] = field(default_factory=dict)
    credited: Decimal = Decimal("0.00")
    #: order ids ever seen Requested / Completed / Failed (FLOW-6: never, for a failed drawdown)
    ever_sent: set[str] = field(default_factory=set)
    #: users -> how many disbursements they authorized
    authorized: Counter[str] = field(default_factory=Counter)


class MoneyFlow(RuleBasedStateMachine):
    """One company ready to authorize, two payees, up to four disbursements; every step is one
    command, worker round, tick of the clock or lever of the bank, with random arguments."""

    backend = "sqlite"

    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock(datetime(2026, 3, 2, 14, 0, tzinfo=timezone.utc))
        self._cleanup: list[Callable[[], None]] = []
        url = self._database()
        self.db = Database(url, pool_size=2, max_overflow=0) if url.startswith("postgresql") else Database(url)
        self._cleanup.insert(0, self.db.dispose)
        self.bank = CountingBank(stored_bank.StoredBank(self.db))
        self.svc = Services(self.db, clock=self.clock, banks={False: self.bank})
        self.model = Model()

    def _database(self) -> str:
        if self.backend == "sqlite":
            template = _template()
            folder = Path(tempfile.mkdtemp(prefix="payroute-money-", dir=_fast_tmp()))
            self._cleanup.append(lambda: shutil.rmtree(folder, ignore_errors=True))
            shutil.copyfile(template.path, folder / "money.sqlite3")
            self.clock.moment = template.moment
            return f"sqlite:///{folder / 'money.sqlite3'}"
        from sqlalchemy import create_engine, text

        from engine.store.db import normalize_url

        schema = f"t_{uuid.uuid4().hex[:12]}"
        admin = create_engine(normalize_url(PG_URL or ""))
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))

        def drop() -> None:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()

        self._cleanup.append(drop)
        return _pg_schema_url(schema)

    def teardown(self) -> None:
        for step in self._cleanup:
            step()

    # ------------------------------------------------------------ set-up

    @initialize(funding=st.sampled_from(FUNDING))
    def company(self, funding: str) -> None:
        if self.backend == "sqlite":
            self.db.create_all()  # a no-op on the copy: its tables are there
            self.r = _rebind(_template().ready, self.svc, self.clock)
        else:
            self.db.create_all()
            self.r = _build(self.svc, self.clock)
        self.users = {"admin": self.r.admin, "controller": self.r.controller}
        self.ids = {"admin": self.r.w.admin, "controller": self.r.w.controller, "creator": self.r.w.creator}
        with self.db.sessions() as s:
            self.mfa = {name: Mfa(s.get(MfaEnrollment, a.user).last_step) for name, a in self.users.items()}
        self.deposit = self._deposit_account()
        if Decimal(funding) > 0:
            self._credit(funding)
        # one disbursement authorized from the start, so every run has money moving
        self.create([("1000.00", None), ("250.50", None)], VENDORS[0], None, True)
        self.authorize_first()

    def authorize_first(self) -> None:
        p = self.model.planned[0]
        code = self.r.admin.code()
        view = authorization.authorize(self.svc, self.r.w.admin, self.r.w.company, p.id, mfa_code=code)
        p.authorized_by = view.authorized_by
        self.model.authorized[view.authorized_by] += 1
        with self.db.sessions() as s:
            row = s.get(MfaEnrollment, self.r.w.admin)
            self.mfa["admin"] = Mfa(row.last_step, spent=code)

    def _deposit_account(self) -> str:
        from engine.payments import bank_accounts

        return bank_accounts.read_bank_account(self.svc, self.r.w.admin, self.r.w.company,
                                               self.r.w.funding).deposit_account_id

    def _credit(self, amount: str) -> None:
        stored_bank.credit(self.db, stored_bank.PRODUCTION, self.r.w.funding, amount, now=self.clock())
        self.model.credited += Decimal(amount)

    # ------------------------------------------------------------ commands: users

    @precondition(lambda self: len(self.model.planned) < 5)
    @rule(lines=st.lists(st.sampled_from(LINES), min_size=1, max_size=3),
          vendor=st.sampled_from(VENDORS),
          approver=st.sampled_from((None, None, "admin", "controller")),
          approve=st.sampled_from((True, True, True, False)))
    def create(self, lines: list[tuple[str, str | None]], vendor: str, approver: str | None, approve: bool) -> None:
        """A disbursement of fresh invoices (all of them approved by ``approver``: AUTH-5's conflict)."""
        approved_by = self.ids[approver] if approver else None
        d = self.r.disbursement(*lines, vendor=vendor, approve=approve, approved_by=approved_by)
        with self.db.sessions() as s:
            items = list(s.scalars(select(DisbursementItem).where(DisbursementItem.disbursement_id == d)
                                   .order_by(DisbursementItem.position)))
            originals = {i.invoice_id: s.get(Invoice, i.invoice_id).amount_due for i in items}
        self.model.originals.update(originals)
        self.model.planned.append(Planned(d, vendor, {i.invoice_id: (originals[i.invoice_id], i.amount)
                                                      for i in items}, approved_by, approve))

    @precondition(lambda self: len(self.model.planned) < 5)
    @rule(data=st.data())
    def redisburse(self, data: st.DataObject) -> None:
        """An invoice already paid by another disbursement joins a new one for what it still owes:
        refused while reserved (DSB-5: a Failed payment keeps it, FLOW-7) or once Paid; accepted once
        released (Funding Failed, FLOW-6) or paid in part (DSB-14)."""
        invoice_id = data.draw(st.sampled_from(list(self.model.originals)), label="invoice")
        with self.db.sessions() as s:
            inv = s.get(Invoice, invoice_id)
            due, status, reserved, vendor = inv.amount_due, inv.status, inv.reserved_by, inv.payee_company_id
            approver = inv.approved_by  # AUTH-5 follows the invoice into the new disbursement
        expected = "invalid_invoice" if status != "Unpaid" else "invoice_reserved" if reserved else None
        try:
            d = disbursements.create_disbursement(self.svc, self.r.w.creator, self.r.w.company,
                                                  project_id=self.r.w.project, funding_account=self.r.w.funding,
                                                  payments=[PaymentLine(invoice_id)]).id
        except DomainError as exc:
            event(f"redisburse refused: {exc.code}")
            assert exc.code == expected, (exc.code, expected)
            return
        assert expected is None, f"an invoice {status}, reserved by {reserved}, joined a new disbursement"
        event("redisbursed")
        view = instances.view(self.svc, self.r.w.admin, self.r.w.company, d)
        instances.respond(self.svc, self.r.w.controller, self.r.w.company, d, occurrence=view.current_occurrence,
                          answer="Approve")
        name = next(n for n, c in self.r.w.payees.items() if c == vendor)
        self.model.planned.append(Planned(d, name, {invoice_id: (due, due)}, approver, True))

    @precondition(lambda self: any(not p.approved for p in self.model.planned))
    @rule(data=st.data())
    def approve(self, data: st.DataObject) -> None:
        """The Controller approves a disbursement still Under Review (the workflow's one step)."""
        p = data.draw(st.sampled_from([p for p in self.model.planned if not p.approved]), label="disbursement")
        view = instances.view(self.svc, self.r.w.admin, self.r.w.company, p.id)
        instances.respond(self.svc, self.r.w.controller, self.r.w.company, p.id,
                          occurrence=view.current_occurrence, answer="Approve")
        p.approved = True

    @precondition(lambda self: bool(self.model.planned))
    @rule(data=st.data(), who=st.sampled_from(("admin", "admin", "controller", "creator")),
          code=st.sampled_from(("fresh", "fresh", "wrong_then_fresh", "replayed")),
          confirm=st.sampled_from((True, True, False)))
    def authorize(self, data: st.DataObject, who: str, code: str, confirm: bool) -> None:
        waiting = [p for p in self.model.planned if p.authorized_by is None]
        # mostly one not yet authorized (else runs rarely get past the first); sometimes any (AUTH-11)
        anyone = not waiting or data.draw(st.sampled_from((False, False, False, True)), label="any")
        p = data.draw(st.sampled_from(self.model.planned if anyone else waiting), label="disbursement")
        user = self.ids[who]
        expected = self._expected_refusal(p, who, confirm)
        if who == "creator":  # AUTH-3: a Disburser, but not enrolled in MFA
            self._refused(p, who, lambda: authorization.authorize(self.svc, user, self.r.w.company, p.id,
                                                                  mfa_code="000000", confirm_partial=confirm),
                          expected)
            return
        a, mfa = self.users[who], self.mfa[who]
        if code == "replayed" and mfa.spent is not None and mfa.failures < 8:
            # MFA-3: a code whose step was spent is refused (last, AUTH-4) and counted
            self._refused(p, who, lambda: authorization.authorize(self.svc, user, self.r.w.company, p.id,
                                                                  mfa_code=mfa.spent, confirm_partial=confirm),
                          expected or "mfa_failed")
            return
        good = a.code()
        if code == "wrong_then_fresh" and mfa.failures < 8:
            self._refused(p, who, lambda: authorization.authorize(self.svc, user, self.r.w.company, p.id,
                                                                  mfa_code=a.wrong(), confirm_partial=confirm),
                          expected or "mfa_failed")
        call = lambda: authorization.authorize(self.svc, user, self.r.w.company, p.id,  # noqa: E731
                                               mfa_code=good, confirm_partial=confirm)
        if expected is not None:
            self._refused(p, who, call, expected)
            return
        # the good code, even after a wrong one: it was not spent (AUTH-4)
        before = self._money()
        view = call()
        event("authorized")
        p.authorized_by = user
        self.model.authorized[user] += 1
        with self.db.sessions() as s:
            row = s.get(MfaEnrollment, user)
            assert row.last_step == totp.step_at(self.clock()), "AUTH-11: the code given is the one spent"
            assert mfa.last_step is None or row.last_step > mfa.last_step, "MFA-3: a fresh step, once"
            assert row.failures == 0
        mfa.last_step, mfa.failures, mfa.spent = row.last_step, 0, good
        assert view.drawdown_status == "Funding Requested" and view.authorized_by == user
        assert view.drawdown_amount == sum((paid for _, paid in p.lines.values()), Decimal("0.00"))
        assert {o.invoice_id: o.amount for o in view.orders} == {i: paid for i, (_, paid) in p.lines.items()}
        assert all(o.status == "Not Initiated" for o in view.orders)
        after = self._money()
        assert after["drawdowns"] == before["drawdowns"] + 1 and after["orders"] == before["orders"] + len(p.lines)
        assert after["bank_rows"] == before["bank_rows"] + 1, "AUTH-11: the drawdown's instruction, queued once"

    def _expected_refusal(self, p: Planned, who: str, confirm: bool) -> str | None:
        """The code authorize must refuse with, in the order authorization checks (None: accepted
        when the code is good)."""
        if p.authorized_by is not None:
            return "disbursement_authorized"
        if not p.approved:
            return "workflow_not_approved"
        if who == "creator":
            return "mfa_not_enrolled"
        if p.approver == self.ids[who]:
            return "sod_violation"
        if p.partial and not confirm:
            return "partial_payment_unconfirmed"
        return None

    def _refused(self, p: Planned, who: str, call: Callable[[], Any], expected: str) -> None:
        before = self._money()
        mfa_before = self._mfa_rows()
        try:
            call()
        except DomainError as exc:
            event(f"authorize refused: {exc.code}")
            assert exc.code == expected, (exc.code, expected, exc.message)
            if exc.code == "sod_violation":
                assert exc.rule == "AUTH-5" and exc.details["role"] == "invoice approver"
        else:
            raise AssertionError(f"authorize by {who} of {p.id} passed; expected {expected}")
        assert self._money() == before, f"a refused authorize ({expected}) changed the money"
        after = self._mfa_rows()
        for name in self.mfa:
            (last_before, fail_before), (last_after, fail_after) = mfa_before[name], after[name]
            assert last_after == last_before, "AUTH-4: a refused authorize spends no code"
            if expected == "mfa_failed" and name == who:
                assert fail_after == fail_before + 1, "MFA-11: a bad code counts a failure"
            else:
                assert fail_after == fail_before, "AUTH-4: a refusal for another reason counts no failure"
            self.mfa[name].failures = fail_after

    # ------------------------------------------------------------ commands: the worker

    @rule()
    def dispatch(self) -> None:
        report = dispatch(self.svc)
        event(f"dispatch sent {min(report.sent, 2)}+")
        assert report.dead == 0, report.error

    @rule()
    def poll(self) -> None:
        report = poll(self.svc)
        assert report.errors == 0, report.error
        with self.db.sessions() as s:
            for status in s.scalars(select(Drawdown.status).distinct()):
                event(f"a drawdown {status}")
            for status in s.scalars(select(PaymentOrder.status).distinct()):
                event(f"an order {status}")

    @rule()
    def business_day(self) -> None:
        """The worker through a day: submit, to the evening, ask, submit what that released, ask."""
        self.dispatch()
        self.advance_clock("evening")
        self.poll()
        self.dispatch()
        self.poll()

    @rule(step=st.sampled_from(("30s", "2min", "1h", "evening", "evening", "day")))
    def advance_clock(self, step: str) -> None:
        if step == "evening":  # to 18:00 New York, today's or the next: what was requested settles
            local = self.clock().astimezone(NEW_YORK)
            evening = datetime.combine(local.date(), time(18, 1), NEW_YORK)
            if evening <= local:
                evening += timedelta(days=1)
            self.clock.moment = evening.astimezone(timezone.utc)
            return
        self.clock.advance(**{"30s": {"seconds": 30}, "2min": {"minutes": 2}, "1h": {"hours": 1},
                              "day": {"days": 1}}[step])

    # ------------------------------------------------------------ the bank's levers

    @rule(amount=st.sampled_from(("5000.00", "250.00")))
    def credit(self, amount: str) -> None:
        self._credit(amount)

    @rule(seconds=st.sampled_from((None, 60)))
    def settle_after(self, seconds: int | None) -> None:
        stored_bank.set_settle_after(self.db, stored_bank.PRODUCTION, seconds, now=self.clock())

    @precondition(lambda self: bool(self._unsent()))
    @rule(data=st.data(), times=st.integers(1, 3))
    def script_timeouts(self, data: st.DataObject, times: int) -> None:
        """The bank times out on an instruction not yet taken: the worker retries it, same id."""
        target = data.draw(st.sampled_from(self._unsent()), label="instruction")
        stored_bank.script_timeouts(self.db, stored_bank.PRODUCTION, target, times, now=self.clock())

    @precondition(lambda self: bool(self._unsettled()))
    @rule(data=st.data())
    def script_failure(self, data: st.DataObject) -> None:
        """An instruction the bank has not settled fails when it does: a drawdown is rejected
        (FLOW-3), an order fails on its own (FLOW-5)."""
        target, kind = data.draw(st.sampled_from(self._unsettled()), label="instruction")
        reason = "bank-side approvals not completed" if kind == "drawdown" else TIMEOUT_REASON
        stored_bank.script_failure(self.db, stored_bank.PRODUCTION, target, reason, now=self.clock())

    @rule(vendor=st.sampled_from(VENDORS))
    def close_payee_account(self, vendor: str) -> None:
        """The payee's account closes at the bank: every order to it still to settle fails (FLOW-5)."""
        stored_bank.close(self.db, stored_bank.PRODUCTION, self.r.beneficiary[vendor], now=self.clock())

    # ------------------------------------------------------------ bank events, repeated or backward

    @precondition(lambda self: bool(self._final_events()))
    @rule(data=st.data())
    def replay_bank_event(self, data: st.DataObject) -> None:
        """FLOW-9: a repeated event is a no-op; one that would move a final status backward, or names
        an order never sent, is recorded as ``bank_event_ignored`` and changes nothing else."""
        company, d, ev, duplicate = data.draw(st.sampled_from(self._final_events()), label="event")
        before, entries = self._money(), self._audit_actions()
        transition = apply_event(self.svc, company, d, ev)
        assert all(isinstance(e, funds.Ignored) for e in transition.effects), transition.effects
        assert [e.duplicate for e in transition.effects] == [duplicate]
        event("bank event " + ("repeated" if duplicate else "ignored"))
        assert self._money() == before, "FLOW-9: a repeated or backward event changed the money"
        added = self._audit_actions()[len(entries):]
        assert added == ([] if duplicate else ["bank_event_ignored"]), added

    @precondition(lambda self: bool(self._open()))
    @rule(data=st.data(), times=st.integers(1, 2))
    def bank_calls_back(self, data: st.DataObject, times: int) -> None:
        """The bank's answer arrives as a call (a webhook) rather than through poll, maybe twice:
        the first applies, a repeat is a no-op, and poll then has nothing left to ask about it."""
        item = data.draw(st.sampled_from(self._open()), label="instruction")
        status = self.bank.status(item.instruction_id, at=self.clock())
        ev = status.event(item.kind)
        if ev is None:
            event("call back: still pending")
            return
        assert item.disbursement_id is not None
        first = apply_event(self.svc, item.company_id, item.disbursement_id, ev)
        assert not any(isinstance(e, funds.Ignored) for e in first.effects), first.effects
        for _ in range(times - 1):
            before, entries = self._money(), self._audit_actions()
            again = apply_event(self.svc, item.company_id, item.disbursement_id, ev)
            assert [type(e) for e in again.effects] == [funds.Ignored] and again.effects[0].duplicate
            assert self._money() == before and self._audit_actions() == entries, "FLOW-9: a repeat wrote"
        assert item.instruction_id not in {o.instruction_id for o in self._open()}
        event("call back applied")

    def _open(self) -> list[Any]:
        from engine.payments.settlement import open_instructions

        rank = self._rank()
        return sorted((o for o in open_instructions(self.svc) if o.kind != "test_drawdown"),
                      key=lambda o: rank[o.instruction_id])

    def _rank(self) -> dict[str, tuple[int, int]]:
        """Instruction id -> (the disbursement's place in the model, the payment's place in it; -1 for
        the drawdown): ids are random, so every list a step draws from is sorted by this, or a
        replayed example would draw differently."""
        index = {p.id: n for n, p in enumerate(self.model.planned)}
        rank: dict[str, tuple[int, int]] = {}
        with self.db.sessions() as s:
            for dd in s.scalars(select(Drawdown)):
                rank[dd.instruction_id] = (index[dd.disbursement_id], -1)
            for o in s.scalars(select(PaymentOrder)):
                n = index[o.disbursement_id]
                rank[o.id] = (n, list(self.model.planned[n].lines).index(o.invoice_id))
        return rank

    def _final_events(self) -> list[tuple[str, str, funds.BankEvent, bool]]:
        """(company, disbursement, event, is-a-repeat) for every final status, and for orders never sent."""
        out: list[tuple[str, str, funds.BankEvent, bool]] = []
        rank = self._rank()
        with self.db.sessions() as s:
            for dd in sorted(s.scalars(select(Drawdown)), key=lambda dd: rank[dd.instruction_id]):
                if dd.status == "Funding Completed":
                    out += [(dd.company_id, dd.disbursement_id, funds.DrawdownSettled(dd.instruction_id), True),
                            (dd.company_id, dd.disbursement_id, funds.DrawdownRejected(dd.instruction_id, "late"),
                             False)]
                elif dd.status == "Funding Failed":
                    out += [(dd.company_id, dd.disbursement_id, funds.DrawdownRejected(dd.instruction_id, "again"),
                             True),
                            (dd.company_id, dd.disbursement_id, funds.DrawdownSettled(dd.instruction_id), False)]
            for o in sorted(s.scalars(select(PaymentOrder)), key=lambda o: rank[o.id]):
                completed = funds.OrderCompleted(o.id)
                failed = funds.OrderFailed(o.id, "late failure")
                if o.status == "Completed":
                    out += [(o.company_id, o.disbursement_id, completed, True),
                            (o.company_id, o.disbursement_id, failed, False)]
                elif o.status == "Failed":
                    out += [(o.company_id, o.disbursement_id, failed, True),
                            (o.company_id, o.disbursement_id, completed, False)]
                elif o.status == "Not Initiated":  # never sent: the bank cannot have answered it
                    out += [(o.company_id, o.disbursement_id, completed, False)]
        return out

    # ------------------------------------------------------------ invariants

    @invariant()
    def authorized_means_approved_by_others_with_one_fresh_code(self) -> None:
        """AUTH-2, AUTH-5, AUTH-11, MFA-8: the authorizer approved no invoice of the disbursement, the
        workflow was Approved, and one code (one mfa_verified for authorize) was spent per authorization."""
        if not hasattr(self, "r"):
            return
        with self.db.sessions() as s:
            for p in self.model.planned:
                d = s.get(Disbursement, p.id)
                assert d.authorized_by == p.authorized_by
                if d.authorized_at is None:
                    assert d.drawdown_status == "Draft"
                    assert s.scalar(select(func.count()).select_from(Drawdown)
                                    .where(Drawdown.disbursement_id == p.id)) == 0
                    continue
                assert d.workflow_status == "Approved", "AUTH-2"
                approvers = set(s.scalars(select(Invoice.approved_by)
                                          .join(DisbursementItem, DisbursementItem.invoice_id == Invoice.id)
                                          .where(DisbursementItem.disbursement_id == p.id)))
                assert d.authorized_by not in approvers, "AUTH-5: an invoice approver authorized its payment"
                assert d.authorized_by in (self.r.w.admin, self.r.w.controller), "AUTH-3"
            spent = Counter(s.scalars(select(AuditEntry.actor_id).where(AuditEntry.action == "mfa_verified",
                                                                        AuditEntry.reason == "authorize")))
            assert spent == self.model.authorized, ("one code spent per authorization", spent)

    @invariant()
    def money_is_conserved_and_nothing_paid_twice(self) -> None:
        if not hasattr(self, "r"):
            return
        with self.db.sessions() as s:
            drawdowns = list(s.scalars(select(Drawdown)))
            orders = list(s.scalars(select(PaymentOrder)))
            by_drawdown: dict[str, list[PaymentOrder]] = {}
            for o in orders:
                by_drawdown.setdefault(o.drawdown_id, []).append(o)
            for dd in drawdowns:
                mine = by_drawdown.get(dd.id, [])
                assert sum((o.amount for o in mine), Decimal("0.00")) == dd.amount, \
                    "FLOW-4: the orders of a drawdown sum to exactly its amount"
                d = s.get(Disbursement, dd.disbursement_id)
                assert d.drawdown_status == dd.status
                items = {i.invoice_id: i for i in s.scalars(select(DisbursementItem).where(
                    DisbursementItem.disbursement_id == dd.disbursement_id))}
                assert sorted(o.invoice_id for o in mine) == sorted(items), "one order per invoice payment"
                assert dd.amount == sum((i.amount for i in items.values()), Decimal("0.00")), "FLOW-1"
                for o in mine:
                    assert items[o.invoice_id].payment_status == o.status, "ST-5: the payment's status is its order's"
                    if o.status != "Not Initiated":
                        self.model.ever_sent.add(o.id)
                if dd.status == "Funding Completed":
                    assert all(o.status != "Not Initiated" for o in mine), "FLOW-4: all sent in one transaction"
                else:
                    assert all(o.status == "Not Initiated" for o in mine), "ST-6: nothing sent before funding"
                if dd.status == "Funding Failed":
                    assert not {o.id for o in mine} & self.model.ever_sent, "FLOW-6: an order was Requested"
                    reserved = set(s.scalars(select(Invoice.reserved_by).where(Invoice.id.in_(list(items)))))
                    assert dd.disbursement_id not in reserved, "FLOW-6: the invoices are released"
            completed = Counter((o.disbursement_id, o.invoice_id) for o in orders if o.status == "Completed")
            assert all(n <= 1 for n in completed.values()), "an invoice payment was paid twice"
            paid: Counter[str] = Counter()
            for o in orders:
                if o.status == "Completed":
                    paid[o.invoice_id] += o.amount  # type: ignore[assignment]
                if o.status == "Failed":
                    inv = s.get(Invoice, o.invoice_id)
                    assert inv.reserved_by == o.disbursement_id, "FLOW-7: a failed payment keeps its invoice"
            for invoice_id, original in self.model.originals.items():
                inv = s.get(Invoice, invoice_id)
                assert inv.amount_due + paid.get(invoice_id, Decimal("0.00")) == original, "DSB-14"
                assert (inv.status == "Paid") == (inv.amount_due == 0)
                assert inv.amount_due >= 0
        book = self._book()
        assert sum((a.balance for a in book.accounts.values()), Decimal("0.00")) == self.model.credited, \
            "the simulated bank made or lost money"
        assert all(a.balance >= 0 for a in book.accounts.values())

    @invariant()
    def the_bank_took_each_instruction_once_and_the_engine_follows_it(self) -> None:
        """FLOW-9, AUD-5: the bank took exactly the instructions whose rows are sent, each once; every
        final status the engine shows is the bank's answer."""
        if not hasattr(self, "r"):
            return
        book = self._book()
        assert len(book.order) == len(set(book.order)) == len(book.taken)
        assert all(n == 1 for n in self.bank.receipts.values()), self.bank.receipts
        with self.db.sessions() as s:
            rows = list(s.scalars(select(OutboxEmail).where(OutboxEmail.channel == "bank")))
            assert len({r.dedupe_key for r in rows}) == len(rows)
            sent = {r.payload["id"] for r in rows if r.status == "sent"}
            assert all(r.status in ("pending", "sent") for r in rows), [r.last_error for r in rows]
            assert set(book.taken) == sent, "the bank took exactly the instructions marked sent"
            for dd in s.scalars(select(Drawdown)):
                taken = book.taken.get(dd.instruction_id)
                if dd.status in funds.FINAL_DRAWDOWN:
                    assert taken is not None and taken.status == ("completed" if dd.status == "Funding Completed"
                                                                  else "failed"), "ahead of the bank"
                    if dd.status == "Funding Failed":
                        assert dd.reason == taken.reason, "FLOW-3: the bank's reason"
            for o in s.scalars(select(PaymentOrder)):
                taken = book.taken.get(o.id)
                if o.status == "Not Initiated":
                    assert o.id not in sent and taken is None, "an order left before its drawdown settled"
                elif o.status in funds.FINAL_ORDER:
                    assert taken is not None and taken.status == o.status.lower(), "ahead of the bank"

    @invariant()
    def each_status_change_is_audited_and_emailed_once(self) -> None:
        """FLOW-9, AUD-6: one audit entry per status change of a drawdown or an order, one
        ``disbursement_paid`` once everything is Completed, and the funding- and payment-failed
        emails once per failure (to the Admin and the creator)."""
        if not hasattr(self, "r"):
            return
        with self.db.sessions() as s:
            entries = Counter((e.action, e.object_id) for e in s.scalars(select(AuditEntry).where(
                AuditEntry.action.in_(("funding_completed", "funding_failed", "payment_requested",
                                       "payment_completed", "payment_failed", "disbursement_paid")))))
            expected: Counter[tuple[str, str]] = Counter()
            failures = Counter()
            for dd in s.scalars(select(Drawdown)):
                if dd.status == "Funding Completed":
                    expected["funding_completed", dd.id] += 1
                elif dd.status == "Funding Failed":
                    expected["funding_failed", dd.id] += 1
                    failures["funding_failed"] += 1
                orders = list(s.scalars(select(PaymentOrder).where(PaymentOrder.drawdown_id == dd.id)))
                for o in orders:
                    if o.status != "Not Initiated":
                        expected["payment_requested", o.id] += 1
                    if o.status == "Completed":
                        expected["payment_completed", o.id] += 1
                    elif o.status == "Failed":
                        expected["payment_failed", o.id] += 1
                        failures["payment_failed"] += 1
                if orders and all(o.status == "Completed" for o in orders):
                    expected["disbursement_paid", dd.disbursement_id] += 1
            assert entries == expected, (entries - expected, expected - entries)
            emails = Counter(s.scalars(select(OutboxEmail.event).where(
                OutboxEmail.channel == "email", OutboxEmail.event.in_(("funding_failed", "payment_failed")))))
            recipients = len({self.r.w.admin, self.r.w.creator})
            assert emails == Counter({k: n * recipients for k, n in failures.items()}), (emails, failures)

    @invariant()
    def audit_chains_verify(self) -> None:
        with self.db.sessions() as s:
            assert audit.verify(s) == []

    # ------------------------------------------------------------ reading the store

    def _book(self) -> Book:
        """The production book as stored (read only: :func:`stored_bank.book` writes it back)."""
        with self.db.sessions() as s:
            row = s.scalars(select(SimulatedBankBook).where(SimulatedBankBook.name == stored_bank.PRODUCTION)).first()
            return Book.from_data(row.data) if row is not None else Book()

    def _money(self) -> dict[str, Any]:
        """Every money row, as the steps compare them ('changed nothing' means this is equal)."""
        with self.db.sessions() as s:
            return {
                "drawdowns": s.scalar(select(func.count()).select_from(Drawdown)),
                "orders": s.scalar(select(func.count()).select_from(PaymentOrder)),
                "bank_rows": s.scalar(select(func.count()).select_from(OutboxEmail)
                                      .where(OutboxEmail.channel == "bank")),
                "emails": s.scalar(select(func.count()).select_from(OutboxEmail)
                                   .where(OutboxEmail.channel == "email")),
                "rows": sorted((dd.id, dd.status, dd.reason, dd.lock_version) for dd in s.scalars(select(Drawdown)))
                + sorted((o.id, o.status, o.reason, o.updated_at.isoformat()) for o in s.scalars(select(PaymentOrder)))
                + sorted((i.id, i.amount_due, i.status, i.reserved_by, i.lock_version)
                         for i in s.scalars(select(Invoice)))
                + sorted((d.id, d.drawdown_status, d.authorized_by, d.lock_version)
                         for d in s.scalars(select(Disbursement)))
                + sorted((i.id, i.payment_status) for i in s.scalars(select(DisbursementItem))),
            }

    def _mfa_rows(self) -> dict[str, tuple[int | None, int]]:
        with self.db.sessions() as s:
            return {name: (row.last_step, row.failures) for name, a in self.users.items()
                    for row in [s.get(MfaEnrollment, a.user)]}

    def _audit_actions(self) -> list[str]:
        with self.db.sessions() as s:
            return list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))

    def _unsent(self) -> list[str]:
        """Bank instructions queued and not yet taken, far from the outbox's retry bound (a dead
        letter is its own subject, tests/outbox)."""
        rank = self._rank()
        with self.db.sessions() as s:
            return sorted((r.payload["id"] for r in s.scalars(select(OutboxEmail).where(
                OutboxEmail.channel == "bank", OutboxEmail.status == "pending", OutboxEmail.attempts <= 4))),
                key=rank.__getitem__)

    def _unsettled(self) -> list[tuple[str, str]]:
        """Instructions (id, kind) whose outcome is not yet decided at the bank: queued or pending there,
        and orders prepared at authorization."""
        book, rank = self._book(), self._rank()
        with self.db.sessions() as s:
            found = [(dd.instruction_id, "drawdown") for dd in s.scalars(select(Drawdown).where(
                Drawdown.status == "Funding Requested"))]
            found += [(o.id, "payment_order") for o in s.scalars(select(PaymentOrder).where(
                PaymentOrder.status.in_(("Not Initiated", "Requested"))))]
        return sorted(((i, k) for i, k in found if i not in book.taken or book.taken[i].status == "pending"),
                      key=lambda ik: rank[ik[0]])


RULE_MARK = pytest.mark.rule(*RULES)

MoneyFlow.TestCase.settings = settings(
    max_examples=20, stateful_step_count=25, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


class MoneyFlowOnPostgres(MoneyFlow):
    backend = "postgresql"


MoneyFlowOnPostgres.TestCase.settings = settings(
    max_examples=4, stateful_step_count=25, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@RULE_MARK
class TestMoneyFlow(MoneyFlow.TestCase):
    """On SQLite (the world built once, copied per example)."""


@RULE_MARK
@pytest.mark.skipif(not PG_URL, reason="PAYROUTE_TEST_DATABASE_URL is not set (CI sets it to the machine's "
                                       "PostgreSQL)")
class TestMoneyFlowOnPostgres(MoneyFlowOnPostgres.TestCase):
    """On PostgreSQL: fewer examples, each building its company in a schema of its own."""
