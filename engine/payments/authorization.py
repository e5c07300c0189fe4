"""Authorizing a disbursement (AUTH-2..AUTH-12): the moment money is committed to move.

One transaction, in the order the rules need: the company and then the disbursement are
locked (the company first, as every bank-account command locks it, so an account cannot be
deactivated, redesignated or re-verified half-way through, and no lock order inverts); then
AUTH-2 (the state), AUTH-3 (an Admin or Disburser enrolled in MFA), AUTH-5..AUTH-8
(:func:`engine.security.segregation.bar`, an audited ``sod_violation``), AUTH-9 (amounts and
accounts re-checked as they are now), AUTH-10 (a partial payment is confirmed) and only
then the MFA challenge (AUTH-4: a request refused for any other reason neither spends the
code nor counts as a failure). AUTH-11 then records the authorizer and the time, runs the
pure :func:`engine.runtime.funds.authorize` (Draft → Funding Requested), and writes the
drawdown, one payment order per invoice payment (each with its check number, BANK-11, and
the payee's designated account *snapshotted*, BANK-15), the audit entry and the emails.

The bank instructions are not sent here: the drawdown row in Funding Requested is the
instruction, its ``instruction_id`` the bank's idempotency id, and the payment orders wait
``Not Initiated`` until the drawdown settles (FLOW-4). Dispatch is the worker's (after commit).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import DomainError, Refusal
from engine.outbox import emails
from engine.payments import bank_calendar, instructions, verification
from engine.payments.bank import Instruction
from engine.payments.bank_accounts import BENEFICIARY, DEPOSIT, FUNDING, take_check_number
from engine.runtime import funds
from engine.security import enrollment, segregation
from engine.security.permissions import PAYMENTS_ADMIN, PAYMENTS_DISBURSER, require_payments_user, standing
from engine.service import audit
from engine.service.directory import get_company
from engine.service.idempotency import idempotent
from engine.service.instance_store import (
    STATUS_APPROVED,
    STATUS_NOT_STARTED,
    STATUS_REJECTED,
    bump,
    latest_instance,
    lock_disbursement,
    require_version,
    version_of,
)
from engine.service.instances import authorize_facts, email_subject
from engine.services import Services
from engine.store.tables import (
    BankAccount,
    Company,
    Disbursement,
    DisbursementItem,
    Drawdown,
    Invoice,
    MfaEnrollment,
    PaymentOrder,
    Template,
    new_id,
)

#: ST-5: an order prepared at authorization, sent once the drawdown settles (FLOW-4)
NOT_INITIATED = "Not Initiated"
ACTION = "authorize"


@dataclass(frozen=True)
class PaymentOrderView:
    """One payment order as the disbursement page shows it: the account by its last four only (BANK-8).
    The last four fields say how it went at the bank (defaulted: authorization prepares it, and a
    result stored before they existed still replays, GEN-8)."""

    id: str
    invoice_id: str
    invoice_number: str
    payee_company_id: str
    amount: Decimal
    status: str
    check_number: str
    beneficiary_account_id: str
    beneficiary_bank_name: str | None
    beneficiary_last4: str | None
    #: FLOW-5: the bank's reason, when it failed
    reason: str | None = None
    #: FLOW-8: the failed order this one re-issues
    reissue_of: str | None = None
    requested_at: datetime | None = None
    settled_at: datetime | None = None


@dataclass(frozen=True)
class AuthorizationView:
    """What authorizing did (AUTH-11): who and when, the drawdown (FLOW-1, FLOW-2) and its orders."""

    disbursement_id: str
    workflow_status: str | None
    drawdown_status: str
    authorized_by: str
    authorized_at: datetime
    drawdown_id: str
    drawdown_amount: Decimal
    drawdown_request_date: date
    orders: tuple[PaymentOrderView, ...]
    #: the disbursement's new version (its ETag); not part of equality (see DisbursementView)
    version: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class _Line:
    """One invoice payment as authorize re-checks it, with the account it will pay."""

    item: DisbursementItem
    invoice: Invoice
    account: BankAccount


# ---------------------------------------------------------------- the checks, in order


def _require_authorizable(s: Session, company: Company, d: Disbursement) -> None:
    """AUTH-2: created, not canceled, drawdown Draft, and the workflow Approved when one applies."""
    if d.is_draft:
        raise DomainError("invalid_state", "a Draft is created (with its funding account) before it is authorized",
                          rule="AUTH-2")
    if d.canceled_at is not None:
        raise DomainError("disbursement_canceled", "the disbursement is canceled", rule="AUTH-2")
    if d.authorized_at is not None or (d.drawdown_status or "Draft") != "Draft":
        raise DomainError("disbursement_authorized", "the disbursement is already authorized: it is authorized once",
                          rule="AUTH-11")
    if not d.workflow_applies:
        return  # ROLL-1: no workflow applies, so none must approve it
    status = d.workflow_status
    if status == STATUS_APPROVED:
        return
    if status in (None, STATUS_NOT_STARTED) and not _default_configured(s, company):
        raise DomainError("no_workflow_configured", "workflows apply but no Configured default workflow exists",
                          rule="AUTH-2")
    if status == STATUS_REJECTED:
        raise DomainError("workflow_not_approved", "the workflow Rejected the disbursement: restart it or cancel "
                          "it (DSB-13)", rule="DSB-13", workflow_status=status)
    raise DomainError("workflow_not_approved", f"the workflow is {status or STATUS_NOT_STARTED}, not Approved",
                      rule="AUTH-2", workflow_status=status or STATUS_NOT_STARTED)


def _default_configured(s: Session, company: Company) -> bool:
    from engine.service.templates import configuration

    template = s.get(Template, company.default_template_id) if company.default_template_id else None
    return template is not None and not configuration(s, template).problems


def _require_authorizer(s: Session, company: Company, d: Disbursement, actor: str) -> None:
    """AUTH-3: an Admin or Disburser (audited refusal: a money action, AUD-4), enrolled in MFA."""
    require_payments_user(s, company.id, actor, rule="AUTH-3", action="authorizing a disbursement", audited=True,
                          target=("disbursement", d.id))
    row = s.get(MfaEnrollment, actor)
    if row is None or not row.active or row.must_enroll or row.secret_sealed is None:
        raise DomainError("mfa_not_enrolled", "authorizing needs MFA: enroll in two-factor authentication first",
                          rule="AUTH-3")


def _require_segregation(s: Session, company: Company, d: Disbursement, actor: str) -> None:
    """AUTH-5..AUTH-8: :func:`segregation.bar`, the same check the END-4 invitation asks."""
    found = segregation.bar(actor, authorize_facts(s, company, d))
    if found is None:
        return
    if found.rule == "AUTH-5":  # the invoices by number, as people know them (``objects`` keeps the ids)
        numbers = dict(s.execute(select(Invoice.id, Invoice.number).where(Invoice.id.in_(list(found.objects)))).all())
        what = f"approved invoice(s) {', '.join(numbers.get(o, o) for o in found.objects)}"
    elif found.objects:
        what = f"answered step(s) {', '.join(repr(o) for o in found.objects)}"
    else:
        what = found.role
    raise DomainError("sod_violation", f"{found.rule}: you are this disbursement's {found.role} ({what}): "
                      "another Admin or Disburser must authorize it", rule=found.rule, role=found.role,
                      objects=list(found.objects),
                      audit=Refusal(company.id, actor, ACTION, "disbursement", d.id))


def _lines(s: Session, company: Company, d: Disbursement, *, sandbox: bool) -> list[_Line]:
    """AUTH-9: each payment still ≤ its invoice's amount due, and each payee's designated account
    Verified (BANK-2), active and approved (BANK-14), in the funding account's mode (ROLL-4)."""
    rows = list(s.execute(select(DisbursementItem, Invoice).join(Invoice, Invoice.id == DisbursementItem.invoice_id)
                          .where(DisbursementItem.disbursement_id == d.id).order_by(DisbursementItem.position)
                          .with_for_update(of=Invoice)))
    if not rows:
        raise DomainError("invalid_disbursement", "the disbursement holds no invoice payment", rule="DSB-1")
    over = [inv.number for item, inv in rows
            if item.amount > inv.amount_due or inv.status != "Unpaid" or inv.reserved_by not in (None, d.id)]
    if over:
        raise DomainError("payment_amounts_need_review", "the payment amounts need review: more than the amount "
                          f"due now on invoice(s) {', '.join(over)}; edit the payments (DSB-12)", rule="AUTH-9",
                          invoices=over)
    accounts: dict[str, BankAccount] = {}
    lines = []
    for item, inv in rows:
        payee = inv.payee_company_id
        if payee not in accounts:
            accounts[payee] = designated_account(s, company, payee, inv.number, sandbox=sandbox)
        lines.append(_Line(item, inv, accounts[payee]))
    return lines


