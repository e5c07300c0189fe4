"""Running workflows for real: the workflow commands and ``view``.

Each public command is one transaction (RESP-8, AUD-1): it locks the
disbursement row (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite serialises
writers with ``BEGIN IMMEDIATE``), rebuilds the instance state, asks the pure
:mod:`engine.runtime.instance` for the transition, then writes the rows, the audit
entries and the outbox emails. The disbursement's ``lock_version`` is the
backstop: a writer that read an older version gets ``state_conflict`` (GEN-7).
Finding, locking, loading and saving instances is :mod:`.instance_store`'s.

Every command and query takes ``(svc, actor, company_id, disbursement_id, ...)`` and
checks the actor itself (GEN-4). The functions that take a ``Session`` instead
(:func:`start_on_template`, :func:`restart_for_edit`, :func:`cancel_instance`,
:func:`recheck_eligibility`, :func:`email_subject`) are internal helpers that run inside
another command's transaction, after that command checked its actor: they check no
permission themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import DomainError
from engine.outbox import emails
from engine.runtime import instance
from engine.runtime.instance import AuditEvent, InstanceState, Notice, Snapshot
from engine.security import segregation
from engine.security.permissions import (
    DISBURSEMENT_CONTRIBUTOR,
    LABELS,
    PAYMENTS_ADMIN,
    PAYMENTS_DISBURSER,
    WORKFLOW_PERMISSIONS,
    admins,
    can_manage,
    eligible_users,
    held,
    membership,
    require_any,
    standing,
)
from engine.service import audit, transition_rows
from engine.service.directory import get_company
from engine.service.idempotency import idempotent
from engine.service.instance_store import (
    STATUS_NOT_STARTED,
    active_instance,
    bump,
    calendar_of,
    compiled_of,
    last_occurrence,
    latest_instance,
    load_state,
    lock_disbursement,
    lock_with_company,
    require_version,
    save_state,
    state_of,
    version_of,
    workflow_status,
)
from engine.service.templates import configuration
from engine.services import Services
from engine.spec.facts import raw_fact_plan
from engine.store.tables import (
    Company,
    Disbursement,
    DisbursementItem,
    Instance,
    Invoice,
    Project,
    Template,
    TemplateVersion,
)
from engine.text import optional_text, text_problem

if TYPE_CHECKING:
    from engine.spec.compiler import CompiledWorkflow

RestartMode = Literal["defaults", "current"]


class _Lazy(Sequence[str]):
    """A sequence read from the database on first use (the Admins, needed only when a step blocks)."""

    def __init__(self, load: Callable[[], Sequence[str]]) -> None:
        self._load, self._items = load, None

    def _all(self) -> Sequence[str]:
        if self._items is None:
            self._items = tuple(self._load())
        return self._items

    def __getitem__(self, i):  # type: ignore[override]
        return self._all()[i]

    def __len__(self) -> int:
        return len(self._all())


class _LazyFacts(Mapping[str, Any]):
    """The facts, computed on first read (COND-5): only a condition step reads them."""

    def __init__(self, load: Callable[[], Mapping[str, Any]]) -> None:
        self._load, self._facts = load, None

    def _all(self) -> Mapping[str, Any]:
        if self._facts is None:
            self._facts = self._load()
        return self._facts

    def __getitem__(self, key: str) -> Any:
        return self._all()[key]

    def __iter__(self):  # type: ignore[override]
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


class _Unit:
    """One transaction's work on one disbursement: what it reads, read once and only when
    needed, and how it writes a transition (state rows, status, audit, email)."""

    #: the chain head (seq, hash) and the users (id → (email, name)) read already, if any
    head: tuple[int, str] | None = None
    people: Mapping[str, tuple[str, str]] | None = None

    def __init__(self, s: Session, company: Company, d: Disbursement, now: datetime | None) -> None:
        self.s, self.company, self.d = s, company, d
        self.now = now  # type: ignore[assignment]  # None only for read-only uses (subject)

    @cached_property
    def admins(self) -> tuple[str, ...]:
        return admins(self.s, self.company.id)

    def invoice_approvers(self) -> dict[str, list[str]]:
        """AUTH-5: user → the invoices of this disbursement they approved."""
        approvers: dict[str, list[str]] = {}
        for invoice_id, approver in self.s.execute(
                select(Invoice.id, Invoice.approved_by).join(DisbursementItem, DisbursementItem.invoice_id == Invoice.id)
                .where(DisbursementItem.disbursement_id == self.d.id, Invoice.approved_by.is_not(None))):
            approvers.setdefault(approver, []).append(invoice_id)
        return approvers

    @cached_property
    def eligible(self) -> frozenset[str]:
        return eligible_users(self.s, self.company.id)

    @cached_property
    def items(self) -> list[tuple[Decimal, Decimal]]:
        return [(a, r) for a, r in self.s.execute(
            select(DisbursementItem.amount, DisbursementItem.retainage_released)
            .where(DisbursementItem.disbursement_id == self.d.id).order_by(DisbursementItem.position))]

    @cached_property
    def project(self) -> Project:
        p = self.s.get(Project, self.d.project_id)
        assert p is not None
        return p

    def facts(self, names: Sequence[str]) -> dict[str, Any]:
        """COND-5: facts read from the disbursement as it is now (raw_fact_plan, as simulate does)."""
        invoices = [{"amount": f"{a:f}", "retainage_released": f"{r:f}"} for a, r in self.items]
        p = self.project
        project: dict[str, Any] = {**(p.attributes or {}), "id": p.id, "name": p.name, "office": p.office,
                                   "sector": p.sector,
                                   "start_date": p.start_date.isoformat() if p.start_date else None}
        return raw_fact_plan(names)(invoices, project)

    @cached_property
    def subject(self) -> emails.Subject:
        amount = sum((a for a, _ in self.items), Decimal("0.00"))
        return emails.Subject(self.company.id, self.company.name, self.d.id, amount, self.project.name,
                              bool(self.d.sandbox))

    def context(self, inst: Instance, compiled: CompiledWorkflow) -> instance.Context:
        names = sorted(compiled.facts_used)
        return instance.Context(
            now=self.now, snapshot=Snapshot.from_data(inst.snapshot), eligible=self.eligible,
            facts=_LazyFacts(lambda: self.facts(names)), creator=self.d.created_by,
            calendar=calendar_of(self.company), admins=_Lazy(lambda: self.admins),
            may_manage=lambda user: can_manage(self.s, self.company.id, user))

    def commit(self, inst: Instance, tr: instance.Transition, actor: str | None, reason: str | None = None) -> None:
        """Persist a transition: its rows, the workflow status, its audit entries and emails."""
        if not tr.changed:
            return
        before = self.d.workflow_status
        save_state(self.s, inst, tr.state, self.now)
        self.d.workflow_status = workflow_status(tr.state)
        bump(self.d, self.now)  # bumps lock_version (optimistic check, the ETag)
        self._effects(inst, actor, tr.effects, reason, before, tr.state)

    def authorize_facts(self, state: InstanceState) -> segregation.AuthorizeFacts:
        """What AUTH-5..AUTH-7 read about this disbursement, ``state`` being the Approved instance."""
        approvers = self.invoice_approvers()
        responders: dict[str, list[str]] = {}
        for occ in state.occurrences:
            for r in occ.responses:
                responders.setdefault(r.user, []).append(occ.step)
        return segregation.AuthorizeFacts(
            eligible=self.eligible, invoice_approvers={u: tuple(v) for u, v in approvers.items()},
            responders={u: tuple(v) for u, v in responders.items()}, creator=self.d.created_by,
            segregation=self.company.segregation or "invoice_approver")

    def _effects(self, inst: Instance, actor: str | None, effects: Sequence[instance.Effect],
                 reason: str | None, before_status: str | None, state: InstanceState) -> None:
        records, messages = self._records(inst, actor, effects, reason, before_status, state)
        audit.append_many(self.s, chain=audit.disbursement_chain(self.d.id), company_id=self.company.id,
                          at=self.now, records=records, head=self.head, sandbox=bool(self.d.sandbox))
        emails.enqueue_many(self.s, now=self.now, subject=self.subject, messages=messages, known=self.people)

    def _records(self, inst: Instance, actor: str | None, effects: Sequence[instance.Effect], reason: str | None,
                 before_status: str | None, state: InstanceState) -> tuple[list[audit.Record], list[emails.Message]]:
        """A transition's effects as the audit entries and emails that record them."""
        records: list[audit.Record] = []
        messages: list[emails.Message] = []
        for eff in effects:
            if isinstance(eff, AuditEvent):
                why = eff.details.get("reason")
                records.append(audit.Record(
                    eff.action, "disbursement", self.d.id, actor,
                    before={"workflow_status": before_status}, after={"workflow_status": self.d.workflow_status},
                    reason=why if isinstance(why, str) else reason, rules=eff.rules,
                    version_id=inst.version_id, content_hash=inst.content_hash,
                    details={"instance": inst.id, **eff.details}))
            elif isinstance(eff, Notice):
                messages.append(emails.Message(eff.event, eff.recipients, eff.step, eff.details))
                if eff.event == "end_reached" and eff.details.get("outcome") == "success":
                    # END-4: only those authorize will accept are invited (AUTH-3, AUTH-5..AUTH-7)
                    messages.append(emails.Message("approved",
                                                   segregation.authorizers(self.authorize_facts(state))))
        return records, messages


