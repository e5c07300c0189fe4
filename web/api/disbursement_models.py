"""The JSON of disbursements, drafts and their workflows: request bodies (``extra="forbid"``), the
response models the OpenAPI contract is generated from, and the one rendering of each engine view.

Money is a decimal string with two places in both directions (GEN-1, GEN-2): a JSON number is 422
before the engine sees it, and the engine's exact ``Decimal`` leaves as ``"125000.00"``. Each
renderer builds its response model, so a body can never drift from what the document says.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from engine.money import CENT

#: GEN-2: at most 15 digits before the point and 2 after; the engine parses it exactly
MoneyText = Annotated[StrictStr, Field(pattern=r"^[0-9]{1,15}(\.[0-9]{1,2})?$", examples=["125000.00"],
                                       description="an amount of US dollars as a decimal string (GEN-2)")]
Id = Annotated[StrictStr, Field(min_length=1, max_length=64)]
Text = Annotated[StrictStr, Field(max_length=4000)]


def money(amount: Decimal) -> str:
    """``Decimal("125000")`` → ``"125000.00"``: exact, never through a float (GEN-1)."""
    return format(amount.quantize(CENT), "f")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- request bodies


class PaymentIn(_Body):
    """One invoice payment (DSB-1..DSB-3)."""

    invoice: Id = Field(description="the invoice's id")
    amount: MoneyText | None = Field(default=None, description="the amount paid now; the amount due when omitted "
                                                               "(DSB-2); below it, a partial payment needs a note")
    retainage_released: MoneyText = Field(default="0.00", description="retainage this payment releases")
    note: Text | None = Field(default=None, description="why a payment is partial (DSB-3)")


class CreateDisbursementBody(_Body):
    project: Id = Field(description="the project whose invoices it pays (DSB-4)")
    funding_account: Id = Field(description="an active funding account of the company (DSB-7)")
    payments: list[PaymentIn] = Field(min_length=1, max_length=100, description="1 to 100 invoice payments (DSB-1)")


class CreateDraftBody(_Body):
    project: Id
    payments: list[PaymentIn] = Field(default_factory=list, max_length=100)


class CreateFromDraftBody(_Body):
    funding_account: Id = Field(description="an active funding account of the company (DSB-6, DSB-7)")


class ReplacePaymentsBody(_Body):
    """The whole list of payments the disbursement holds from now on (DSB-12)."""

    payments: list[PaymentIn] = Field(max_length=100, description="every payment, in order; an invoice left "
                                                                  "out is removed, a new one added")
    reason: Text | None = Field(default=None, description="needed once the workflow started: the edit restarts "
                                                          "it (DSB-12)")


class ReasonBody(_Body):
    reason: Text = Field(description="why (a non-empty reason)")


class StartBody(_Body):
    """Nothing to say: the default template's manager starts it (MGR-4). Send `{}`."""


class RespondBody(_Body):
    occurrence: StrictInt = Field(description="the occurrence answered (`workflow.current.occurrence`, RESP-2)")
    answer: Text = Field(description="one of `workflow.current.answers` (RESP-3)")
    comment: Text | None = None
    instance: Id | None = Field(default=None, description="the instance answered, if the client names it")


class RestartBody(_Body):
    reason: Text
    mode: Literal["defaults", "current"] = Field(default="defaults", description="MGR-5")


class ReturnBody(_Body):
    step: Text = Field(description="a response step this instance completed (MGR-6)")
    reason: Text


class AssigneesBody(_Body):
    users: list[Id] = Field(min_length=1, max_length=100, description="eligible users to add (MGR-7)")
    reason: Text = Field(description="one of the reasons MGR-7 lists (e.g. `vacation`, `other`)")
    comment: Text | None = Field(default=None, description="needed with reason `other`")
    replacing: list[Id] = Field(default_factory=list, max_length=100, description="awaited assignees they "
                                                                                  "replace (MGR-8)")
    message: Text | None = Field(default=None, description="emailed with the invitation")


class ManagerBody(_Body):
    manager: Id = Field(description="the new workflow manager, eligible and Can Be Workflow Manager (MGR-2)")
    reason: Text


# ---------------------------------------------------------------- responses


class Payment(BaseModel):
    invoice: str
    invoice_number: str
    amount: str
    retainage_released: str
    note: str | None
    payment_status: str = Field(description="ST-5")


