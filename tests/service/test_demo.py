"""``seed_demo``: the demo company of ``payroute serve --demo``, made through the commands, once per database."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from sqlalchemy import delete, func, select

from dsl.load import load_workflow
from engine.security.permissions import (
    BENEFICIARY_APPROVER,
    CAN_BE_MANAGER,
    DISBURSEMENT_CONTRIBUTOR,
    PAYMENTS_ADMIN,
    PAYMENTS_DISBURSER,
    held,
)
from engine.errors import DomainError
from engine.service import audit, instances
from engine.service.demo import DEMO_ADMIN, DemoIncomplete, find_demo, seed_demo
from engine.store.tables import AuditEntry, Company, Disbursement, DisbursementItem, Invoice, Template, User
from tests.world import REFERENCE


def _seed(svc):
    return seed_demo(svc, load_workflow(REFERENCE, "workflow.flow"))


def test_the_demo_holds_a_disbursement_in_each_state(svc) -> None:
    demo = _seed(svc)
    assert demo.created
    admin = demo.users[DEMO_ADMIN]
    where = {label: instances.view(svc, admin, demo.company, d) for label, d in demo.disbursements.items()}
    assert where["not_started"] is None and where["draft"] is None  # no instance yet
    assert (where["controller_review"].current_step, where["controller_review"].awaited) == (
        "Controller Review", (demo.users["controller@demo.example"],))
    assert where["cfo_review"].current_step == "CFO Review"
    assert where["cfo_review"].path == ("Controller Review", "> $100,000.00", "CFO Review")
    assert where["cfo_review"].awaited == (demo.users["cfo@demo.example"],)
    assert (where["approved"].workflow_status, where["approved"].path[-1]) == ("Approved", "Approved")
    assert (where["rejected"].workflow_status, where["rejected"].path) == ("Rejected", ("Controller Review",
                                                                                           "Rejected"))
    with svc.db.sessions() as s:
        rows = {d.id: d for d in s.scalars(select(Disbursement).where(Disbursement.company_id == demo.company))}
        assert set(rows) == set(demo.disbursements.values())
        assert rows[demo.disbursements["not_started"]].workflow_status == "Not Started"
        assert rows[demo.disbursements["draft"]].is_draft
        assert rows[demo.disbursements["draft"]].drafted_by == demo.users["contributor@demo.example"]
        total = s.scalar(select(func.sum(DisbursementItem.amount))
                         .where(DisbursementItem.disbursement_id == demo.disbursements["cfo_review"]))
        assert total > 100_000  # why it waits for the CFO
        company = s.get(Company, demo.company)
        assert company.name == "Demo Builders" and company.default_template_id == demo.template
        assert s.get(Template, demo.template).manager_id == admin
        assert audit.verify(s) == []  # every step went through the audited commands


def test_the_demo_has_a_user_for_every_role(svc) -> None:
    demo = _seed(svc)
    expected = {"admin": {PAYMENTS_ADMIN, CAN_BE_MANAGER}, "disburser": {PAYMENTS_DISBURSER},
                "controller": {PAYMENTS_DISBURSER}, "cfo": {PAYMENTS_DISBURSER},
                "contributor": {DISBURSEMENT_CONTRIBUTOR}, "approver": {BENEFICIARY_APPROVER}}
    assert set(demo.users) == {f"{name}@demo.example" for name in expected}
    with svc.db.sessions() as s:
        for name, permissions in expected.items():
            assert held(s, demo.company, demo.users[f"{name}@demo.example"]) == permissions, name
        payee_admins = s.scalars(select(User.email).where(User.email.like("admin@%.payees.demo.example"))).all()
    assert sorted(payee_admins) == ["admin@acme-concrete.payees.demo.example",
                                    "admin@steelworks-llc.payees.demo.example"]


def test_a_second_seed_finds_the_demo_and_adds_nothing(svc) -> None:
    first = _seed(svc)
    with svc.db.sessions() as s:
        entries = s.scalar(select(func.count(AuditEntry.id)))
        users = s.scalar(select(func.count(User.id)))
    again = seed_demo(svc)  # no workflow needed to find it
    assert again == dataclasses.replace(first, created=False)
    assert _seed(svc) == again
    with svc.db.sessions() as s:
        assert (s.scalar(select(func.count(AuditEntry.id))), s.scalar(select(func.count(User.id)))) == (entries, users)


def test_an_empty_database_has_no_demo_and_needs_a_workflow_to_seed_one(svc) -> None:
    assert find_demo(svc) is None
    with pytest.raises(ValueError, match="no workflow source"):
        seed_demo(svc)


def test_a_half_seeded_demo_is_refused_rather_than_seeded_twice(svc) -> None:
    demo = _seed(svc)
    with svc.db.transaction() as s:  # as if the seed had stopped before its last disbursement
        s.execute(delete(DisbursementItem).where(DisbursementItem.disbursement_id == demo.disbursements["rejected"]))
    with pytest.raises(DemoIncomplete, match="stopped half-way"):
        seed_demo(svc, load_workflow(REFERENCE, "workflow.flow"))


@pytest.mark.rule("BANK-9", "BANK-12", "BANK-14")
def test_the_demo_is_ready_to_pay_a_default_verified_funding_account_and_approved_designated_payees(svc) -> None:
    """The funding account disbursements draw from is Verified, default and mapped to a Verified
    deposit account; every payee invoiced has one approved, designated, Verified beneficiary account."""
    from engine.store.tables import BankAccount, Invoice

    demo = _seed(svc)
    with svc.db.sessions() as s:
        accounts = list(s.scalars(select(BankAccount).where(BankAccount.company_id == demo.company)))
        [funding] = [a for a in accounts if a.kind == "funding"]
        deposit = s.get(BankAccount, funding.deposit_account_id)
        assert (funding.verification_status, funding.is_default, funding.active) == ("Verified", True, True)
        assert (deposit.kind, deposit.verification_status, deposit.company_id) == ("deposit", "Verified",
                                                                                   demo.company)
        payees = set(s.scalars(select(Invoice.payee_company_id).where(Invoice.company_id == demo.company)))
        designated = {a.payee_company_id: a for a in accounts if a.kind == "beneficiary" and a.designated}
        assert set(designated) == payees and len(payees) == 2
        assert all(a.verification_status == "Verified" and a.approved_at is not None
                   and a.approved_by == demo.users["approver@demo.example"] for a in designated.values())
        assert audit.verify(s) == []


@pytest.mark.rule("FLOW-1", "FLOW-4", "ST-6")
def test_the_demo_story_runs_to_paid_a_disburser_authorizes_and_the_worker_pays_out(svc, clock) -> None:
    """The issue's demo story after the CFO: a Disburser enrolled in MFA authorizes the Approved
    disbursement; the demo's bank (funded by the seed, settling 10 s after taking) and the worker's
    rounds draw down and pay out; every payment Completed, the invoices Paid."""
    from engine.payments import authorization, funds_queries, stored_bank
    from engine.payments.dispatch import move_money
    from engine.service.demo import DEMO_FUNDS, DEMO_SETTLE_SECONDS
    from tests.payments.banking import Authenticator

    demo = _seed(svc)
    admin, d = demo.users[DEMO_ADMIN], demo.disbursements["approved"]
    disburser = Authenticator(svc, clock, demo.company, demo.users["disburser@demo.example"])
    view = authorization.authorize(svc, disburser.user, demo.company, d, mfa_code=disburser.code())
    with svc.db.sessions() as s:
        funding = s.get(Disbursement, d).funding_account_id
    assert stored_bank.book(svc.db, stored_bank.PRODUCTION, now=clock()).accounts[funding].balance == Decimal(DEMO_FUNDS)
    assert move_money(svc).sent.sent == 1  # the drawdown is taken
    clock.advance(seconds=DEMO_SETTLE_SECONDS)
    move_money(svc)  # it settles; the orders leave (and are taken)
    clock.advance(seconds=DEMO_SETTLE_SECONDS)
    move_money(svc)  # they settle
    money = funds_queries.funds_view(svc, admin, demo.company, d)
    assert money.stage == "paid" and money.drawdown is not None and money.drawdown.amount == view.drawdown_amount
    assert [o.status for o in money.orders] == ["Completed"] * len(view.orders)
    with svc.db.sessions() as s:
        statuses = set(s.scalars(select(Invoice.status).join(DisbursementItem, DisbursementItem.invoice_id == Invoice.id)
                                 .where(DisbursementItem.disbursement_id == d)))
    assert statuses == {"Paid"}
@pytest.mark.rule("ROLE-10")
def test_demo_users_sign_in_with_the_demo_password_and_payments_roles_enroll_first(svc) -> None:
    from engine.security import sign_in
    from engine.service.demo import DEMO_PASSWORD

    _seed(svc)
    contributor = sign_in.sign_in(svc, "contributor@demo.example", DEMO_PASSWORD)  # ROLE-4: no MFA
    assert not contributor.session.enroll_only
    for email in (DEMO_ADMIN, "cfo@demo.example", "approver@demo.example", "admin@acme-concrete.payees.demo.example"):
        assert sign_in.sign_in(svc, email, DEMO_PASSWORD).session.enroll_only, email  # not enrolled yet
    with pytest.raises(DomainError) as wrong:
        sign_in.sign_in(svc, DEMO_ADMIN, "not-the-demo-password")
    assert wrong.value.code == "sign_in_failed"