def designated_account(s: Session, company: Company, payee: str, invoice_number: str, *,
                       sandbox: bool) -> BankAccount:
    """The payee's designated account as a payment may use it now: Verified, active, approved, of the
    payment's mode (AUTH-9, FLOW-8), or ``beneficiary_account_not_ready`` naming the payee and invoice."""
    account = s.scalars(select(BankAccount).where(
        BankAccount.company_id == company.id, BankAccount.kind == BENEFICIARY, BankAccount.payee_company_id == payee,
        BankAccount.designated.is_(True), BankAccount.active.is_(True))).first()
    payee_name = s.scalar(select(Company.name).where(Company.id == payee)) or payee
    where = f"the payee {payee_name} (invoice {invoice_number})"
    problem = None
    if account is None:
        problem = "has no designated, active beneficiary account"
    elif account.verification_status != verification.VERIFIED:
        problem = f"has a designated account that is {account.verification_status}, not Verified (BANK-2)"
    elif account.approved_at is None:
        problem = "has a designated account not yet approved by a Beneficiary Approver (BANK-14)"
    elif bool(account.sandbox) != sandbox:
        problem = "has a designated account of the other mode: sandbox and production never mix (ROLL-4)"
    if problem is not None:
        raise DomainError("beneficiary_account_not_ready", f"{where} {problem}", rule="AUTH-9", payee=payee,
                          invoice=invoice_number)
    assert account is not None
    return account


