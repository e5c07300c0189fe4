"""Several workers at once on one PostgreSQL database (FLOW-9, AUD-5): dispatchers submit each
bank instruction exactly once per id, and pollers apply each of the bank's answers exactly once.

Each worker is a thread with its own :class:`Services` (its own engine and connections) over the
same database, and its own :class:`engine.payments.stored_bank.StoredBank` (the simulated bank's
book is one row, shared through the database) wrapped in an adapter that counts every ``submit``
— injected as ``Services(db, clock=..., banks={False: adapter})``, as a real bank adapter would
be. The workers are held at a barrier until all are connected, then race: the dispatchers claim
small batches (``FOR UPDATE SKIP LOCKED``, under the outbox's lease), the pollers both see every
open instruction and both ask the bank about it; the disbursement's row lock makes the second
answer a repeat, applied as a no-op.

PostgreSQL only: SQLite serialises every writer (``BEGIN IMMEDIATE``), so nothing races there.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text

from engine.payments import authorization, stored_bank
from engine.payments.bank import BankRefused, Instruction, Receipt, Status
from engine.payments.dispatch import dispatch
from engine.payments.settlement import poll
from engine.services import Services
from engine.store.db import Database, normalize_url
from engine.store.tables import AuditEntry, Drawdown, Invoice, OutboxEmail, PaymentOrder
from tests.db_fixtures import PG_URL, Clock, _pg_schema_url
from tests.payments.authorizing import Ready, make_ready

pytestmark = pytest.mark.skipif(not PG_URL, reason="PAYROUTE_TEST_DATABASE_URL is not set: workers racing need "
                                                   "PostgreSQL (SQLite serialises every writer)")

WORKERS = 4
DISBURSEMENTS = 6
LINES = (("1000.00", None), ("250.50", None), ("75.25", None), ("3000.00", None), ("12.34", None))


class CountingBank:
    """One worker's bank: the stored simulated bank, its calls counted in ``counts`` (shared, locked)."""

    def __init__(self, inner: stored_bank.StoredBank, counts: Counter[tuple[str, str]], lock: threading.Lock) -> None:
        self.inner, self.counts, self.lock = inner, counts, lock

    def submit(self, instruction: Instruction, *, at: datetime) -> Receipt:
        with self.lock:
            self.counts["submit", instruction.id] += 1
        return self.inner.submit(instruction, at=at)

    def status(self, instruction_id: str, *, at: datetime) -> Status:
        with self.lock:
            self.counts["status", instruction_id] += 1
        return self.inner.status(instruction_id, at=at)

    def statuses(self, instruction_ids: Sequence[str], *, at: datetime) -> dict[str, Status | BankRefused]:
        with self.lock:
            for instruction_id in instruction_ids:
                self.counts["status", instruction_id] += 1
        return self.inner.statuses(instruction_ids, at=at)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A schema of its own on the test PostgreSQL, dropped after."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalize_url(PG_URL or ""))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _pg_schema_url(schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def world(pg_url: str, clock: Clock) -> Iterator[tuple[Ready, Services]]:
    db = Database(pg_url)
    db.create_all()
    svc = Services(db, clock=clock)
    r = make_ready(svc, clock)
    stored_bank.credit(db, stored_bank.PRODUCTION, r.w.funding, "1000000.00", now=clock())
    yield r, svc
    db.dispose()


def race(url: str, clock: Clock, counts: Counter[tuple[str, str]], work: Callable[[Services, int], Any],
         workers: int = WORKERS) -> list[Any]:
    """Run ``work(services, i)`` in ``workers`` threads at once, each with its own Services and bank."""
    barrier = threading.Barrier(workers)
    lock = threading.Lock()
    outcomes: list[Any] = [None] * workers

    def run(i: int) -> None:
        db = Database(url, pool_size=2, max_overflow=0)
        mine = Services(db, clock=clock, banks={False: CountingBank(stored_bank.StoredBank(db), counts, lock)})
        try:
            with mine.db.sessions() as s:
                s.scalar(select(func.count()).select_from(Drawdown))  # connect before the start line
            barrier.wait(timeout=60)
            try:
                outcomes[i] = work(mine, i)
            except BaseException as exc:  # noqa: BLE001 - every failure is an outcome here
                outcomes[i] = exc
        finally:
            db.dispose()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
        assert not t.is_alive(), "a worker did not finish (deadlock?)"
    failures = [repr(o) for o in outcomes if isinstance(o, BaseException)]
    assert not failures, failures
    return outcomes


def drain(svc: Services, i: int) -> int:
    """A worker's loop: small batches, until a round claims nothing."""
    sent = 0
    while True:
        report = dispatch(svc, batch=2, worker_id=f"worker-{i}")
        assert report.dead == 0 and report.failed == 0, report.error
        sent += report.sent
        if report.claimed == 0:
            return sent


def bank_rows(svc: Services) -> dict[str, str]:
    with svc.db.sessions() as s:
        return {r.payload["id"]: r.status for r in s.scalars(select(OutboxEmail).where(OutboxEmail.channel == "bank"))}


def actions(svc: Services) -> Counter[str]:
    with svc.db.sessions() as s:
        return Counter(s.scalars(select(AuditEntry.action)))


