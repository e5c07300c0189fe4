"""A company set up for races, and a harness that fires many requests at once.

The workflow has a ``requires: any`` step answered by a role of many
reviewers, then a ``requires: all`` step answered by a panel (whose Return
loops back), so one disbursement exercises both deciding rules (STEP-3, STEP-4).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select

from dsl.load import load_workflow
from engine.errors import DomainError
from engine.service import audit, directory, disbursements, instances
from engine.service.demo import seed_company
from engine.service.disbursements import PaymentLine
from engine.services import Services
from engine.store.db import Database
from engine.service.instance_store import load_state
from engine.store.tables import AuditEntry, Instance, OutboxEmail

#: a Monday, 09:00 in New York; the race tests never move time
MOMENT = datetime(2026, 3, 2, 14, 0, tzinfo=timezone.utc)


def fixed_clock() -> datetime:
    return MOMENT

RACE_FLOW = '''\
workflow "Race Flow" {
    tool: payments
    manager: role "Workflow Manager"
    start: "Any Review"

    response "Any Review" {
        assignees: role "Reviewer"
        requires: any
        notify: assignees, manager, creator
        on "Approve" -> "Panel Review"
        on "Reject" -> "Rejected"
    }

    response "Panel Review" {
        assignees: role "Panel"
        requires: all
        notify: assignees, manager
        on "Approve" -> "Approved"
        on "Reject" -> "Rejected"
        on "Return" -> "Any Review"
    }

    end "Approved" success {
        status: "Approved"
        notify: assignees, manager, creator
    }

    end "Rejected" failure {
        status: "Rejected"
        notify: manager, creator
    }
}
'''


@dataclass
class RaceWorld:
    url: str
    svc: Services
    company: str
    admin: str
    creator: str
    manager: str
    project: str
    funding: str
    payee: str
    reviewers: list[str]
    panel: list[str]
    _invoices: int = 0

    def disbursement(self, amount: str = "25000.00") -> str:
        """A new disbursement; the workflow starts at "Any Review" (DSB-8)."""
        self._invoices += 1
        inv = directory.create_invoice(self.svc, self.admin, self.company, self.project,
                                       payee=self.payee, number=f"INV-{self._invoices:05d}",
                                       amount_due=amount).id
        return disbursements.create_disbursement(self.svc, self.creator, self.company, project_id=self.project,
                                                 funding_account=self.funding, payments=[PaymentLine(inv)]).id


def build_race_world(url: str, *, reviewers: int, panel: int) -> RaceWorld:
    db = Database(url)
    db.create_all()
    svc = Services(db, clock=fixed_clock)
    loaded = load_workflow(RACE_FLOW, "race.flow")
    assert loaded.config is not None and not [d for d in loaded.diagnostics if d.severity == "error"]
    revs = [f"reviewer{i}" for i in range(reviewers)]
    pans = [f"panel{i}" for i in range(panel)]
    seeded = seed_company(svc, loaded, people=("creator", "manager", *revs, *pans), manager="manager",
                          roles={"Reviewer": revs, "Panel": pans, "Workflow Manager": ["manager"]})
    u = seeded.users
    return RaceWorld(url, svc, seeded.company, u["admin"], u["creator"], u["manager"], seeded.project,
                     seeded.funding, seeded.payee, [u[r] for r in revs], [u[p] for p in pans])


#: What the ``race_world`` fixture (conftest.py) hands a test: build a world on its database.
WorldBuilder = Callable[..., RaceWorld]


# ---------------------------------------------------------------- the harness


@dataclass
class Outcome:
    """What one racing thread got back: a result, or the exception it raised."""

    label: str
    value: Any = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def code(self) -> str | None:
        return self.error.code if isinstance(self.error, DomainError) else None


@dataclass
class Racer:
    label: str
    action: Callable[[Services], Any]
    outcome: Outcome = field(init=False)


def race(world: RaceWorld, racers: Sequence[Racer], *, timeout: float = 60.0) -> list[Outcome]:
    """Run every racer in its own thread with its own :class:`Services` (own
    engine, own connection), released together by a barrier after each has
    opened its connection and compiled the workflow, so they really collide."""
    barrier = threading.Barrier(len(racers))
    outcomes: list[Outcome | None] = [None] * len(racers)

    def run(i: int, racer: Racer) -> None:
        db = Database(world.url, pool_size=1, max_overflow=0) if "postgresql" in world.url \
            else Database(world.url)
        svc = Services(db, clock=fixed_clock)
        try:
            try:
                _warm_up(svc)
            except BaseException as exc:  # noqa: BLE001
                outcomes[i] = Outcome(racer.label, error=exc)
                barrier.abort()
                return
            barrier.wait(timeout=timeout)
            try:
                outcomes[i] = Outcome(racer.label, value=racer.action(svc))
            except BaseException as exc:  # noqa: BLE001 - every kind of failure is an outcome here
                outcomes[i] = Outcome(racer.label, error=exc)
        finally:
            db.dispose()

    threads = [threading.Thread(target=run, args=(i, r), name=f"racer-{r.label}") for i, r in enumerate(racers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
        assert not t.is_alive(), f"{t.name} did not finish within {timeout}s (deadlock?)"
    missing = [r.label for r, o in zip(racers, outcomes) if o is None]
    assert not missing, f"racers that never ran: {missing}"
    return [o for o in outcomes if o is not None]


def _warm_up(svc: Services) -> None:
    """Open the connection and fill the compiled-workflow cache before the start line
    (all racers at once: concurrent first use is itself covered by test_first_use.py)."""
    from engine.store.tables import TemplateVersion

    with svc.db.sessions() as s:
        for v in s.scalars(select(TemplateVersion).where(TemplateVersion.content_hash.is_not(None))):
            svc.compiled(v.content_hash, v.document)


def unexpected(outcomes: Sequence[Outcome], allowed: set[str]) -> list[str]:
    """Failures that are not a DomainError with an allowed code, with their type and text."""
    return [f"{o.label}: {type(o.error).__name__}: {o.error!r}" for o in outcomes
            if o.error is not None and o.code not in allowed]


# ---------------------------------------------------------------- reading back


def audit_actions(svc: Services, disbursement: str) -> list[AuditEntry]:
    with svc.db.sessions() as s:
        return audit.entries(s, audit.disbursement_chain(disbursement))


def entries_for(svc: Services, disbursement: str, action: str, occurrence: int) -> list[AuditEntry]:
    return [e for e in audit_actions(svc, disbursement)
            if e.action == action and (e.details or {}).get("occurrence") == occurrence]


def chain_breaks(svc: Services) -> list[audit.Break]:
    with svc.db.sessions() as s:
        return audit.verify(s)


def response_rows(svc: Services, instance_id: str, seq: int) -> list[Any]:
    """The responses stored on occurrence ``seq`` of the instance (each has ``user``, ``answer``)."""
    with svc.db.sessions() as s:
        occ = load_state(s, s.get(Instance, instance_id)).occurrence(seq)
        assert occ is not None
        return list(occ.responses)


def emails(svc: Services, event: str) -> list[str]:
    """Recipients of every outbox row for ``event`` (duplicates kept, to count them)."""
    with svc.db.sessions() as s:
        return [r.recipients[0] for r in s.scalars(select(OutboxEmail).where(OutboxEmail.event == event))]


def current(svc: Services, world: RaceWorld, disbursement: str) -> instances.InstanceView:
    v = instances.view(svc, world.admin, world.company, disbursement)
    assert v is not None
    return v


def threads_for(url: str) -> int:
    """50 racers on PostgreSQL (the issue's number); a dozen on SQLite, whose writers
    queue on one file lock with a sleeping busy handler, so more only adds waiting."""
    return 50 if "postgresql" in url else 12