class _RowUnit(_Unit):
    """A :class:`_Unit` over what :func:`transition_rows.read` read in its one locked statement:
    nothing more is read, and a transition is written with one statement per table."""

    def __init__(self, s: Session, loaded: transition_rows.Loaded, now: datetime) -> None:
        super().__init__(s, loaded.company, loaded.disbursement, now)  # type: ignore[arg-type]
        self.loaded = loaded
        self.head, self.people = loaded.head, loaded.people
        self.__dict__.update(eligible=loaded.eligible, admins=loaded.admins, project=loaded.project,
                             items=[(it.amount, it.retainage_released) for it in loaded.items])

    def invoice_approvers(self) -> dict[str, list[str]]:
        approvers: dict[str, list[str]] = {}
        for it in self.loaded.items:
            if it.approved_by is not None:
                approvers.setdefault(it.approved_by, []).append(it.invoice_id)
        return approvers

    def commit_rows(self, inst: transition_rows.InstanceRow, tr: instance.Transition, actor: str) -> None:
        """Persist a transition: on PostgreSQL in one statement (:func:`transition_rows.write_all`),
        elsewhere in five: the instance, the disbursement, the audit entries, the chain head and
        the outbox rows."""
        if not tr.changed:
            return
        conn = self.s.connection()
        before = self.d.workflow_status
        status = workflow_status(tr.state)
        if transition_rows.writes_in_one(conn):
            self.d.workflow_status = status  # the audit entries' `after`
            records, messages = self._records(inst, actor, tr.effects, None, before, tr.state)  # type: ignore[arg-type]
            transition_rows.write_all(
                conn, inst, tr.state, self.loaded.disbursement, status, self.now,
                audit.chain_rows(audit.disbursement_chain(self.d.id), self.company.id, self.now, records, self.head,
                                 sandbox=bool(self.d.sandbox)),
                emails.outbox_rows(self.s, now=self.now, subject=self.subject, messages=messages, known=self.people))
            return
        transition_rows.write_instance(conn, inst, tr.state, self.now)
        transition_rows.write_disbursement(conn, self.loaded.disbursement, status, self.now)
        self._effects(inst, actor, tr.effects, None, before, tr.state)  # type: ignore[arg-type]


