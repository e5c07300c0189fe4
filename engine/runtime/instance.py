"""The workflow runtime: a pure state machine over one instance.

Every function here takes the instance state, a command and a
:class:`Context` (``now``, the company calendar, who is eligible, the pinned
snapshot, the facts, the creator, the admins, who may manage) and returns the
new state plus *effects* — audit events and notices — without touching a
database, a clock or a mail server. :mod:`engine.service.instances` applies a
transition and its effects in one transaction; :mod:`engine.service.reminders` and
the property tests (tests/properties) call the same functions.

Refusals raise :class:`engine.errors.DomainError` with a code and the domain
rule ID; nothing is returned, so nothing can be half-applied.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Callable, Iterable, Literal, Mapping, Sequence

from engine.errors import DomainError, InvariantBroken
from engine.runtime.calendar import CompanyCalendar
from engine.spec.model import ConditionStep, EndStep, ResponseStep, Step, WorkflowConfig

if TYPE_CHECKING:
    from engine.spec.compiler import CompiledWorkflow
    from engine.spec.facts import Facts

InstanceStatus = Literal["active", "ended", "terminated"]

#: MGR-7: the documented reasons for adding assignees.
ADD_ASSIGNEE_REASONS = (
    "new_employee",
    "left_company",
    "left_project",
    "extended_leave",
    "vacation",
    "other",
)


# ---------------------------------------------------------------- state


@dataclass(frozen=True)
class Snapshot:
    """The configuration pinned at start (WF-12): role and group members, the manager."""

    manager: str
    roles: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: `user "email"` assignees resolved to user ids
    users: Mapping[str, str] = field(default_factory=dict)

    def to_data(self) -> dict[str, Any]:
        return {
            "manager": self.manager,
            "roles": {k: list(v) for k, v in sorted(self.roles.items())},
            "groups": {k: list(v) for k, v in sorted(self.groups.items())},
            "users": dict(sorted(self.users.items())),
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> "Snapshot":
        return cls(
            manager=data["manager"],
            roles={k: tuple(v) for k, v in data.get("roles", {}).items()},
            groups={k: tuple(v) for k, v in data.get("groups", {}).items()},
            users=dict(data.get("users", {})),
        )


@dataclass(frozen=True)
class Response:
    user: str
    answer: str
    at: datetime
    comment: str | None = None


@dataclass(frozen=True)
class Occurrence:
    """One visit of the instance to a step."""

    seq: int
    step: str
    kind: Literal["response", "condition", "end"]
    entered_at: datetime
    due: date | None = None
    assignees: tuple[str, ...] = ()
    replaced: tuple[str, ...] = ()
    responses: tuple[Response, ...] = ()
    closed_at: datetime | None = None
    #: the answer or branch that closed it; "returned"/"terminated" for manager closes
    decision: str | None = None
    #: for condition steps: the recorded evaluation (COND-13)
    evaluation: Mapping[str, Any] | None = None

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    @property
    def awaited(self) -> tuple[str, ...]:
        """STEP-5: assignees minus those the manager replaced."""
        return tuple(u for u in self.assignees if u not in self.replaced)

    def response_of(self, user: str) -> Response | None:
        return next((r for r in self.responses if r.user == user), None)


@dataclass(frozen=True)
class InstanceState:
    status: InstanceStatus = "active"
    occurrences: tuple[Occurrence, ...] = ()
    end_step: str | None = None
    outcome: Literal["success", "failure"] | None = None
    blocked: bool = False
    #: RESP-2: the number of the instance's first occurrence. Numbers continue across the
    #: instances of a disbursement, so an answer naming an occurrence of an earlier
    #: instance can never be taken for an answer to the restarted one.
    first_seq: int = 1

    def occurrence(self, seq: int) -> Occurrence | None:
        return next((o for o in self.occurrences if o.seq == seq), None)

    @property
    def current(self) -> Occurrence | None:
        """The open response occurrence of an active instance, if any."""
        if self.status != "active" or not self.occurrences:
            return None
        last = self.occurrences[-1]
        return last if last.is_open and last.kind == "response" else None

    @property
    def path(self) -> list[str]:
        return [o.step for o in self.occurrences]

    def everyone_assigned(self) -> tuple[str, ...]:
        """END-3: every user assigned to any response occurrence of the instance."""
        seen: dict[str, None] = {}
        for occ in self.occurrences:
            for u in occ.assignees:
                seen.setdefault(u)
        return tuple(seen)


@dataclass(frozen=True)
class Context:
    """Everything a transition may read besides the state; all injected."""

    now: datetime
    snapshot: Snapshot
    eligible: frozenset[str]
    facts: Facts
    creator: str | None = None
    calendar: CompanyCalendar = field(default_factory=CompanyCalendar)
    admins: Sequence[str] = ()
    #: ROLE-8/MGR-1: whether a user may act as a workflow manager now (eligible and holding
    #: Can Be Workflow Manager); being named manager in the snapshot is not enough
    may_manage: Callable[[str], bool] = lambda _user: False


# ---------------------------------------------------------------- effects


@dataclass(frozen=True)
class AuditEvent:
    """One audit entry to write (AUD-2): the store adds actor, time, hashes."""

    action: str
    rules: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Notice:
    """One email event (AUD-6) to the given users; the store renders it."""

    event: str
    recipients: tuple[str, ...]
    step: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


Effect = AuditEvent | Notice


@dataclass(frozen=True)
class Transition:
    state: InstanceState
    effects: tuple[Effect, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.effects)


# ---------------------------------------------------------------- helpers


def _step(config: WorkflowConfig, name: str) -> Step:
    step = config.step_named(name)
    if step is None:  # a checked workflow never routes to a missing step
        raise InvariantBroken(f"the workflow has no step `{name}`")
    return step


def _unique(users: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(users))


def resolve_assignees(step: ResponseStep, ctx: Context) -> tuple[str, ...]:
    """STEP-1: roles through the snapshot, users, groups → distinct eligible users."""
    found: list[str] = []
    for party in step.assignees:
        if party.kind == "role":
            found.extend(ctx.snapshot.roles.get(party.name, ()))
        elif party.kind == "group":
            found.extend(ctx.snapshot.groups.get(party.name, ()))
        elif party.name in ctx.snapshot.users:
            found.append(ctx.snapshot.users[party.name])
    return tuple(u for u in _unique(found) if u in ctx.eligible)


def _recipients(names: Sequence[str], state: InstanceState, assignees: Iterable[str],
                ctx: Context) -> tuple[str, ...]:
    out: list[str] = list(assignees)
    if "manager" in names:
        out.append(ctx.snapshot.manager)
    if "creator" in names and ctx.creator:
        out.append(ctx.creator)
    return _unique(out)


def _close(occ: Occurrence, now: datetime, decision: str) -> Occurrence:
    return replace(occ, closed_at=now, decision=decision)


def _replace_last(state: InstanceState, occ: Occurrence) -> InstanceState:
    return replace(state, occurrences=state.occurrences[:-1] + (occ,))


def _enter(state: InstanceState, compiled: CompiledWorkflow, name: str, ctx: Context,
           effects: list[Effect]) -> InstanceState:
    """Enter ``name`` and keep going through condition steps (COND-1, RESP-8)."""
    from engine.spec.evaluator import decide

    config: WorkflowConfig = compiled.config
    for _ in range(len(config.steps) + 1):
        step = _step(config, name)
        seq = state.occurrences[-1].seq + 1 if state.occurrences else state.first_seq
        if isinstance(step, ResponseStep):
            assignees = resolve_assignees(step, ctx)
            due = ctx.calendar.due_date(ctx.now, step.due.days, step.due.unit) if step.due else None
            occ = Occurrence(seq, step.name, "response", ctx.now, due=due, assignees=assignees)
            state = replace(state, occurrences=state.occurrences + (occ,), blocked=not assignees)
            effects.append(AuditEvent("step_entered", ("STEP-1", "STEP-9"), {
                "step": step.name, "occurrence": seq, "assignees": list(assignees),
                "due": due.isoformat() if due else None,
            }))
            if not assignees:
                effects.append(AuditEvent("instance_blocked", ("STEP-2",), {"step": step.name}))
                effects.append(Notice("blocked", _unique((ctx.snapshot.manager, *ctx.admins)), step.name))
            else:
                effects.append(Notice("step_entered",
                                      _recipients(step.notify, state, assignees, ctx), step.name,
                                      {"due": due.isoformat() if due else None, "status": step.status}))
            return state
        if isinstance(step, ConditionStep):
            outcome = decide(compiled, step.name, ctx.facts)
            evaluation = outcome.to_data()
            occ = Occurrence(seq, step.name, "condition", ctx.now, closed_at=ctx.now,
                             decision=outcome.target, evaluation=evaluation)
            state = replace(state, occurrences=state.occurrences + (occ,))
            effects.append(AuditEvent("condition_decided", ("COND-1", "COND-2", "COND-13"), {
                "step": step.name, "occurrence": seq, **evaluation,
            }))
            name = outcome.target
            continue
        assert isinstance(step, EndStep)
        occ = Occurrence(seq, step.name, "end", ctx.now, closed_at=ctx.now, decision=step.outcome)
        state = replace(state, occurrences=state.occurrences + (occ,), status="ended",
                        end_step=step.name, outcome=step.outcome, blocked=False)
        effects.append(AuditEvent("end_reached", ("END-1", "END-2"), {
            "step": step.name, "outcome": step.outcome, "status": step.status,
        }))
        effects.append(Notice("end_reached",
                              _recipients(step.notify, state,
                                          state.everyone_assigned() if "assignees" in step.notify else (),
                                          ctx),
                              step.name, {"outcome": step.outcome, "status": step.status}))
        return state
    raise InvariantBroken("condition steps route to each other in a loop")


def _require_active(state: InstanceState) -> None:
    if state.status != "active":
        raise DomainError("instance_not_active", f"the workflow instance is {state.status}",
                          rule="END-1")


def _require_manager(actor: str, ctx: Context) -> None:
    if actor != ctx.snapshot.manager:
        raise DomainError("permission_denied",
                          "only the instance's workflow manager may do this",
                          rule="MGR-1", missing="workflow manager of this instance")
    if not ctx.may_manage(actor):
        raise DomainError("permission_denied",
                          "the workflow manager is no longer an active admin or disburser with "
                          "can be workflow manager", rule="ROLE-8", missing="eligible workflow manager")


def _has_eligible(occ: Occurrence, ctx: Context) -> bool:
    """STEP-2: someone awaited on ``occ`` can still answer."""
    return any(u in ctx.eligible for u in occ.awaited)


def _require_reason(reason: str | None, rule: str) -> str:
    if reason is None or not reason.strip():
        raise DomainError("reason_required", "a non-empty reason is required", rule=rule)
    return reason.strip()


# ---------------------------------------------------------------- commands


def start(compiled: CompiledWorkflow, ctx: Context, *, first_seq: int = 1) -> Transition:
    """Start an instance at the workflow's first step (MGR-4, DSB-8); its occurrences are
    numbered from ``first_seq``, after every occurrence of the disbursement's earlier
    instances (RESP-2)."""
    first = compiled.config.start
    if first is None:  # never compiled so (WF-5); only a corrupted stored version can lack it
        raise InvariantBroken("the workflow does not say which step it starts at")
    effects: list[Effect] = [AuditEvent("workflow_started", ("WF-11", "WF-12"), {
        "start": first,
    })]
    state = _enter(InstanceState(first_seq=first_seq), compiled, first, ctx, effects)
    return Transition(state, tuple(effects))


def respond(state: InstanceState, compiled: CompiledWorkflow, ctx: Context, *, user: str, occurrence: int,
            answer: str, comment: str | None = None) -> Transition:
    """A user answers the current occurrence (RESP-1..RESP-6, STEP-3, STEP-4).

    RESP-4 is checked first and wins over RESP-2: a user who already answered the named
    occurrence and sends the identical answer again gets a no-op, also when that answer
    closed the occurrence or ended the instance (a retried request must not fail because
    it succeeded); a different answer is refused.
    """
    named = state.occurrence(occurrence)
    previous = named.response_of(user) if named is not None else None
    if previous is not None:
        if user not in ctx.eligible:
            raise DomainError("permission_denied", "you are no longer an active admin or disburser",
                              rule="RESP-1", missing="assignee of the current step")
        if previous.answer == answer:
            return Transition(state)  # RESP-4: identical resubmit is a no-op
        raise DomainError("already_responded",
                          f"you already answered `{previous.answer}` on this step", rule="RESP-4")
    current = state.current
    if current is None or current.seq != occurrence:
        raise DomainError("stale", "that step is no longer waiting for an answer", rule="RESP-2")
    if user not in current.awaited or user not in ctx.eligible:
        raise DomainError("permission_denied", "you are not an assignee of the current step",
                          rule="RESP-1", missing="assignee of the current step")
    if state.blocked:
        raise DomainError("instance_blocked", "the workflow is blocked until the manager adds assignees",
                          rule="STEP-2")
    step = _step(compiled.config, current.step)
    assert isinstance(step, ResponseStep)
    offered = [a.response for a in step.answers]
    if answer not in offered:
        raise DomainError("invalid_answer",
                          f"`{answer}` is not an answer of `{step.name}`; expected one of "
                          + ", ".join(f"`{o}`" for o in offered), rule="RESP-3")
    occ = replace(current, responses=current.responses + (Response(user, answer, ctx.now, comment),))
    effects: list[Effect] = [AuditEvent("response_submitted", ("RESP-1", "RESP-3"), {
        "step": step.name, "occurrence": occ.seq, "answer": answer, "comment": comment,
    })]
    decided: str | None = None
    if step.requires == "any" or answer != "Approve":
        decided = answer  # STEP-3, and STEP-4's "any other answer decides at once"
    elif _all_approved(occ):
        decided = "Approve"
    state = _replace_last(state, occ)
    if decided is None:
        return Transition(state, tuple(effects))
    state = _decide(state, compiled, ctx, step, occ, decided, effects, ("STEP-3", "STEP-4", "STEP-6"))
    return Transition(state, tuple(effects))


def _all_approved(occ: Occurrence) -> bool:
    """STEP-4: every awaited assignee of ``occ`` answered Approve."""
    return bool(occ.awaited) and all(
        (r := occ.response_of(u)) is not None and r.answer == "Approve" for u in occ.awaited)


def _decide(state: InstanceState, compiled: CompiledWorkflow, ctx: Context, step: ResponseStep, occ: Occurrence,
            decided: str, effects: list[Effect], rules: tuple[str, ...]) -> InstanceState:
    """Close the current occurrence with ``decided`` and follow its route (STEP-6, RESP-8)."""
    target = next(a.target for a in step.answers if a.response == decided)
    state = _replace_last(state, _close(occ, ctx.now, decided))
    effects.append(AuditEvent("step_decided", rules, {
        "step": step.name, "occurrence": occ.seq, "decision": decided, "target": target,
    }))
    return _enter(state, compiled, target, ctx, effects)


def return_to(state: InstanceState, compiled: CompiledWorkflow, ctx: Context, *, actor: str, step: str,
              reason: str | None) -> Transition:
    """MGR-6: reopen a previously visited response step as a new occurrence."""
    _require_manager(actor, ctx)
    _require_active(state)
    reason = _require_reason(reason, "MGR-3")
    visited = {o.step for o in state.occurrences if o.kind == "response" and not o.is_open}
    if step not in visited:
        raise DomainError("invalid_return_target",
                          f"`{step}` is not a response step this instance has completed", rule="MGR-6")
    effects: list[Effect] = []
    current = state.current
    if current is not None:
        state = _replace_last(state, _close(current, ctx.now, "returned"))
    effects.append(AuditEvent("returned", ("MGR-6", "MGR-3"), {
        "from": current.step if current else None, "to": step, "reason": reason,
    }))
    affected = current.awaited if current else ()
    effects.append(Notice("manager_action", _unique((ctx.snapshot.manager,
                                                     *((ctx.creator,) if ctx.creator else ()),
                                                     *affected)),
                          step, {"action": "return", "reason": reason}))
    state = replace(state, blocked=False)
    state = _enter(state, compiled, step, ctx, effects)
    return Transition(state, tuple(effects))


def add_assignees(state: InstanceState, compiled: CompiledWorkflow, ctx: Context, *, actor: str,
                  users: Sequence[str], reason: str, comment: str | None = None,
                  replacing: Sequence[str] = (), message: str | None = None) -> Transition:
    """MGR-7/MGR-8: add eligible users to the current occurrence, optionally replacing others."""
    _require_manager(actor, ctx)
    _require_active(state)
    current = state.current
    if current is None:
        raise DomainError("invalid_state", "the instance has no response step waiting", rule="MGR-7")
    if reason not in ADD_ASSIGNEE_REASONS:
        raise DomainError("invalid_reason", "the reason must be one of "
                          + ", ".join(ADD_ASSIGNEE_REASONS), rule="MGR-7")
    if reason == "other" and not (comment and comment.strip()):
        raise DomainError("reason_required", "reason `other` needs a comment", rule="MGR-7")
    new = _unique(users)
    if not new:
        raise DomainError("invalid_assignees", "name at least one user to add", rule="MGR-7")
    ineligible = [u for u in new if u not in ctx.eligible]
    if ineligible:
        raise DomainError("ineligible_assignee",
                          "not an active Payments Admin or Disburser: " + ", ".join(ineligible),
                          rule="ROLE-8")
    bad_replace = [u for u in replacing if u not in current.awaited]
    if bad_replace:
        raise DomainError("invalid_assignees",
                          "can only replace awaited assignees of the current step: "
                          + ", ".join(bad_replace), rule="MGR-8")
    added = tuple(u for u in new if u not in current.assignees)
    occ = replace(current, assignees=current.assignees + added,
                  replaced=_unique((*current.replaced, *replacing)))
    state = replace(_replace_last(state, occ), blocked=not _has_eligible(occ, ctx))
    effects: list[Effect] = [
        AuditEvent("assignees_added", ("MGR-7", "MGR-8"), {
            "step": occ.step, "occurrence": occ.seq, "added": list(added),
            "replaced": list(replacing), "reason": reason, "comment": comment,
        }),
        Notice("assignees_added", added, occ.step, {"message": message, "reason": reason}),
        Notice("manager_action", _unique((ctx.snapshot.manager,
                                          *((ctx.creator,) if ctx.creator else ()),
                                          *replacing)),
               occ.step, {"action": "add_assignees", "reason": reason}),
    ]
    step = _step(compiled.config, occ.step)
    assert isinstance(step, ResponseStep)
    if step.requires == "all" and replacing and _all_approved(occ):
        # STEP-4/MGR-8: replacing the last assignee who had not approved completes the step
        state = _decide(replace(state, blocked=False), compiled, ctx, step, occ, "Approve", effects,
                        ("STEP-4", "MGR-8"))
    return Transition(state, tuple(effects))


TerminateCause = Literal["terminate", "restart", "cancel", "edit"]
_CAUSE_RULES = {"terminate": ("MGR-9", "MGR-3"), "restart": ("MGR-5", "MGR-3"),
                "cancel": ("AUTH-13",), "edit": ("DSB-12",)}


def terminate(state: InstanceState, ctx: Context, *, actor: str, reason: str | None,
              cause: TerminateCause = "terminate") -> Transition:
    """End an active instance without an end step.

    ``terminate`` is the manager action of MGR-9 (only the instance's manager);
    the others are the first half of a restart (MGR-5), a cancel (AUTH-13) or
    an edit (DSB-12), whose callers check their own permissions.
    """
    if cause == "terminate":
        _require_manager(actor, ctx)
    _require_active(state)
    reason = _require_reason(reason, _CAUSE_RULES[cause][-1])
    current = state.current
    if current is not None:
        state = _replace_last(state, _close(current, ctx.now, "terminated"))
    state = replace(state, status="terminated", blocked=False)
    affected = current.awaited if current else ()
    effects: list[Effect] = [
        AuditEvent("terminated", _CAUSE_RULES[cause], {"reason": reason, "cause": cause}),
        Notice("canceled" if cause == "cancel" else "manager_action",
               _unique((ctx.snapshot.manager, *((ctx.creator,) if ctx.creator else ()), *affected)),
               current.step if current else None,
               {"action": cause, "reason": reason}),
    ]
    return Transition(state, tuple(effects))


def recheck(state: InstanceState, ctx: Context) -> Transition:
    """STEP-2: block an active instance whose open occurrence has no awaited assignee who is
    still eligible (their role was revoked or they were deactivated since the step was
    entered): nobody could answer it, so the manager and the Admins must hear of it."""
    current = state.current
    if current is None or state.blocked or _has_eligible(current, ctx):
        return Transition(state)
    state = replace(state, blocked=True)
    effects: tuple[Effect, ...] = (
        AuditEvent("instance_blocked", ("STEP-2",), {
            "step": current.step, "occurrence": current.seq, "ineligible": list(current.awaited),
        }),
        Notice("blocked", _unique((ctx.snapshot.manager, *ctx.admins)), current.step),
    )
    return Transition(state, effects)


# ---------------------------------------------------------------- queries


def overdue(state: InstanceState, calendar: CompanyCalendar, now: datetime) -> list[Occurrence]:
    """Open occurrences past their due date (STEP-9)."""
    return [o for o in state.occurrences
            if o.is_open and o.due is not None and calendar.is_overdue(o.due, now)]


@dataclass(frozen=True)
class Reminder:
    occurrence: int
    step: str
    day: date
    recipients: tuple[str, ...]
    first_day: bool


def reminders_due(state: InstanceState, calendar: CompanyCalendar, now: datetime,
                  manager: str) -> list[Reminder]:
    """STEP-12/13: per overdue day whose 08:00 has passed, the awaited assignees who
    have not answered (and the manager on the first overdue day). The worker
    drops days it already sent, so each goes out once."""
    out: list[Reminder] = []
    current = state.current
    if current is None or current.due is None or state.blocked:
        return out
    pending = tuple(u for u in current.awaited if current.response_of(u) is None)
    for day, _moment in calendar.reminder_moments(current.due, now):
        first = (day - current.due).days == 1
        recipients = pending + ((manager,) if first and manager not in pending else ())
        if recipients:
            out.append(Reminder(current.seq, current.step, day, recipients, first))
    return out
