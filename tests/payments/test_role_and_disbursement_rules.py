"""The Beneficiary Approver (ROLE-5), the Payee Admin (ROLE-6), the funding account a disbursement
draws from (DSB-7) and a Rejected disbursement (DSB-13), asserted through the engine's commands on
SQLite and PostgreSQL: each test fails if the rule it is marked with breaks."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from engine.payments import account_lifecycle, authorization, bank_accounts, beneficiaries
from engine.security import enrollment
from engine.security.permissions import BENEFICIARY_APPROVER, PAYEE_ADMIN, PAYMENTS_ADMIN
from engine.service import directory, disbursement_queries, disbursements, instances
from engine.service.disbursements import PaymentLine
from engine.store.tables import BankAccount, Disbursement, Drawdown, Grant, MfaEnrollment
from tests.payments.authorizing import Ready, make_ready
from tests.payments.banking import Authenticator, count, numbers, refused


def _mfa(svc, user: str) -> tuple[int, int | None]:
    with svc.db.sessions() as s:
        row = s.get(MfaEnrollment, user)
        return row.failures, row.last_step


def _first_admin(svc, payee_company: str) -> str:
    """The Payee Admin seed_payee made: the payee company's first admin (ROLE-6)."""
    with svc.db.sessions() as s:
        return s.scalars(select(Grant.user_id).where(Grant.company_id == payee_company,
                                                     Grant.permission == PAYMENTS_ADMIN)).one()


def _member(svc, admin: str, company: str, email: str, name: str) -> str:
    user = directory.create_user(svc, email, name).id
    directory.add_member(svc, admin, company, email)
    return user


def _approved(r: Ready, d: str) -> None:
    view = instances.view(r.svc, r.w.admin, r.w.company, d)
    instances.respond(r.svc, r.w.controller, r.w.company, d, occurrence=view.current_occurrence, answer="Approve")
    assert instances.view(r.svc, r.w.admin, r.w.company, d).workflow_status == "Approved"


def _paying(r: Ready, vendor: str, amount: str = "5000.00", *, funding: str | None = None) -> str:
    """A disbursement paying one invoice of ``vendor``, not yet approved."""
    r.w._invoices += 1
    inv = directory.create_invoice(r.svc, r.w.admin, r.w.company, r.w.project, payee=r.w.payee(vendor),
                                   number=f"INV-{r.w._invoices:04d}", amount_due=amount).id
    return disbursements.create_disbursement(r.svc, r.w.creator, r.w.company, project_id=r.w.project,
                                             funding_account=funding or r.w.funding,
                                             payments=[PaymentLine(inv)]).id


def _tested(r, account: str) -> None:
    """ROLL-5: the account's test drawdown, requested and completed by the (simulated) bank before
    its 16:00 cut-off is passed: the clock stays in the code's 30 s step."""
    from engine.payments import stored_bank, test_drawdowns
    from engine.payments.dispatch import move_money

    stored_bank.credit(r.svc.db, stored_bank.PRODUCTION, account, "10.00", now=r.svc.now())
    stored_bank.set_settle_after(r.svc.db, stored_bank.PRODUCTION, 0, now=r.svc.now())
    test_drawdowns.request_test_drawdown(r.svc, r.w.admin, r.w.company, account)
    assert move_money(r.svc).polled.applied == 1


def _authorize(r: Ready, d: str, code: str | None = None):
    return authorization.authorize(r.svc, r.w.admin, r.w.company, d, mfa_code=code or r.admin.code())


def _not_authorized(svc, d: str) -> None:
    with svc.db.sessions() as s:
        row = s.get(Disbursement, d)
        assert row.authorized_at is None and row.drawdown_status == "Draft"
        assert s.scalar(select(Drawdown.id).where(Drawdown.disbursement_id == d)) is None


# ---------------------------------------------------------------- ROLE-5