def email_subject(s: Session, company: Company, d: Disbursement) -> emails.Subject:
    """What emails about ``d`` say it is (company, project, amount). An internal helper inside the
    caller's transaction (it checks no actor)."""
    return _Unit(s, company, d, now=None).subject


def authorize_facts(s: Session, company: Company, d: Disbursement) -> segregation.AuthorizeFacts:
    """What AUTH-5..AUTH-7 read about ``d`` now, for the authorize command: the responders of the
    instance that reached Approved (none when no workflow applies, ROLL-1). An internal helper
    inside the caller's transaction (it checks no actor)."""
    unit = _Unit(s, company, d, now=None)
    latest = latest_instance(s, d.id)
    if latest is not None and latest.status == "ended":
        return unit.authorize_facts(load_state(s, latest))
    return segregation.AuthorizeFacts(
        eligible=unit.eligible, invoice_approvers={u: tuple(v) for u, v in unit.invoice_approvers().items()},
        creator=d.created_by, segregation=company.segregation or "invoice_approver")


def _require_eligible_manager(s: Session, company_id: str, actor: str) -> None:
    """ROLE-8/MGR-1: being named manager is not enough; the manager must still be eligible.

    Also a manager action's GEN-8 standing (``_MANAGER``): before its stored result is
    replayed, the actor must still be one who could be a workflow manager at all; which
    instance they manage is the command's own check."""
    if not can_manage(s, company_id, actor):
        raise DomainError("permission_denied",
                          "the workflow manager is no longer an active admin or disburser with "
                          "can be workflow manager", rule="ROLE-8", missing="eligible workflow manager")


_MANAGER = _require_eligible_manager
_PARTICIPANT = standing(PAYMENTS_ADMIN, PAYMENTS_DISBURSER, rule="RESP-1", action="responding to a workflow step")
_ADMIN = standing(PAYMENTS_ADMIN, rule="MGR-2", action="reassigning a workflow manager")

def _require_open(d: Disbursement) -> None:
    if d.canceled_at is not None:
        raise DomainError("disbursement_canceled", "the disbursement is canceled", rule="AUTH-12")
    if d.authorized_at is not None:
        raise DomainError("disbursement_authorized", "the disbursement is authorized; nothing can change",
                          rule="AUTH-12")


# ---------------------------------------------------------------- starting


def start_on_template(s: Session, svc: Services, company: Company, d: Disbursement, actor: str | None,
                      *, template: Template | None = None, version: TemplateVersion | None = None,
                      snapshot: dict[str, Any] | None = None) -> Position:
    """Start an instance (inside the caller's transaction): the default template's active
    version and current configuration (WF-11), or a pinned version and snapshot (MGR-5 current).
    Returns where the new instance stands."""
    if template is None:
        if company.default_template_id is None:
            raise DomainError("no_workflow_configured", "no Configured default workflow template exists",
                              rule="MGR-4")
        template = s.get(Template, company.default_template_id)
        assert template is not None
    if version is None:
        found = configuration(s, template)
        if found.problems:
            raise DomainError("no_workflow_configured",
                              "the default template is Not Configured: " + "; ".join(found.problems), rule="WF-7")
        version, snapshot = found.version, found.snapshot
        assert version is not None
    assert snapshot is not None and version.content_hash and version.document is not None
    compiled = svc.compiled(version.content_hash, version.document)
    unit = _Unit(s, company, d, svc.now())
    previous = latest_instance(s, d.id)
    first = last_occurrence(s, d.id) + 1
    inst = Instance(company_id=company.id, disbursement_id=d.id, number=(previous.number + 1 if previous else 1),
                    template_id=template.id,
                    version_id=version.id, content_hash=version.content_hash, snapshot=snapshot,
                    status="active", blocked=False, started_at=svc.now(), lock_version=0,
                    state=[], first_seq=first, last_seq=first - 1, open_assignees=[], open_replaced=[],
                    open_answered=[], assigned=[])
    s.add(inst)
    s.flush()
    tr = instance.start(compiled, unit.context(inst, compiled), first_seq=first)
    unit.commit(inst, tr, actor)
    return position_of(s, d, inst, tr.state)


