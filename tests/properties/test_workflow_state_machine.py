"""Random use of the store: a Hypothesis state machine over create / respond / manager
actions / cancel / time, on a real SQLite database, checking after every step what
must always hold.

Rules covered (domain.md): END-1, MGR-1, MGR-3..MGR-9, RESP-1..RESP-4, STEP-3,
STEP-4, COND-2, ST-1, ST-2, WF-13, AUTH-13/14, AUD-1, AUD-3, and the general
promise of engine.errors: a refused command raised a DomainError and changed nothing.

Invariants:
- a refused command raised :class:`DomainError` and left every row of every table as it was;
- an instance that is no longer active never changes again (only a restart moves on, by
  starting a new instance); a canceled disbursement never changes again;
- every audit chain verifies;
- every instance's path is one the workflow allows: it starts at ``start``; each step
  follows the previous one by the answer or branch recorded on it, or by a manager return
  to a completed response step; decisions agree with the responses (``any``: the one
  answer; ``all``: every awaited Approve, or the first other answer);
- the disbursement's workflow status is what its newest instance says (ST-1) and only
  moves along ST-2's transitions.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlalchemy import select

from dsl.load import load_workflow
from engine.errors import DomainError
from engine.runtime.instance import ADD_ASSIGNEE_REASONS, InstanceState
from engine.service import audit, directory, disbursements, instance_store, instances
from engine.service.demo import seed_company
from engine.service.disbursements import PaymentLine
from engine.services import Services
from engine.spec.model import ConditionStep, EndStep, ResponseStep, WorkflowConfig
from engine.store.db import Database
from engine.store.tables import AuditEntry, Base, Disbursement, Instance

pytestmark = pytest.mark.rule("END-1", "RESP-1", "RESP-3", "RESP-4", "STEP-3", "STEP-4", "ST-1", "ST-2", "WF-13",
                              "MGR-6", "AUTH-14", "AUD-3")

# A condition, a `requires: all` step and a Return loop back to the first step.
FLOW = '''\
workflow "Property Flow" {
    tool: payments
    manager: role "Workflow Manager"
    start: "Review"

    response "Review" {
        assignees: role "Reviewer"
        requires: any
        notify: assignees, manager
        due: 2 business days
        on "Approve" -> "Amount Check"
        on "Reject" -> "Rejected"
    }

    condition "Amount Check" {
        when disbursement_amount > $10,000.00 and invoice_count >= 1 -> "Board"
        otherwise -> "Approved"
    }

    response "Board" {
        assignees: role "Board"
        requires: all
        notify: assignees, creator
        due: 3 calendar days
        on "Approve" -> "Approved"
        on "Reject" -> "Rejected"
        on "Return" -> "Review"
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

THRESHOLD = Decimal("10000.00")
PEOPLE = ("r1", "r2", "b1", "b2", "b3", "manager", "creator", "spare", "admin", "outsider")
ANSWERS = ("Approve", "Reject", "Return", "Maybe")
AMOUNTS = ("75000.00", "10000.01", "10000.00", "500.00")  # first = the simplest: to the Board
REASONS = ("", "   ", "the numbers changed")
STEPS = ("Review", "Board", "Amount Check", "Approved", "Nowhere")

# ST-2: the workflow status moves only along these edges (or stays).
ST2 = {
    None: {"Under Review", "Not Started", "Approved", "Rejected"},  # created
    "Not Started": {"Under Review", "Approved", "Rejected", "Canceled"},
    "Under Review": {"Approved", "Rejected", "Not Started", "Canceled"},
    "Approved": {"Under Review", "Canceled"},
    "Rejected": {"Under Review", "Canceled"},
    "Canceled": set(),
}


def _loaded_config() -> WorkflowConfig:
    loaded = load_workflow(FLOW, "property.flow")
    errors = [d for d in loaded.diagnostics if d.severity == "error"]
    assert loaded.config is not None and not errors, errors
    return loaded.config


CONFIG = _loaded_config()
STEP = {s.name: s for s in CONFIG.steps}


class Clock:
    def __init__(self) -> None:
        self.moment = datetime(2026, 3, 2, 14, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.moment


class WorkflowStore(RuleBasedStateMachine):
    """One company, one configured default template, a handful of people, up to three
    disbursements; every command is sent as some random person with random arguments."""

    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="payroute-prop-"))
        self.db = Database(f"sqlite:///{self.tmp / 'store.sqlite3'}")
        self.db.create_all()
        self.clock = Clock()
        self.svc = Services(self.db, clock=self.clock)
        self.ids: dict[str, str] = {}
        self.disbursements: list[str] = []
        self.amount: dict[str, Decimal] = {}
        self.status: dict[str, str | None] = {}
        self.newest: dict[str, str | None] = {}        # the model's own idea of the newest instance
        self.frozen: dict[str, Any] = {}               # instance id -> fingerprint once not active
        self.canceled: dict[str, Any] = {}             # disbursement id -> fingerprint once canceled
        self.invoices = 0

    def teardown(self) -> None:
        self.db.dispose()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # ------------------------------------------------------------ set-up

    @initialize(amount=st.sampled_from(AMOUNTS))
    def company(self, amount: str) -> None:
        """The company, and one running workflow so every command has something to act on."""
        seeded = seed_company(self.svc, load_workflow(FLOW, "property.flow"),
                              people=[p for p in PEOPLE if p not in ("admin", "outsider")], outsiders=["outsider"],
                              roles={"Reviewer": ["r1", "r2"], "Board": ["b1", "b2", "b3"],
                                     "Workflow Manager": ["manager"]}, manager="manager")
        ids, company, project = dict(seeded.users), seeded.company, seeded.project
        self.ids, self.company_id, self.project = ids, company, project
        self.funding, self.payee = seeded.funding, seeded.payee
        self.create("creator", amount)
        assert self.disbursements, "the creator could not create a disbursement"

    # ------------------------------------------------------------ commands

    @precondition(lambda self: len(self.disbursements) < 3)
    @rule(actor=st.sampled_from(("creator", "creator", "admin", "outsider", "r1")),
          amount=st.sampled_from(AMOUNTS))
    def create(self, actor: str, amount: str) -> None:
        self.invoices += 1
        inv = directory.create_invoice(self.svc, self.ids["admin"], self.company_id, self.project,
                                       payee=self.payee, number=f"INV-{self.invoices}", amount_due=amount).id
        before = self._instances()
        d = self._send(lambda: disbursements.create_disbursement(
            self.svc, self.ids[actor], self.company_id, project_id=self.project, funding_account=self.funding,
            payments=[PaymentLine(inv)]).id)
        if d is not None:
            self.disbursements.append(d)
            self.amount[d] = Decimal(amount)
            self.status[d] = None
            self.newest[d] = None
            self._note_new_instance(d, before)

    @rule(data=st.data(), answer=st.sampled_from(ANSWERS), user=st.sampled_from(PEOPLE),
          which=st.sampled_from(("current", "current", "previous", "next")))
    def respond(self, data: st.DataObject, answer: str, user: str, which: str) -> None:
        """Anyone answers anything, to the current occurrence or a wrong one (RESP-1..RESP-3)."""
        d = data.draw(st.sampled_from(self.disbursements), label="disbursement")
        self._respond(d, self.ids[user], answer, which)

    @rule(data=st.data(), answers=st.lists(st.sampled_from(("Approve", "Approve", "Approve", "Reject", "Return")),
                                           min_size=1, max_size=3))
    def assignees_respond(self, data: st.DataObject, answers: list[str]) -> None:
        """Awaited assignees answer, one after the other (so runs get deep, not only refused)."""
        d = data.draw(st.sampled_from(self.disbursements), label="disbursement")
        for answer in answers:
            view = instances.view(self.svc, self.ids["admin"], self.company_id, d)
            awaited = list(view.awaited) if view is not None else []
            user = data.draw(st.sampled_from(awaited), label="assignee") if awaited else self.ids["r1"]
            self._respond(d, user, answer, "current")

    @rule(data=st.data(), actor=st.sampled_from(("manager", "manager", "r1", "admin")),
          step=st.sampled_from(STEPS), reason=st.sampled_from(REASONS))
    def return_to(self, data: st.DataObject, actor: str, step: str, reason: str) -> None:
        d = data.draw(st.sampled_from(self.disbursements), label="disbursement")
        self._command(d, lambda: instances.return_to(self.svc, self.ids[actor], self.company_id, d,
                                                     step=step, reason=reason))

    @rule(data=st.data(), actor=st.sampled_from(("manager", "manager", "b1")),
          users=st.lists(st.sampled_from(PEOPLE), max_size=3),
          replacing=st.lists(st.sampled_from(PEOPLE), max_size=2),
          reason=st.sampled_from(ADD_ASSIGNEE_REASONS + ("bored",)),
          comment=st.sampled_from((None, "", "covering for b2")))
    def add_assignees(self, data: st.DataObject, actor: str, users: list[str], replacing: list[str],
                      reason: str, comment: str | None) -> None:
        d = data.draw(st.sampled_from(self.disbursements), label="disbursement")
        self._command(d, lambda: instances.add_assignees(
            self.svc, self.ids[actor], self.company_id, d, users=[self.ids[u] for u in users],
            reason=reason, comment=comment, replacing=[self.ids[u] for u in replacing]))

    @rule(data=st.data(), actor=st.sampled_from(("manager", "manager", "creator")),
          reason=st.sampled_from(REASONS))
    def terminate(self, data: st.DataObject, actor: str, reason: str) -> None:
        d = data.draw(st.sampled_from(self.disbursements), label="disbursement")
        self._command(d, lambda: instances.terminate(self.svc, self.ids[actor], self.company_id, d,
                                                     reason=reason))

    @rule(data=st.data(), actor=st.sampled_from(("manager", "manager", "admin")),
          reason=st.sampled_from(REASONS), mode=st.sampled_from(("defaults", "current", "sideways")))
    def restart(self, data: st.DataObject, actor: str, reason: str, mode: str) -> None:
        d = data.draw(st.sampled_from(self.disbursements), label="disbursement")
        self._command(d, lambda: instances.restart(self.svc, self.ids[actor], self.company_id, d,
                                                   reason=reason, mode=mode))  # type: ignore[arg-type]

    @rule(data=st.data(), actor=st.sampled_from(("manager", "manager", "creator")))
    def start(self, data: st.DataObject, actor: str) -> None:
        d = data.draw(st.sampled_from(self.disbursements), label="disbursement")
        self._command(d, lambda: instances.start(self.svc, self.ids[actor], self.company_id, d))

    @rule(data=st.data(), actor=st.sampled_from(("creator", "admin", "outsider", "b1")),
          reason=st.sampled_from(REASONS))
    def cancel(self, data: st.DataObject, actor: str, reason: str) -> None:
        d = data.draw(st.sampled_from(self.disbursements), label="disbursement")
        already = d in self.canceled
        changed = self._command(d, lambda: disbursements.cancel(self.svc, self.ids[actor], self.company_id, d,
                                                                reason=reason))
        if already:
            assert not changed, "AUTH-14: canceling a canceled disbursement must change nothing"

    @rule(hours=st.sampled_from((1, 7, 24, 80)))
    def advance_clock(self, hours: int) -> None:
        self.clock.moment += timedelta(hours=hours)

    # ------------------------------------------------------------ sending

    def _respond(self, d: str, user: str, answer: str, which: str) -> None:
        view = instances.view(self.svc, self.ids["admin"], self.company_id, d)
        occ = view.current_occurrence if view is not None and view.current_occurrence else 1
        occ = {"current": occ, "previous": occ - 1, "next": occ + 1}[which]
        resubmit = self._has_answered(d, user, occ, answer)
        changed = self._command(d, lambda: instances.respond(self.svc, user, self.company_id, d,
                                                             occurrence=occ, answer=answer))
        if resubmit:
            assert not changed, "RESP-4: an identical resubmit is a no-op that writes nothing"

    def _command(self, d: str, call: Callable[[], Any]) -> bool:
        """Send one command on ``d``; return whether anything changed."""
        before = self._instances()
        dump = self._dump()
        refused = self._send(call, dump, refused=True)
        after = self._dump()
        if isinstance(refused, DomainError) and refused.audited:
            after = self._without_refusal_entry(after, dump)  # AUD-4: the security log, not a change
        changed = after != dump
        self._note_new_instance(d, before)
        return changed

    def _send(self, call: Callable[[], Any], dump: Any = None, *, refused: bool = False) -> Any:
        """Run a command; a refusal must be a DomainError that changed nothing at all (but its
        AUD-4 entry). With ``refused``, a refusal returns its error instead of None."""
        dump = self._dump() if dump is None else dump
        try:
            result = call()
        except DomainError as exc:
            event(f"refused: {exc.code}")  # shown by --hypothesis-show-statistics
            now = self._dump()
            if exc.audited:
                now = self._without_refusal_entry(now, dump)
            assert now == dump, f"refused with {exc.code} but the database changed"
            return exc if refused else None
        event("accepted")
        return result

    # ------------------------------------------------------------ invariants

    @invariant()
    def audit_chains_verify(self) -> None:
        with self.db.sessions() as s:
            assert audit.verify(s) == []

    @invariant()
    def ended_instances_and_canceled_disbursements_never_change(self) -> None:
        """END-1 (only restart moves on, with a new instance), AUTH-13: canceled is final."""
        with self.db.sessions() as s:
            for inst in s.scalars(select(Instance)):
                if inst.status == "active":
                    assert inst.id not in self.frozen, f"instance {inst.id} moved out of an end state"
                    continue
                print_ = self._instance_print(s, inst)
                assert self.frozen.setdefault(inst.id, print_) == print_, "an ended instance changed"
            for d in s.scalars(select(Disbursement)):
                if d.canceled_at is None:
                    assert d.id not in self.canceled, "a canceled disbursement came back"
                    continue
                print_ = (d.workflow_status, d.lock_version, d.canceled_at,
                          sorted(i for i in s.scalars(select(Instance.id).where(Instance.disbursement_id == d.id))))
                assert self.canceled.setdefault(d.id, print_) == print_, "a canceled disbursement changed"

    @invariant()
    def paths_are_ones_the_workflow_allows(self) -> None:
        seen: dict[str, set[int]] = {}
        with self.db.sessions() as s:
            for inst in s.scalars(select(Instance).order_by(Instance.number)):
                state = instance_store.load_state(s, inst)
                _check_path(state, self.amount[inst.disbursement_id])
                numbers = seen.setdefault(inst.disbursement_id, set())
                mine = {o.seq for o in state.occurrences}
                assert not numbers & mine, "RESP-2: occurrence numbers repeat across a disbursement's instances"
                assert not numbers or min(mine) > max(numbers), "RESP-2: a new instance numbers on"
                numbers |= mine

    @invariant()
    def workflow_status_matches_the_newest_instance(self) -> None:
        """ST-1 from the newest instance; ST-2 for the move since the last step; WF-13."""
        with self.db.sessions() as s:
            for d_id in self.disbursements:
                d = s.get(Disbursement, d_id)
                active = list(s.scalars(select(Instance).where(Instance.disbursement_id == d_id,
                                                               Instance.status == "active")))
                assert len(active) <= 1, "WF-13: more than one active instance"
                newest = self.newest[d_id]
                if d.canceled_at is not None:
                    expected = "Canceled"
                    assert not active
                elif newest is None:
                    expected = "Not Started"
                else:
                    inst = s.get(Instance, newest)
                    expected = instance_store.workflow_status(instance_store.load_state(s, inst))
                    if active:
                        assert active[0].id == newest, "the active instance is not the newest one"
                assert d.workflow_status == expected, (d.workflow_status, expected)
                previous = self.status[d_id]
                assert d.workflow_status == previous or d.workflow_status in ST2[previous], \
                    f"ST-2: {previous} -> {d.workflow_status}"
                self.status[d_id] = d.workflow_status

    # ------------------------------------------------------------ reading the store

    def _without_refusal_entry(self, now: list[Any], before: list[Any]) -> list[Any]:
        """AUD-4: an audited refusal's one change is its `refused` entry at the end of the company chain."""
        tables, old = dict(now), dict(before)
        cols = list(AuditEntry.__table__.columns.keys())
        added = tables["audit_entries"][len(old["audit_entries"]):]
        assert len(added) == 1, "an audited refusal writes exactly one audit entry"
        entry = dict(zip(cols, added[0]))
        chain = audit.company_chain(self.company_id)
        assert (entry["action"], entry["chain"]) == ("refused", chain)
        heads = [h for h in tables["audit_heads"] if h[0] != chain]
        assert heads == [h for h in old["audit_heads"] if h[0] != chain]
        tables["audit_entries"] = tables["audit_entries"][:-1]
        tables["audit_heads"] = old["audit_heads"]
        return list(tables.items())

    def _dump(self) -> list[Any]:
        """Every row of every table: 'changed nothing' means exactly this is equal."""
        with self.db.engine.connect() as conn:
            out = []
            for table in Base.metadata.sorted_tables:
                rows = conn.execute(table.select().order_by(*table.primary_key.columns)).all()
                out.append((table.name, [tuple(r) for r in rows]))
            return out

    def _instances(self) -> dict[str, set[str]]:
        with self.db.sessions() as s:
            out: dict[str, set[str]] = {}
            for i in s.scalars(select(Instance)):
                out.setdefault(i.disbursement_id, set()).add(i.id)
            return out

    def _note_new_instance(self, d: str, before: dict[str, set[str]]) -> None:
        new = self._instances().get(d, set()) - before.get(d, set())
        assert len(new) <= 1, "one command started more than one instance"
        if new:
            self.newest[d] = new.pop()

    def _has_answered(self, d: str, user: str, occ: int, answer: str) -> bool:
        with self.db.sessions() as s:
            inst = s.scalars(select(Instance).where(Instance.disbursement_id == d,
                                                    Instance.status == "active")).first()
            if inst is None:
                return False
            state = instance_store.load_state(s, inst)
            cur = state.current
            if cur is None or cur.seq != occ:
                return False
            r = cur.response_of(user)
            return r is not None and r.answer == answer

    @staticmethod
    def _instance_print(s: Any, inst: Instance) -> Any:
        state = instance_store.load_state(s, inst)
        return (inst.status, inst.outcome, inst.end_step, inst.lock_version, inst.blocked, state)