@pytest.mark.rule("ROLE-5", "BANK-14")
def test_only_a_beneficiary_approver_approves_a_payees_account_and_only_then_is_it_paid(svc, clock) -> None:
    r = make_ready(svc, clock)
    w = r.w
    # make_ready made the Admin an approver too; without the role an Admin approves nothing
    directory.revoke(svc, w.admin, w.company, w.admin, BENEFICIARY_APPROVER, mfa_code=r.admin.code())
    steel = w.payee("Bay Steel")
    account = beneficiaries.add_beneficiary_account(svc, w.admin, w.company, steel, bank_name="Steel Bank",
                                                    holder_name="Bay Steel Inc", numbers=numbers("55501234"),
                                                    mfa_code=r.admin.code()).id
    account_lifecycle.verify(svc, w.admin, w.company, account)
    r.beneficiary["Bay Steel"] = account
    d = _paying(r, "Bay Steel")
    _approved(r, d)
    # Verified and designated, but not approved: the money does not go (BANK-14, AUTH-9)
    e = refused(lambda: _authorize(r, d), "beneficiary_account_not_ready", "AUTH-9")
    assert "Beneficiary Approver" in e.message
    _not_authorized(svc, d)
    # who may not approve: the Admin without the role, a Disburser, the payee's own admin
    refused(lambda: beneficiaries.approve(svc, w.admin, w.company, account, mfa_code=r.admin.code()),
            "permission_denied", "BANK-14")
    refused(lambda: beneficiaries.approve(svc, w.controller, w.company, account, mfa_code=r.controller.code()),
            "permission_denied", "BANK-14")
    theirs = Authenticator(svc, clock, steel, _first_admin(svc, steel))
    refused(lambda: beneficiaries.approve(svc, theirs.user, w.company, account, mfa_code=theirs.code()),
            "not_found", "GEN-5")
    assert not bank_accounts.read_bank_account(svc, w.admin, w.company, account).approved
    # a member holding only Payments Beneficiary Approver approves; that role moves no money itself
    approver_id = _member(svc, w.admin, w.company, "approver@gc.example", "Approver")
    directory.grant(svc, w.admin, w.company, approver_id, BENEFICIARY_APPROVER, mfa_code=r.admin.code())
    approver = Authenticator(svc, clock, w.company, approver_id)
    refused(lambda: authorization.authorize(svc, approver_id, w.company, d, mfa_code=approver.code()),
            "permission_denied", "AUTH-3")
    refused(lambda: beneficiaries.add_beneficiary_account(svc, approver_id, w.company, steel, bank_name="B",
                                                          holder_name="H", numbers=numbers("55509999"),
                                                          mfa_code=approver.code()), "permission_denied", "ROLE-1")
    done = beneficiaries.approve(svc, approver_id, w.company, account, mfa_code=approver.code())
    assert done.approved and done.approved_by == approver_id
    view = _authorize(r, d)
    assert view.drawdown_status == "Funding Requested"
    assert [o.beneficiary_account_id for o in view.orders] == [account]


# ---------------------------------------------------------------- ROLE-6


@pytest.mark.rule("ROLE-6", "MFA-14")
def test_a_payee_admin_manages_its_payees_accounts_and_resets_its_users_mfa_and_nothing_more(svc, clock) -> None:
    r = make_ready(svc, clock)
    w = r.w
    acme, steel = w.payee("Acme Concrete"), w.payee("Bay Steel")
    owner = Authenticator(svc, clock, acme, _first_admin(svc, acme))  # Payments Admin of the payee: its Payee Admin
    clerk_id = _member(svc, owner.user, acme, "clerk@acme.example", "Acme Clerk")
    clerk = Authenticator(svc, clock, acme, clerk_id)

    def add(who: Authenticator, payee: str, number: str) -> str:
        return beneficiaries.add_beneficiary_account(svc, who.user, w.company, payee, bank_name="Acme Bank",
                                                     holder_name="Acme Concrete LLC", numbers=numbers(number),
                                                     mfa_code=who.code()).id

    # its own payee's accounts on the payor's list: add, designate, deactivate
    mine = add(owner, acme, "77770001")
    assert not bank_accounts.read_bank_account(svc, w.admin, w.company, mine).designated  # Acme had one already
    designated = beneficiaries.designate(svc, owner.user, w.company, mine, mfa_code=owner.code())
    assert designated.designated and designated.payee_company_id == acme
    old = r.payee_account("Acme Concrete")
    account_lifecycle.deactivate(svc, owner.user, w.company, old)
    assert not bank_accounts.read_bank_account(svc, w.admin, w.company, old).active
    # not another payee's, not the payor's approval, not the payor's own accounts
    before = count(svc, BankAccount)
    refused(lambda: add(owner, steel, "77770002"), "not_found", "GEN-5")
    refused(lambda: beneficiaries.approve(svc, owner.user, w.company, mine, mfa_code=owner.code()),
            "not_found", "GEN-5")
    refused(lambda: account_lifecycle.deactivate(svc, owner.user, w.company, w.funding), "not_found", "GEN-5")
    assert count(svc, BankAccount) == before
    # a payee user without the role manages nothing; granting them Payee Admin (a payments role,
    # with the owner's code, ROLE-11) lets them manage Acme's accounts
    refused(lambda: add(clerk, acme, "77770003"), "not_found", "GEN-5")
    directory.grant(svc, owner.user, acme, clerk_id, PAYEE_ADMIN, mfa_code=owner.code())
    theirs = add(clerk, acme, "77770004")
    assert bank_accounts.read_bank_account(svc, w.admin, w.company, theirs).payee_company_id == acme
    directory.revoke(svc, owner.user, acme, clerk_id, PAYEE_ADMIN, mfa_code=owner.code())
    refused(lambda: add(clerk, acme, "77770005"), "not_found", "GEN-5")
    # MFA resets: the payee's own users only, never by a user without the role
    refused(lambda: enrollment.reset(svc, clerk_id, acme, owner.user, code=clerk.code(), reason="lost phone"),
            "permission_denied", "MFA-14")
    refused(lambda: enrollment.reset(svc, w.admin, w.company, clerk_id, code=r.admin.code(), reason="lost phone"),
            "not_found", "GEN-5")  # the payor's Admin: Acme's clerk is no member of the payor
    refused(lambda: enrollment.reset(svc, owner.user, w.company, w.controller, code=owner.code(),
                                     reason="lost phone"), "not_found", "GEN-5")  # nor the payor's users
    status = enrollment.reset(svc, owner.user, acme, clerk_id, code=owner.code(), reason="lost phone")
    assert (status.enrolled, status.must_enroll) == (False, True)
    assert enrollment.status(svc, w.controller, w.company).enrolled  # the payor's users untouched