def _funding(s: Session, d: Disbursement) -> tuple[BankAccount, BankAccount]:
    """AUTH-9: the funding account still Verified, active and mapped to an active, Verified deposit
    account; ROLL-4: of the disbursement's mode; ROLL-5: tested, for production."""
    account = s.get(BankAccount, d.funding_account_id) if d.funding_account_id else None
    account, deposit = ready_funding_account(s, account, rule="AUTH-9")
    if bool(account.sandbox) != bool(d.sandbox) or bool(deposit.sandbox) != bool(d.sandbox):
        raise DomainError("funding_account_not_ready", "the funding account is of the other mode: sandbox and "
                          "production never mix", rule="ROLL-4")
    if not d.sandbox and account.tested_at is None:
        raise DomainError("funding_account_not_ready", "the funding account has not completed its test drawdown: "
                          "request one and wait for the bank before its first disbursement", rule="ROLL-5")
    return account, deposit


def ready_funding_account(s: Session, account: BankAccount | None, *, rule: str) -> tuple[BankAccount, BankAccount]:
    """``account`` and its deposit account if money may move from it now: a funding account, Verified,
    active, mapped to an active, Verified deposit account (BANK-2, BANK-4, BANK-6); else
    ``funding_account_not_ready`` under ``rule`` (AUTH-9 at authorize, ROLL-5 for a test drawdown)."""
    problem = None
    deposit = None
    if account is None or account.kind != FUNDING:
        problem = "the disbursement has no funding account"
    elif not account.active:
        problem = "the funding account is deactivated (BANK-4)"
    elif account.verification_status != verification.VERIFIED:
        problem = f"the funding account is {account.verification_status}, not Verified (BANK-2)"
    else:
        deposit = s.get(BankAccount, account.deposit_account_id) if account.deposit_account_id else None
        if deposit is None or deposit.kind != DEPOSIT or not deposit.active:
            problem = "the funding account is not mapped to an active deposit account (BANK-6)"
        elif deposit.verification_status != verification.VERIFIED:
            problem = f"its deposit account is {deposit.verification_status}, not Verified (BANK-2)"
    if problem is not None:
        raise DomainError("funding_account_not_ready", problem, rule=rule)
    assert account is not None and deposit is not None
    return account, deposit


def _require_confirmed(lines: list[_Line], confirm_partial: object) -> None:
    """AUTH-10: a partial payment (less than the amount due) is authorized only when confirmed."""
    partial = [ln.invoice.number for ln in lines if ln.item.amount < ln.invoice.amount_due]
    if partial and confirm_partial is not True:
        raise DomainError("partial_payment_unconfirmed", "invoice(s) " + ", ".join(partial) + " are paid in part: "
                          "confirm the changed amounts (confirm_partial) to authorize", rule="AUTH-10",
                          invoices=partial)


# ---------------------------------------------------------------- the command


@idempotent("authorize", standing=standing(PAYMENTS_ADMIN, PAYMENTS_DISBURSER, rule="AUTH-3",
                                           action="authorizing a disbursement", audited=True),
            strangers_not_found=True)
def authorize(svc: Services, actor: str, company_id: str, disbursement_id: str, *, mfa_code: str,
              confirm_partial: bool = False, expected_version: int | None = None) -> AuthorizationView:
    """AUTH-2..AUTH-11: authorize a disbursement once, after every check and then the MFA code.

    ``confirm_partial``: AUTH-10's explicit confirmation of partial payments. ``expected_version``:
    the disbursement's version the caller read (``If-Match``), compared on the locked row."""
    with svc.tx() as s:
        company = get_company(s, company_id, lock=True)
        d = lock_disbursement(s, company_id, disbursement_id)
        require_version(d, expected_version)
        _require_authorizable(s, company, d)
        _require_authorizer(s, company, d, actor)
        _require_segregation(s, company, d, actor)
        funding, deposit = _funding(s, d)
        lines = _lines(s, company, d, sandbox=bool(funding.sandbox))
        _require_confirmed(lines, confirm_partial)
        enrollment.challenge(s, svc, company, actor, mfa_code, action=ACTION, object_type="disbursement",
                             object_id=d.id)  # AUTH-4: last
        return _authorize(s, svc, company, d, actor, funding, deposit, lines)