def _check_path(state: InstanceState, amount: Decimal) -> None:
    """The instance's occurrences form a path the workflow allows, with consistent decisions."""
    occs = state.occurrences
    assert occs, "an instance without occurrences"
    assert occs[0].step == CONFIG.start
    # RESP-2: numbered on from the disbursement's earlier instances, without gaps inside one
    assert [o.seq for o in occs] == list(range(occs[0].seq, occs[0].seq + len(occs)))
    for i, occ in enumerate(occs):
        step = STEP[occ.step]
        assert occ.kind == step.kind
        last = i == len(occs) - 1
        if not last:
            assert not occ.is_open, "only the last occurrence can be open"
            nxt = occs[i + 1].step
        if isinstance(step, ResponseStep):
            _check_responses(step, occ)
            if occ.decision == "returned":  # MGR-6: to a response step completed earlier
                assert not last
                assert nxt in {o.step for o in occs[:i] if o.kind == "response" and not o.is_open}
            elif occ.decision == "terminated":
                assert last and state.status == "terminated"
            elif occ.decision is not None:
                assert not last, "a decided step leads somewhere"
                assert nxt == next(a.target for a in step.answers if a.response == occ.decision)
            else:
                assert last and occ.is_open and state.status == "active"
        elif isinstance(step, ConditionStep):
            assert not last and occ.decision == nxt
            want = "Board" if amount > THRESHOLD else "Approved"  # COND-2 on this workflow
            assert occ.decision == want
        else:
            assert isinstance(step, EndStep) and last
            assert state.status == "ended" and state.outcome == step.outcome and state.end_step == step.name
    if state.status == "active":
        assert occs[-1].kind == "response" and occs[-1].is_open