def authorize_many(r: Ready) -> list[str]:
    done = []
    for n in range(DISBURSEMENTS):
        d = r.disbursement(*LINES[: 1 + n % len(LINES)])
        authorization.authorize(r.svc, r.admin.user, r.w.company, d, mfa_code=r.admin.code())
        done.append(d)
    return done


def to_evening(clock: Clock) -> None:
    clock.moment = clock.moment.replace(hour=23, minute=0)  # 18:00 New York in March (EST)


@pytest.mark.rule("FLOW-9", "AUD-5")
def test_concurrent_dispatchers_submit_each_instruction_exactly_once(world, pg_url: str, clock: Clock) -> None:
    """Drawdowns, then the payment orders their settling queued: four dispatchers race over each
    set, and the bank sees every instruction id submitted exactly once, and takes each once."""
    r, svc = world
    authorize_many(r)
    counts: Counter[tuple[str, str]] = Counter()

    drawdowns = bank_rows(svc)
    assert len(drawdowns) == DISBURSEMENTS and set(drawdowns.values()) == {"pending"}
    sent = race(pg_url, clock, counts, drain)
    assert sum(sent) == DISBURSEMENTS, sent
    submits = Counter({i: n for (kind, i), n in counts.items() if kind == "submit"})
    assert submits == Counter(dict.fromkeys(drawdowns, 1)), submits
    book = stored_bank.book(svc.db, stored_bank.PRODUCTION, now=clock())
    assert sorted(book.order) == sorted(drawdowns) and len(book.order) == len(set(book.order))
    assert set(bank_rows(svc).values()) == {"sent"}

    to_evening(clock)
    assert poll(svc).applied == DISBURSEMENTS
    rows = bank_rows(svc)
    orders = sorted(i for i, status in rows.items() if status == "pending")
    with svc.db.sessions() as s:
        assert orders == sorted(s.scalars(select(PaymentOrder.id)))
    assert len(orders) == sum(1 + n % len(LINES) for n in range(DISBURSEMENTS))
    counts.clear()
    sent = race(pg_url, clock, counts, drain)
    assert sum(sent) == len(orders), sent
    submits = Counter({i: n for (kind, i), n in counts.items() if kind == "submit"})
    assert submits == Counter(dict.fromkeys(orders, 1)), submits
    book = stored_bank.book(svc.db, stored_bank.PRODUCTION, now=clock())
    assert len(book.order) == len(set(book.order)) == DISBURSEMENTS + len(orders)
    assert set(bank_rows(svc).values()) == {"sent"}
    entries = actions(svc)
    assert entries["bank_instruction_dead_lettered"] == 0


@pytest.mark.rule("FLOW-9", "AUD-5", "FLOW-3", "FLOW-4", "FLOW-5", "DSB-14")
def test_concurrent_pollers_apply_each_answer_once(world, pg_url: str, clock: Clock) -> None:
    """Two (then four) pollers see the same open instructions and both ask the bank: every status
    change is applied and audited once; the second answer is a repeat that writes nothing."""
    r, svc = world
    ds = authorize_many(r)
    counts: Counter[tuple[str, str]] = Counter()
    dispatch(svc)
    to_evening(clock)
    before = actions(svc)
    race(pg_url, clock, counts, lambda mine, _i: poll(mine), workers=2)
    after = actions(svc) - before
    n_orders = sum(1 + n % len(LINES) for n in range(DISBURSEMENTS))
    assert after["funding_completed"] == DISBURSEMENTS, after
    assert after["payment_requested"] == n_orders, after
    assert after["bank_event_ignored"] == 0, after  # a repeat is a no-op, not an ignored event
    with svc.db.sessions() as s:
        assert set(s.scalars(select(Drawdown.status))) == {"Funding Completed"}
        assert s.scalar(select(func.count()).select_from(OutboxEmail).where(OutboxEmail.channel == "bank")) \
            == DISBURSEMENTS + n_orders, "FLOW-4: each order's instruction queued once"

    dispatch(svc)
    clock.advance(days=1)
    before = actions(svc)
    race(pg_url, clock, counts, lambda mine, _i: poll(mine))
    after = actions(svc) - before
    assert after["payment_completed"] == n_orders, after
    assert after["invoice_paid"] == n_orders, after
    assert after["disbursement_paid"] == DISBURSEMENTS, after
    assert after["bank_event_ignored"] == 0, after
    with svc.db.sessions() as s:
        assert set(s.scalars(select(PaymentOrder.status))) == {"Completed"}
        invoices = list(s.scalars(select(Invoice)))
        assert all(i.amount_due == Decimal("0.00") and i.status == "Paid" for i in invoices), "paid once (DSB-14)"
    book = stored_bank.book(svc.db, stored_bank.PRODUCTION, now=clock())
    paid = sum((Decimal(a) for n in range(DISBURSEMENTS) for a, _ in LINES[: 1 + n % len(LINES)]), Decimal("0.00"))
    assert book.accounts[r.w.funding].balance == Decimal("1000000.00") - paid
    assert sum((a.balance for a in book.accounts.values()), Decimal("0.00")) == Decimal("1000000.00")
    assert len(ds) == DISBURSEMENTS