# ---------------------------------------------------------------- DSB-7


@pytest.mark.rule("DSB-7", "BANK-9", "AUTH-9")
def test_a_disbursement_draws_from_exactly_one_funding_account_verified_active_and_mapped(svc, clock) -> None:
    r = make_ready(svc, clock)
    w = r.w
    # the company default is what a new disbursement starts from: one, Verified, active, mapped
    funding = bank_accounts.list_bank_accounts(svc, w.admin, w.company, kind="funding").items
    defaults = [a for a in funding if a.is_default]
    assert [a.id for a in defaults] == [w.funding]
    deposit = bank_accounts.read_bank_account(svc, w.admin, w.company, defaults[0].deposit_account_id)
    assert (defaults[0].verification_status, defaults[0].active) == ("Verified", True)
    assert (deposit.kind, deposit.active, deposit.verification_status) == ("deposit", True, "Verified")
    # what can be chosen: a funding account of this company, active; anything else is refused
    r.payee_account("Acme Concrete")
    inv = w.invoice("100.00")

    def create(funding_account: str):
        return disbursements.create_disbursement(svc, w.creator, w.company, project_id=w.project,
                                                 funding_account=funding_account, payments=[PaymentLine(inv)])

    refused(lambda: create(""), "invalid_disbursement", "DSB-7")
    refused(lambda: create(deposit.id), "invalid_funding_account", "DSB-7")
    refused(lambda: create(r.beneficiary["Acme Concrete"]), "invalid_funding_account", "DSB-7")
    boss = directory.create_user(svc, "boss@other.example", "Boss").id
    other = directory.create_company(svc, "Other GC", first_admin=boss).id
    from engine.service.demo import seed_funding_account

    refused(lambda: create(seed_funding_account(svc, boss, other, "Theirs")), "not_found", "GEN-5")
    # a deposit account a funding account maps to stays active (BANK-6): the mapping cannot break
    refused(lambda: account_lifecycle.deactivate(svc, w.admin, w.company, deposit.id),
            "deposit_account_in_use", "BANK-6")
    # a second funding account, Pending Verification: chosen, it draws nothing until Verified
    payroll = bank_accounts.add_funding_account(svc, w.admin, w.company, "Payroll", bank_name="First Bank",
                                                holder_name="GC Builders", numbers=numbers("000555666777"),
                                                deposit_account_id=deposit.id, mfa_code=r.admin.code()).id
    d = r.disbursement()
    view = disbursements.change_funding_account(svc, w.admin, w.company, d, funding_account=payroll,
                                                reason="pay from payroll")
    assert view.funding_account_id == payroll  # one account: the new one replaces the old
    _approved(r, d)  # the change restarted the workflow (DSB-12)
    code = r.admin.code()
    e = refused(lambda: _authorize(r, d, code), "funding_account_not_ready", "AUTH-9")
    assert "Pending Verification" in e.message
    _not_authorized(svc, d)
    account_lifecycle.verify(svc, w.admin, w.company, payroll)
    assert not bank_accounts.read_bank_account(svc, w.admin, w.company, payroll).is_default  # one default
    # a new production account still proves itself with a test drawdown (ROLL-5): the code is still unspent
    refused(lambda: _authorize(r, d, code), "funding_account_not_ready", "ROLL-5")
    _tested(r, payroll)
    authorized = _authorize(r, d, code)  # the refusals spent no code
    assert authorized.drawdown_amount == Decimal("5000.00")
    with svc.db.sessions() as s:
        (drawdown,) = s.scalars(select(Drawdown).where(Drawdown.disbursement_id == d)).all()
        assert (drawdown.funding_account_id, drawdown.deposit_account_id) == (payroll, deposit.id)
    # a deactivated funding account is no longer a choice
    account_lifecycle.deactivate(svc, w.admin, w.company, payroll, mfa_code=r.admin.code())
    refused(lambda: create(payroll), "invalid_funding_account", "DSB-7")
    d2 = r.disbursement()
    refused(lambda: disbursements.change_funding_account(svc, w.admin, w.company, d2, funding_account=payroll,
                                                         reason="again"), "invalid_funding_account", "DSB-7")
    assert disbursement_queries.get_disbursement(svc, w.admin, w.company, d2).disbursement.funding_account_id == \
        w.funding