@idempotent("start", standing=_MANAGER, strangers_not_found=True)
def start(svc: Services, actor: str, company_id: str, disbursement_id: str, *,
          expected_version: int | None = None) -> Position:
    """MGR-4: the default template's manager starts a Not Started workflow; returns where the
    new instance stands (a start whose first steps are conditions may end at once, ST-2).

    ``expected_version`` (every workflow command takes it): the disbursement's version the
    caller read (``If-Match``); another one is ``precondition_failed``, checked on the locked row."""
    with svc.tx() as s:
        company = get_company(s, company_id)
        d = lock_disbursement(s, company_id, disbursement_id)
        require_version(d, expected_version)
        _require_open(d)
        if not d.workflow_applies:
            raise DomainError("workflow_not_applicable", "no workflow applies to this disbursement",
                              rule="ROLL-1")
        if d.workflow_status != STATUS_NOT_STARTED:
            raise DomainError("invalid_state", f"the workflow is {d.workflow_status}, not Not Started",
                              rule="MGR-4")
        template = s.get(Template, company.default_template_id) if company.default_template_id else None
        if template is None:
            raise DomainError("no_workflow_configured", "no Configured default workflow template exists",
                              rule="MGR-4")
        if actor != template.manager_id:
            raise DomainError("permission_denied", "only the default template's workflow manager may start it",
                              rule="MGR-1", missing="workflow manager of the default template")
        _require_eligible_manager(s, company_id, actor)
        return start_on_template(s, svc, company, d, actor)


# ---------------------------------------------------------------- commands on the active instance


@dataclass
class _Active:
    """The locked disbursement with its active instance, loaded for one command."""

    unit: _Unit
    inst: Instance
    compiled: CompiledWorkflow
    state: InstanceState

    def context(self) -> instance.Context:
        return self.unit.context(self.inst, self.compiled)

    def commit(self, tr: instance.Transition, actor: str | None, reason: str | None = None) -> None:
        self.unit.commit(self.inst, tr, actor, reason)


def _with_instance(s: Session, svc: Services, company_id: str, disbursement_id: str,
                   expected_version: int | None = None) -> _Active:
    # The instance is read by a query of its own, after the lock is held: a row
    # joined into the locking SELECT would come from the snapshot taken before
    # waiting for the lock (PostgreSQL re-reads only the locked row), and a
    # concurrent winner's change to the instance would go unseen.
    company, d = lock_with_company(s, company_id, disbursement_id)
    require_version(d, expected_version)
    _require_open(d)
    inst = active_instance(s, d.id)
    if inst is None:
        raise DomainError("instance_not_active", "the disbursement has no active workflow", rule="END-1")
    return _loaded(s, svc, company, d, inst)


def _loaded(s: Session, svc: Services, company: Company, d: Disbursement, inst: Instance) -> _Active:
    """``inst`` of the locked disbursement ``d``, with its workflow and state, ready for one command."""
    compiled = compiled_of(s, svc, inst)
    return _Active(_Unit(s, company, d, svc.now()), inst, compiled, load_state(s, inst))


@dataclass(frozen=True)
class RespondResult:
    """What a response did: the instance and occurrence it answered, and where the
    disbursement's workflow stands now (RESP-2: the caller sees which instance took it)."""

    instance_id: str
    occurrence: int
    workflow_status: str | None
    current_step: str | None
    current_occurrence: int | None
    #: the disbursement's version after the response (its next ETag); not part of equality, and
    #: defaulted so that a result stored before the field existed still replays (GEN-8)
    version: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Position:
    """Where a start or a manager action left the workflow: the instance it acted on (for a
    start or restart, the new one), the disbursement's workflow status, the step waiting, and
    the instance's workflow manager (MGR-1; the new one after MGR-2)."""

    instance_id: str
    workflow_status: str | None
    current_step: str | None
    current_occurrence: int | None
    blocked: bool
    #: defaulted so that a result stored before the field existed still replays (GEN-8)
    manager: str | None = None
    #: the disbursement's version after the action (its next ETag); not part of equality
    version: int | None = field(default=None, compare=False)


def position_of(s: Session, d: Disbursement, inst: Instance, state: InstanceState) -> Position:
    """``inst`` of ``d`` at ``state`` (read in the caller's transaction, after the change)."""
    cur = state.current
    return Position(inst.id, d.workflow_status, cur.step if cur else None, cur.seq if cur else None,
                    state.blocked, (inst.snapshot or {}).get("manager"), version_of(s, d))


def _position(a: "_Active", state: InstanceState) -> Position:
    return position_of(a.unit.s, a.unit.d, a.inst, state)