class DisbursementRecord(BaseModel):
    """A disbursement (or a Draft, `is_draft`). Its `version` is the ETag."""

    id: str
    project: str
    is_draft: bool
    workflow_status: str | None = Field(description="ST-1; null when no workflow applies")
    drawdown_status: str = Field(description="ST-3")
    funding_account: str | None
    created_by: str | None
    drafted_by: str | None
    total: str = Field(description="the exact aggregate of the payments (GEN-3)")
    payments: list[Payment]
    canceled: bool
    cancel_reason: str | None
    version: int | None = Field(description="the ETag's value: send it back as If-Match")
    authorized_by: str | None = Field(default=None, description="AUTH-11: the user who authorized it, once authorized")
    authorized_at: datetime | None = Field(default=None, description="AUTH-11: when it was authorized")
    stage: Literal["draft", "in_review", "rejected", "approved", "canceled", "authorized", "funding_failed",
                   "paying", "payment_failed", "paid"] = Field(
        default="in_review", description="the lifecycle in one word, from the statuses (ST-1, ST-3, ST-5): "
                                         "paid once every payment Completed")
    sandbox: bool = Field(default=False, description="ROLL-4: a sandbox (test) disbursement; no money moves")


class CurrentStep(BaseModel):
    occurrence: int = Field(description="what a response names (RESP-2)")
    step: str
    entered_at: datetime
    due_date: date | None = Field(description="STEP-9, in the company's time zone")
    overdue: bool
    awaited: list[str] = Field(description="eligible awaited assignees (STEP-5, ROLE-8)")
    answered: list[str]
    answers: list[str] = Field(description="the answers the step offers (RESP-3)")
    status_text: str | None = Field(description="STEP-7")


class Workflow(BaseModel):
    """The disbursement's latest workflow instance."""

    instance: str
    number: int
    status: Literal["active", "ended", "terminated"]
    workflow_status: str | None
    manager: str | None
    blocked: bool
    started_at: datetime
    ended_at: datetime | None
    end_step: str | None
    outcome: Literal["success", "failure"] | None
    status_text: str | None = Field(description="the current or end step's status text (STEP-7, END-2)")
    current: CurrentStep | None = Field(description="the response step waiting; null when none waits")
    path: list[str]
    overdue_steps: list[str]


class DisbursementDetail(DisbursementRecord):
    workflow: Workflow | None = Field(description="null before the first start and for a Draft")


class WorkflowState(BaseModel):
    """`GET .../workflow`: where the disbursement's workflow stands (the ETag is the disbursement's)."""

    disbursement: str
    version: int
    workflow_status: str | None
    instance: Workflow | None = Field(description="the latest instance; null before the first start")


class Summary(BaseModel):
    id: str
    project: str
    project_name: str
    is_draft: bool
    workflow_status: str | None
    drawdown_status: str
    created_by: str | None
    drafted_by: str | None
    created_at: datetime | None
    total: str
    invoice_count: int
    canceled: bool
    current_step: str | None
    current_occurrence: int | None
    due_date: date | None
    overdue: bool
    awaiting_me: bool = Field(description="the caller is awaited on the current step and has not answered")
    version: int
    stage: Literal["draft", "in_review", "rejected", "approved", "canceled", "authorized", "funding_failed",
                   "paying", "payment_failed", "paid"] = Field(
        default="in_review", description="the lifecycle in one word, as the disbursement's own view has it")
    sandbox: bool = Field(default=False, description="ROLL-4: a sandbox (test) disbursement; no money moves")


class SummaryPage(BaseModel):
    items: list[Summary]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null on the last page")


class Position(BaseModel):
    """Where a workflow action left the workflow."""

    instance: str
    workflow_status: str | None
    current_step: str | None
    current_occurrence: int | None
    blocked: bool
    manager: str | None
    version: int | None = Field(description="the disbursement's version now (also the ETag header)")


class Response(BaseModel):
    """What an answer did (RESP-2: which instance took it) and where the workflow stands now."""

    instance: str
    occurrence: int
    workflow_status: str | None
    current_step: str | None
    current_occurrence: int | None
    version: int | None = Field(description="the disbursement's version now (also the ETag header)")


class HistoryEvent(BaseModel):
    seq: int
    at: datetime
    kind: str
    action: str
    actor: str | None
    actor_name: str | None
    instance: str | None
    step: str | None
    text: str
    reason: str | None
    details: dict[str, Any]
    sandbox: bool = Field(description="ROLL-4: the entry is about a sandbox disbursement, a test: marked when it "
                                      "was written (its details say `\"sandbox\": true`, inside the hashed entry)")


class History(BaseModel):
    disbursement: str
    scope: Literal["complete", "previous_step", "hidden"] = Field(description="ROLE-9; hidden once canceled "
                                                                             "(AUTH-15)")
    events: list[HistoryEvent]
    sandbox: bool = Field(description="ROLL-4: a sandbox disbursement's history: every entry is a test")