def _authorize(s: Session, svc: Services, company: Company, d: Disbursement, actor: str, funding: BankAccount,
               deposit: BankAccount, lines: list[_Line]) -> AuthorizationView:
    """AUTH-11: everything authorization writes, in the caller's transaction."""
    now = svc.now()
    state = funds.Funds("Draft", tuple(funds.Payment(ln.invoice.id, ln.invoice.payee_company_id, ln.item.amount,
                                                     ln.account.id) for ln in lines), funding.id, deposit.id)
    transition = funds.authorize(state, new_id=lambda _kind: new_id())
    submit = next(e for e in transition.effects if isinstance(e, funds.SubmitDrawdown))
    if submit.amount != sum((ln.item.amount for ln in lines), Decimal("0.00")):
        raise AssertionError("FLOW-1: the drawdown is exactly the aggregate")
    drawdown = Drawdown(id=submit.drawdown_id, company_id=company.id, disbursement_id=d.id,
                        funding_account_id=funding.id, deposit_account_id=deposit.id, amount=submit.amount,
                        status=transition.state.drawdown_status, instruction_id=submit.drawdown_id,
                        request_date=bank_calendar.request_date(now), sandbox=bool(funding.sandbox),
                        created_at=now, updated_at=now, lock_version=0)
    s.add(drawdown)
    s.flush()  # the drawdown before its orders (their foreign key); a second one fails its unique index
    instructions.queue(s, now=now, company_id=company.id, sandbox=bool(drawdown.sandbox),
                       instruction=Instruction(drawdown.instruction_id, "drawdown", funding.id, deposit.id,
                                               drawdown.amount))  # sent after commit (FLOW-1, FLOW-9)
    orders = []
    for ln in lines:
        order = PaymentOrder(id=new_id(), company_id=company.id, drawdown_id=drawdown.id, disbursement_id=d.id,
                             invoice_id=ln.invoice.id, payee_company_id=ln.invoice.payee_company_id,
                             beneficiary_account_id=ln.account.id, beneficiary_bank_name=ln.account.bank_name,
                             beneficiary_holder_name=ln.account.holder_name,
                             beneficiary_routing_number=ln.account.routing_number,
                             beneficiary_last4=ln.account.last4, amount=ln.item.amount,
                             check_number=take_check_number(s, funding.id), status=NOT_INITIATED,
                             created_at=now, updated_at=now, lock_version=0)
        s.add(order)
        orders.append(PaymentOrderView(order.id, ln.invoice.id, ln.invoice.number, order.payee_company_id,
                                       order.amount, order.status, order.check_number, order.beneficiary_account_id,
                                       order.beneficiary_bank_name, order.beneficiary_last4))
    if sum((o.amount for o in orders), Decimal("0.00")) != drawdown.amount:
        raise AssertionError("FLOW-4: the payment orders sum to exactly the drawdown")
    d.authorized_at, d.authorized_by = now, actor
    d.drawdown_status = transition.state.drawdown_status
    bump(d, now)
    s.flush()
    audit.append(s, chain=audit.disbursement_chain(d.id), company_id=company.id, at=now, actor_id=actor,
                 action="disbursement_authorized", object_type="disbursement", object_id=d.id,
                 before={"drawdown_status": "Draft"},
                 after={"drawdown_status": d.drawdown_status, "authorized_by": actor},
                 rules=("AUTH-11", "ST-4", "FLOW-1", "BANK-11", "BANK-15", "MFA-8"),
                 details={"drawdown": drawdown.id, "amount": f"{drawdown.amount:f}",
                          "funding_account": funding.id, "deposit_account": deposit.id,
                          "request_date": drawdown.request_date.isoformat(),
                          "orders": [{"order": o.id, "invoice": o.invoice_id, "amount": f"{o.amount:f}",
                                      "check_number": o.check_number, "beneficiary_account": o.beneficiary_account_id,
                                      "last4": o.beneficiary_last4} for o in orders]}, sandbox=bool(d.sandbox))
    latest = latest_instance(s, d.id)
    manager = latest.snapshot.get("manager") if latest is not None else None
    recipients = [u for u in dict.fromkeys((d.created_by, manager, actor)) if isinstance(u, str)]
    emails.enqueue(s, now=now, subject=email_subject(s, company, d), event="authorized", recipients=recipients,
                   details={"request_date": drawdown.request_date.isoformat()})
    return AuthorizationView(d.id, d.workflow_status, d.drawdown_status, actor, now, drawdown.id, drawdown.amount,
                             drawdown.request_date, tuple(orders), version_of(s, d))