def _answered_instance(s: Session, d: Disbursement, occurrence: int, instance_id: str | None) -> Instance:
    """The instance holding ``occurrence`` (RESP-2: numbers are unique per disbursement).

    An occurrence found nowhere is stale, answered against the active instance (or the
    latest one) so the refusal is the same as for any other stale answer."""
    q = (select(Instance).where(Instance.disbursement_id == d.id, Instance.first_seq <= occurrence,
                                Instance.last_seq >= occurrence))
    if instance_id is not None:
        q = q.where(Instance.id == instance_id)
    found = [i for i in s.scalars(q) if load_state(s, i).occurrence(occurrence) is not None]
    if len(found) > 1:
        # only rows written before numbers continued across instances can collide
        raise DomainError("ambiguous_occurrence", f"occurrence {occurrence} exists in several workflow instances "
                          "of this disbursement; name the instance", rule="RESP-2")
    if found:
        return found[0]
    latest = latest_instance(s, d.id)
    if latest is None:
        raise DomainError("instance_not_active", "the disbursement has no active workflow", rule="END-1")
    raise DomainError("stale", "that step is no longer waiting for an answer", rule="RESP-2")


#: occurrence numbers are stored as (32-bit) integers
_MAX_OCCURRENCE = 2**31 - 1


def _check_prose(rule: str, **fields: object) -> None:
    """Reasons, comments and messages: optional text (their required-ness is the runtime's rule)."""
    for name, value in fields.items():
        optional_text(value, field=name, rule=rule)


@idempotent("respond", standing=_PARTICIPANT, strangers_not_found=True)
def respond(svc: Services, actor: str, company_id: str, disbursement_id: str, *, occurrence: int,
            answer: str, comment: str | None = None, instance_id: str | None = None,
            expected_version: int | None = None) -> RespondResult:
    """RESP-1..RESP-8: answer the current occurrence; routing, audit and emails commit together.

    ``occurrence`` names the answer's occurrence, unique across the disbursement's
    instances (RESP-2), so an answer read before a restart or an edit is refused as
    stale instead of landing on the new instance; ``instance_id`` may name its instance
    too. The same user's identical answer again is a no-op (RESP-4), even once that
    occurrence closed. With ``idempotency_key`` (GEN-8) a retried identical request
    changes nothing more and gets the first result back. ``expected_version`` is the
    disbursement's version the caller read (``If-Match``), compared on the locked row.
    """
    if type(occurrence) is not int or abs(occurrence) > _MAX_OCCURRENCE:
        raise DomainError("invalid_value", "occurrence: not an occurrence number", rule="RESP-2")
    if text_problem(answer, limit=200) is not None:
        raise DomainError("invalid_answer", "the answer is not one of the step's answers", rule="RESP-3")
    _check_prose("RESP-3", comment=comment)
    with svc.tx() as s:
        loaded = transition_rows.read(s.connection(), company_id, disbursement_id)
        inst_row = loaded.instance if loaded is not None else None
        if inst_row is not None and inst_row.first_seq <= occurrence <= inst_row.last_seq and (
                instance_id is None or instance_id == inst_row.id):
            # the hot path: the answer is to the active instance, all of it read in one statement
            assert loaded is not None
            require_version(loaded.disbursement, expected_version)  # type: ignore[arg-type]
            _require_open(loaded.disbursement)  # type: ignore[arg-type]
            unit = _RowUnit(s, loaded, svc.now())
            compiled = svc.compiled(inst_row.content_hash, lambda: s.get(TemplateVersion, inst_row.version_id).document)
            state = state_of(inst_row.status, inst_row.state, inst_row.first_seq, inst_row.end_step,
                             inst_row.outcome, inst_row.blocked)
            tr = instance.respond(state, compiled, unit.context(inst_row, compiled), user=actor,  # type: ignore[arg-type]
                                  occurrence=occurrence, answer=answer, comment=comment)
            unit.commit_rows(inst_row, tr, actor)
            cur = tr.state.current
            return RespondResult(inst_row.id, occurrence, loaded.disbursement.workflow_status,
                                 cur.step if cur else None, cur.seq if cur else None, loaded.disbursement.lock_version)
        company, d = lock_with_company(s, company_id, disbursement_id)
        require_version(d, expected_version)
        _require_open(d)
        a = _loaded(s, svc, company, d, _answered_instance(s, d, occurrence, instance_id))
        inst = a.inst
        tr = instance.respond(a.state, a.compiled, a.context(), user=actor, occurrence=occurrence,
                             answer=answer, comment=comment)
        was_active = inst.status == "active"
        a.commit(tr, actor)
        if was_active:
            cur = tr.state.current
        else:  # a no-op resubmit to an earlier instance (RESP-4): report where the workflow stands
            active = active_instance(s, d.id)
            cur = load_state(s, active).current if active is not None else None
        return RespondResult(inst.id, occurrence, d.workflow_status, cur.step if cur else None,
                             cur.seq if cur else None, version_of(s, d))