# ---------------------------------------------------------------- rendering


def disbursement_data(view: Any) -> dict[str, Any]:
    """A :class:`engine.service.disbursements.DisbursementView` as its JSON."""
    return DisbursementRecord(
        id=view.id, project=view.project_id, is_draft=view.is_draft, workflow_status=view.workflow_status,
        drawdown_status=view.drawdown_status, funding_account=view.funding_account_id, created_by=view.created_by,
        drafted_by=view.drafted_by, total=money(view.total),
        payments=[Payment(invoice=p.invoice_id, invoice_number=p.invoice_number, amount=money(p.amount),
                          retainage_released=money(p.retainage_released), note=p.note,
                          payment_status=p.payment_status) for p in view.payments],
        canceled=view.canceled, cancel_reason=view.cancel_reason, version=view.version,
        authorized_by=view.authorized_by, authorized_at=view.authorized_at, stage=view.stage,
        sandbox=view.sandbox).model_dump(mode="json")


def workflow_data(w: Any) -> dict[str, Any] | None:
    """A :class:`engine.service.disbursement_queries.WorkflowDetail` as its JSON (None stays null)."""
    if w is None:
        return None
    cur = w.current
    current = None if cur is None else CurrentStep(
        occurrence=cur.occurrence, step=cur.step, entered_at=cur.entered_at, due_date=cur.due_date,
        overdue=cur.overdue, awaited=list(cur.awaited), answered=list(cur.answered), answers=list(cur.answers),
        status_text=cur.status_text)
    return Workflow(instance=w.instance_id, number=w.number, status=w.status, workflow_status=w.workflow_status,
                    manager=w.manager, blocked=w.blocked, started_at=w.started_at, ended_at=w.ended_at,
                    end_step=w.end_step, outcome=w.outcome, status_text=w.status_text, current=current,
                    path=list(w.path), overdue_steps=list(w.overdue_steps)).model_dump(mode="json")


def detail_data(detail: Any) -> dict[str, Any]:
    """A :class:`engine.service.disbursement_queries.DisbursementDetail` as its JSON."""
    return {**disbursement_data(detail.disbursement), "version": detail.version,
            "workflow": workflow_data(detail.workflow)}


def workflow_state_data(detail: Any) -> dict[str, Any]:
    return WorkflowState(disbursement=detail.id, version=detail.version,
                         workflow_status=detail.disbursement.workflow_status,
                         instance=workflow_data(detail.workflow)).model_dump(mode="json")


def summary_data(item: Any) -> dict[str, Any]:
    return Summary(
        id=item.id, project=item.project_id, project_name=item.project_name, is_draft=item.is_draft,
        workflow_status=item.workflow_status, drawdown_status=item.drawdown_status, created_by=item.created_by,
        drafted_by=item.drafted_by, created_at=item.created_at, total=money(item.total),
        invoice_count=item.invoice_count, canceled=item.canceled, current_step=item.current_step,
        current_occurrence=item.current_occurrence, due_date=item.due_date, overdue=item.overdue,
        awaiting_me=item.awaiting_me, version=item.version, stage=item.stage,
        sandbox=item.sandbox).model_dump(mode="json")


def position_data(p: Any) -> dict[str, Any]:
    return Position(instance=p.instance_id, workflow_status=p.workflow_status, current_step=p.current_step,
                    current_occurrence=p.current_occurrence, blocked=p.blocked, manager=p.manager,
                    version=p.version).model_dump(mode="json")


def response_data(r: Any) -> dict[str, Any]:
    return Response(instance=r.instance_id, occurrence=r.occurrence, workflow_status=r.workflow_status,
                    current_step=r.current_step, current_occurrence=r.current_occurrence,
                    version=r.version).model_dump(mode="json")


def _utc(moment: datetime) -> datetime:
    """A stored time as UTC (SQLite hands back naive UTC)."""
    from datetime import timezone

    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def history_data(h: Any) -> dict[str, Any]:
    from engine.service.audit import plain

    return History(disbursement=h.disbursement_id, scope=h.scope, sandbox=h.sandbox, events=[
        HistoryEvent(seq=e.seq, at=_utc(e.at), kind=e.kind, action=e.action, actor=e.actor, actor_name=e.actor_name,
                     instance=e.instance, step=e.step, text=e.text, reason=e.reason, details=plain(e.details),
                     sandbox=e.sandbox)
        for e in h.events]).model_dump(mode="json")