# ---------------------------------------------------------------- DSB-13


def _rejected(r: Ready) -> str:
    d = r.disbursement(approve=False)
    view = instances.view(r.svc, r.w.admin, r.w.company, d)
    instances.respond(r.svc, r.w.controller, r.w.company, d, occurrence=view.current_occurrence, answer="Reject")
    assert instances.view(r.svc, r.w.admin, r.w.company, d).workflow_status == "Rejected"
    return d


@pytest.mark.rule("DSB-13", "AUTH-2")
def test_a_rejected_disbursement_is_never_authorized_as_it_stands(svc, clock) -> None:
    r = make_ready(svc, clock)
    w = r.w
    d = _rejected(r)
    for who in (r.admin, r.controller):
        code = who.code()
        before = _mfa(svc, who.user)
        e = refused(lambda: authorization.authorize(svc, who.user, w.company, d, mfa_code=code),
                    "workflow_not_approved", "DSB-13")
        assert e.details["workflow_status"] == "Rejected" and "restart" in e.message and "cancel" in e.message
        assert _mfa(svc, who.user) == before  # the code is neither spent nor counted
    _not_authorized(svc, d)
    # restarted (without edits): under review again, so still not authorizable until approved anew
    instances.restart(svc, w.manager, w.company, d, reason="the controller asked for another look")
    assert instances.view(svc, w.admin, w.company, d).workflow_status == "Under Review"
    refused(lambda: _authorize(r, d), "workflow_not_approved", "AUTH-2")
    _approved(r, d)
    assert _authorize(r, d).drawdown_status == "Funding Requested"


@pytest.mark.rule("DSB-13", "DSB-12", "AUTH-13")
def test_a_rejected_disbursement_is_edited_and_restarted_or_canceled(svc, clock) -> None:
    r = make_ready(svc, clock)
    w = r.w
    # after edits: the edit restarts the workflow, and the new amount is approved before it is paid
    edited = _rejected(r)
    current = disbursement_queries.get_disbursement(svc, w.admin, w.company, edited)
    lines = [PaymentLine(p.invoice_id, "4000.00", note="less this time")
             for p in current.disbursement.payments]
    disbursements.replace_payments(svc, w.admin, w.company, edited, payments=lines, reason="amount lowered",
                                   expected_version=current.version)
    assert instances.view(svc, w.admin, w.company, edited).workflow_status == "Under Review"
    refused(lambda: _authorize(r, edited), "workflow_not_approved", "AUTH-2")
    _approved(r, edited)
    view = authorization.authorize(svc, w.admin, w.company, edited, mfa_code=r.admin.code(), confirm_partial=True)
    assert view.drawdown_amount == Decimal("4000.00")
    # canceled: never authorized, and a canceled one cannot be restarted into authorizable either
    canceled = _rejected(r)
    disbursements.cancel(svc, w.admin, w.company, canceled, reason="paid by check instead")
    refused(lambda: _authorize(r, canceled), "disbursement_canceled", "AUTH-2")
    refused(lambda: instances.restart(svc, w.manager, w.company, canceled, reason="try again"),
            "disbursement_canceled", "AUTH-12")
    _not_authorized(svc, canceled)