@idempotent("return_to", standing=_MANAGER, strangers_not_found=True)
def return_to(svc: Services, actor: str, company_id: str, disbursement_id: str, *, step: str,
              reason: str, expected_version: int | None = None) -> Position:
    """MGR-6: the instance's manager returns it to a response step it completed."""
    _check_prose("MGR-6", reason=reason)
    with svc.tx() as s:
        a = _with_instance(s, svc, company_id, disbursement_id, expected_version)
        tr = instance.return_to(a.state, a.compiled, a.context(), actor=actor, step=step, reason=reason)
        a.commit(tr, actor, reason)
        return _position(a, tr.state)


@idempotent("add_assignees", standing=_MANAGER, strangers_not_found=True)
def add_assignees(svc: Services, actor: str, company_id: str, disbursement_id: str, *,
                  users: Sequence[str], reason: str, comment: str | None = None,
                  replacing: Sequence[str] = (), message: str | None = None,
                  expected_version: int | None = None) -> Position:
    """MGR-7, MGR-8: the instance's manager adds assignees to the current response occurrence
    (unblocking a Blocked instance, STEP-2), optionally replacing awaited ones."""
    _check_prose("MGR-7", reason=reason, comment=comment, message=message)
    with svc.tx() as s:
        a = _with_instance(s, svc, company_id, disbursement_id, expected_version)
        tr = instance.add_assignees(a.state, a.compiled, a.context(), actor=actor, users=users, reason=reason,
                                   comment=comment, replacing=replacing, message=message)
        a.commit(tr, actor, reason)
        return _position(a, tr.state)


@idempotent("terminate", standing=_MANAGER, strangers_not_found=True)
def terminate(svc: Services, actor: str, company_id: str, disbursement_id: str, *, reason: str,
              expected_version: int | None = None) -> Position:
    """MGR-9: the instance's manager ends the active instance without an end step; the workflow
    status goes back to Not Started. Returns the terminated instance's position (no step waits)."""
    _check_prose("MGR-3", reason=reason)
    with svc.tx() as s:
        a = _with_instance(s, svc, company_id, disbursement_id, expected_version)
        tr = instance.terminate(a.state, a.context(), actor=actor, reason=reason)
        a.commit(tr, actor, reason)
        return _position(a, tr.state)


@idempotent("restart", standing=_MANAGER, strangers_not_found=True)
def restart(svc: Services, actor: str, company_id: str, disbursement_id: str, *, reason: str,
            mode: RestartMode = "defaults", expected_version: int | None = None) -> Position:
    """MGR-5: end the active (or look at the ended) instance and start afresh; returns where the
    new instance stands."""
    _check_prose("MGR-5", reason=reason)
    if not reason or not reason.strip():
        raise DomainError("reason_required", "a non-empty reason is required", rule="MGR-3")
    if mode not in ("defaults", "current"):
        raise DomainError("invalid_mode", "restart mode is `defaults` or `current`", rule="MGR-5")
    with svc.tx() as s:
        company = get_company(s, company_id)
        d = lock_disbursement(s, company_id, disbursement_id)
        require_version(d, expected_version)
        _require_open(d)
        inst = latest_instance(s, d.id)
        if inst is None:
            raise DomainError("instance_not_active", "the workflow has not been started", rule="MGR-5")
        snap = Snapshot.from_data(inst.snapshot)
        if actor != snap.manager:
            raise DomainError("permission_denied", "only the instance's workflow manager may restart it",
                              rule="MGR-1", missing="workflow manager of this instance")
        _require_eligible_manager(s, company_id, actor)
        if inst.status == "terminated":
            raise DomainError("instance_not_active", "the workflow was terminated; start it again from "
                              "not started instead", rule="MGR-5")
        if mode == "current":
            template = s.get(Template, inst.template_id)
            if template is None or template.archived:
                raise DomainError("template_archived", "the instance's template is archived; restart in "
                                  "mode `defaults`", rule="WF-14")
        return _restart_in(s, svc, company, d, inst, actor, reason.strip(), mode)


def _restart_in(s: Session, svc: Services, company: Company, d: Disbursement, inst: Instance,
                actor: str | None, reason: str, mode: RestartMode,
                cause: instance.TerminateCause = "restart") -> Position:
    before = d.workflow_status
    if inst.status == "active":
        _terminate_in(s, svc, company, d, inst, actor, reason, cause)
    audit.append(s, chain=audit.disbursement_chain(d.id), company_id=company.id, at=svc.now(),
                 actor_id=actor, action="restarted", object_type="disbursement", object_id=d.id,
                 before={"workflow_status": before}, after=None, reason=reason, rules=("MGR-5", "MGR-3"),
                 version_id=inst.version_id, content_hash=inst.content_hash,
                 details={"instance": inst.id, "mode": mode}, sandbox=bool(d.sandbox))
    if mode == "current":
        template = s.get(Template, inst.template_id)
        version = s.get(TemplateVersion, inst.version_id)
        return start_on_template(s, svc, company, d, actor, template=template, version=version,
                                 snapshot=dict(inst.snapshot))
    return start_on_template(s, svc, company, d, actor)