def _check_responses(step: ResponseStep, occ: Any) -> None:
    """STEP-3/STEP-4/RESP-4: who answered and what that decided."""
    users = [r.user for r in occ.responses]
    assert len(users) == len(set(users)), "RESP-4: one response per user per occurrence"
    assert set(users) <= set(occ.assignees), "RESP-1: only assignees respond"
    answers = [r.answer for r in occ.responses]
    offered = {a.response for a in step.answers}
    assert set(answers) <= offered, "RESP-3"
    decided = occ.decision if occ.decision not in (None, "returned", "terminated") else None
    if step.requires == "any":
        if decided is None:
            assert answers == [], "STEP-3: the first answer decides an `any` step"
        else:
            assert answers == [decided]
        return
    if decided is None:
        assert set(answers) <= {"Approve"}, "STEP-4: a non-Approve answer decides at once"
    elif decided == "Approve":
        approved = {r.user for r in occ.responses if r.answer == "Approve"}
        assert set(occ.awaited) <= approved and set(answers) == {"Approve"}
    else:
        assert answers[-1] == decided and set(answers[:-1]) <= {"Approve"}


WorkflowStore.TestCase.settings = settings(
    max_examples=30, stateful_step_count=25, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
test_workflow_state_machine = WorkflowStore.TestCase