def restart_for_edit(s: Session, svc: Services, company: Company, d: Disbursement, actor: str,
                     reason: str) -> None:
    """DSB-12: an edit after the workflow started restarts it in `defaults` mode. An internal helper
    inside the edit's transaction, which checked its actor (exempt from ``(svc, actor, company_id)``)."""
    inst = latest_instance(s, d.id)
    if inst is None or d.workflow_status in (None, STATUS_NOT_STARTED):
        return
    _restart_in(s, svc, company, d, inst, actor, reason, "defaults", cause="edit")


def _terminate_in(s: Session, svc: Services, company: Company, d: Disbursement, inst: Instance,
                  actor: str | None, reason: str, cause: instance.TerminateCause) -> None:
    a = _loaded(s, svc, company, d, inst)
    tr = instance.terminate(a.state, a.context(), actor=actor or "", reason=reason, cause=cause)
    a.commit(tr, actor, reason)


def cancel_instance(s: Session, svc: Services, company: Company, d: Disbursement, actor: str,
                    reason: str) -> None:
    """AUTH-13: terminate the active instance as part of a cancel (its emails included). An internal
    helper inside the cancel's transaction, which checked its actor (exempt from ``(svc, actor, company_id)``)."""
    inst = active_instance(s, d.id)
    if inst is not None:
        _terminate_in(s, svc, company, d, inst, actor, reason, "cancel")


@idempotent("reassign_manager", standing=_ADMIN, strangers_not_found=True)
def reassign_manager(svc: Services, actor: str, company_id: str, disbursement_id: str, *,
                     manager: str, reason: str, expected_version: int | None = None) -> Position:
    """MGR-2: an Admin hands an instance whose manager is no longer eligible to an eligible one:
    an active instance, or an ended (Approved or Rejected) one, which only its manager can restart.
    Returns the instance's position with its new manager."""
    _check_prose("MGR-2", reason=reason)
    if not reason or not reason.strip():
        raise DomainError("reason_required", "a non-empty reason is required", rule="MGR-2")
    with svc.tx() as s:
        get_company(s, company_id)
        require_any(s, company_id, actor, (PAYMENTS_ADMIN,), rule="MGR-2", action="reassigning a workflow manager")
        d = lock_disbursement(s, company_id, disbursement_id)
        require_version(d, expected_version)
        _require_open(d)
        inst = latest_instance(s, d.id)
        if inst is None or inst.status == "terminated":
            # an ended instance's new manager restarts it; a terminated one is started again (MGR-4)
            raise DomainError("instance_not_active", "the disbursement has no active or ended workflow",
                              rule="MGR-2")
        old = inst.snapshot.get("manager")
        if old and can_manage(s, company_id, old):
            raise DomainError("manager_still_eligible", "the current manager is still eligible", rule="MGR-2")
        if not can_manage(s, company_id, manager):
            raise DomainError("ineligible_manager", "the new manager must be eligible and hold Can Be Workflow Manager",
                              rule="ROLE-8")
        inst.snapshot = {**inst.snapshot, "manager": manager}
        inst.lock_version += 1
        bump(d, svc.now())  # bumps lock_version (optimistic check, the ETag)
        audit.append(s, chain=audit.disbursement_chain(d.id), company_id=company_id, at=svc.now(),
                     actor_id=actor, action="manager_reassigned", object_type="disbursement", object_id=d.id,
                     before={"manager": old}, after={"manager": manager}, reason=reason.strip(),
                     rules=("MGR-2",), version_id=inst.version_id, content_hash=inst.content_hash,
                     details={"instance": inst.id}, sandbox=bool(d.sandbox))
        return position_of(s, d, inst, load_state(s, inst))


def recheck_eligibility(s: Session, svc: Services, company_id: str, user_ids: Sequence[str],
                        actor: str | None) -> list[str]:
    """STEP-2, inside the caller's transaction (a role revoked, a user deactivated): block every
    active instance of the company whose current step has no eligible awaited assignee left,
    audited and emailed to the manager and the Admins as a step entered with nobody to answer.
    Returns the disbursements blocked.

    Each disbursement is row-locked before its instance is read, as every workflow command
    does, so a response racing the revoke is serialised with it.

    An internal helper, not a command: it takes the caller's ``Session`` and runs inside the
    revoke or deactivation that caused it (``directory.revoke``, ``directory.set_user_active``),
    which checked its actor (an Admin, ROLE-11); ``actor`` is only whom the audit names.
    """
    s.flush()  # the caller's grant or user change must be visible to the eligibility queries
    eligible = eligible_users(s, company_id)
    gone = {u for u in user_ids if u not in eligible}
    if not gone:
        return []
    # columns, not entities: the instances are read again, fresh, once their disbursement is locked
    candidates = sorted({d_id for d_id, assignees, replaced in s.execute(
        select(Instance.disbursement_id, Instance.open_assignees, Instance.open_replaced)
        .where(Instance.company_id == company_id, Instance.status == "active", Instance.blocked.is_(False),
               Instance.open_seq.is_not(None)))
        if gone.intersection(set(assignees or ()) - set(replaced or ()))})
    if not candidates:
        return []
    company = get_company(s, company_id)
    blocked: list[str] = []
    for d_id in candidates:
        d = lock_disbursement(s, company_id, d_id)
        inst = active_instance(s, d.id)
        if inst is None or d.canceled_at is not None or d.authorized_at is not None:
            continue
        a = _loaded(s, svc, company, d, inst)
        tr = instance.recheck(a.state, a.context())
        if tr.changed:
            a.commit(tr, actor)
            blocked.append(d.id)
        else:
            # a respond that waited for this lock re-reads what it read before the wait
            # (engine/service/transition_rows.py): the instance's version tells it to
            inst.lock_version += 1
    return blocked


# ---------------------------------------------------------------- queries


@dataclass(frozen=True)
class InstanceView:
    instance_id: str
    status: str
    workflow_status: str | None
    current_step: str | None
    current_occurrence: int | None
    #: STEP-5 and ROLE-8: awaited assignees of the current occurrence who are still eligible
    awaited: tuple[str, ...]
    blocked: bool
    path: tuple[str, ...]
    overdue_steps: tuple[str, ...]
    #: STEP-7/END-2: the current response step's status text, or the end step's once ended
    status_text: str | None = None


def _status_text(compiled: CompiledWorkflow, state: InstanceState) -> str | None:
    name = state.current.step if state.current is not None else state.end_step if state.status == "ended" else None
    step = compiled.config.step_named(name) if name is not None else None
    return getattr(step, "status", None)


#: ROLE-2, ROLE-4, ROLE-7: who works with disbursements or workflows, and so may see where one stands
VIEWING = (PAYMENTS_ADMIN, PAYMENTS_DISBURSER, DISBURSEMENT_CONTRIBUTOR, *WORKFLOW_PERMISSIONS)


def _participates(s: Session, d: Disbursement, user: str) -> bool:
    """Whether ``user`` made the disbursement (DSB-11, DSB-6) or took part in its workflow: the
    manager (MGR-1) or an assignee (STEP-1) of any of its instances."""
    if user in (d.created_by, d.drafted_by):
        return True
    return any((snap or {}).get("manager") == user or user in (assigned or ())
               for snap, assigned in s.execute(select(Instance.snapshot, Instance.assigned)
                                               .where(Instance.disbursement_id == d.id)))


def require_viewer(s: Session, company_id: str, actor: str, d_id: str) -> Disbursement:
    """Who may see a disbursement and where its workflow stands (GEN-4, ROLE-7), as :func:`view`
    documents it; returns the disbursement. An internal helper inside the caller's session,
    shared by every query that shows a disbursement (:mod:`engine.service.disbursement_queries`)."""
    member = membership(s, company_id, actor)
    d = s.get(Disbursement, d_id) if member is not None and member.active else None
    if d is None or d.company_id != company_id:
        # GEN-5: a stranger, or a member deactivated here, learns nothing about the company's objects
        raise DomainError("not_found", "no such disbursement", rule="GEN-5")
    if held(s, company_id, actor).isdisjoint(VIEWING) and not _participates(s, d, actor):
        raise DomainError("permission_denied", "viewing a disbursement's workflow needs a payments role, "
                          "a workflow permission or a part in the workflow", rule="ROLE-7",
                          missing=" or ".join(LABELS[p] for p in VIEWING))
    return d


def view(svc: Services, actor: str, company_id: str, disbursement_id: str) -> InstanceView | None:
    """The latest instance as the disbursement page shows it, with overdue steps (None before a start).

    Who may look (checked here, GEN-4):

    - a non-member of the company, or a member deactivated in it, gets ``not_found``, exactly as
      for a disbursement that does not exist (GEN-5: a user acts only on their own company's
      objects, and another company's object is "not found");
    - an active member who holds a payments role that works with disbursements — Payments
      Admin, Payments Disburser (ROLE-1, ROLE-2) or Disbursement Contributor (ROLE-4) — or any
      workflow permission (ROLE-7) may view;
    - so may a participant: the disbursement's creator (DSB-11) or drafter (DSB-6), or the
      manager or an assignee of any of its instances (MGR-1, STEP-1, ROLE-8), even once they
      hold no role any more (what they were asked to act on stays visible to them);
    - any other member (a Beneficiary Approver only, say, ROLE-5) is ``permission_denied``.

    The view shows no history (that is :func:`engine.service.history.history`, filtered by ROLE-9).
    """
    with svc.db.sessions() as s:
        company = get_company(s, company_id)
        d = require_viewer(s, company_id, actor, disbursement_id)
        inst = latest_instance(s, d.id)
        if inst is None:
            return None
        state = load_state(s, inst)
        cur = state.current
        late = instance.overdue(state, calendar_of(company), svc.now())
        awaited: tuple[str, ...] = ()
        if cur is not None:
            eligible = eligible_users(s, company_id)
            awaited = tuple(u for u in cur.awaited if u in eligible)
        compiled = compiled_of(s, svc, inst)
        return InstanceView(inst.id, state.status, d.workflow_status, cur.step if cur else None,
                            cur.seq if cur else None, awaited, state.blocked,
                            tuple(state.path), tuple(o.step for o in late), _status_text(compiled, state))
