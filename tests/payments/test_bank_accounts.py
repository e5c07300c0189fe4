"""Bank accounts through the engine's commands (BANK-1..BANK-14, MFA-8, AUTH-4 style), on SQLite and
PostgreSQL: numbers typed twice and sealed, the deposit mapping, verification, the default funding
account, deactivation, beneficiary approval and designation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine.payments import account_lifecycle, bank_accounts, beneficiaries
from engine.security import secret_box
from engine.security.permissions import BENEFICIARY_APPROVER
from engine.service import audit, directory, disbursements
from engine.service.disbursements import PaymentLine
from engine.store.tables import AuditEntry, BankAccount, Base, IdempotencyRecord, MfaEnrollment, OutboxEmail
from tests.payments.banking import OTHER_ROUTING, ROUTING, Authenticator, count, numbers, refused
from tests.roles import grant_role
from tests.world import World, build_world

FULL = "000123456789"
FULL_2 = "987650001234"


@dataclass
class Bank:
    """GC Builders with its Admin enrolled in MFA and one deposit account."""

    w: World
    admin: Authenticator
    deposit: str

    def funding(self, nickname: str = "Payroll", *, number: str = FULL, code: str | None = None,
                **kwargs: object) -> bank_accounts.BankAccountView:
        args: dict[str, object] = dict(bank_name="First Bank", holder_name="GC Builders", numbers=numbers(number),
                                       deposit_account_id=self.deposit)
        args.update(kwargs)
        return bank_accounts.add_funding_account(self.w.svc, self.w.admin, self.w.company, nickname,
                                                 mfa_code=code or self.admin.code(), **args)


def make_bank(svc, clock) -> Bank:
    w = build_world(svc)
    admin = Authenticator(svc, clock, w.company, w.admin)
    deposit = bank_accounts.add_deposit_account(svc, w.admin, w.company, "Transaction 2", bank_name="Partner Bank",
                                                holder_name="GC Builders", numbers=numbers("55550000111"))
    return Bank(w, admin, deposit.id)


def failures(svc, user: str) -> int:
    with svc.db.sessions() as s:
        return s.get(MfaEnrollment, user).failures


def row(svc, account_id: str) -> BankAccount:
    with svc.db.sessions() as s:
        found = s.get(BankAccount, account_id)
        s.expunge(found)
        return found


def verified(b: Bank, account_id: str) -> None:
    account_lifecycle.verify(b.w.svc, b.w.admin, b.w.company, account_id)


def payee_admin(svc, payee_company: str) -> str:
    """The Payee Admin seed_payee made (the first admin of the payee company, ROLE-6)."""
    from engine.store.tables import Grant

    with svc.db.sessions() as s:
        return s.scalars(select(Grant.user_id).where(Grant.company_id == payee_company)).first()


# ---------------------------------------------------------------- adding: numbers, mapping, MFA last


@pytest.mark.rule("BANK-7")
def test_numbers_entered_twice_must_match_and_a_refusal_spends_no_code(svc, clock) -> None:
    b = make_bank(svc, clock)
    code = b.admin.code()
    before = (count(svc, BankAccount), count(svc, AuditEntry))
    e = refused(lambda: b.funding(code=code, numbers=numbers(FULL, account_again="000123456780")),
                "invalid_bank_account", "BANK-7")
    assert e.details["field"] == "account_number_confirmation" and FULL not in e.message
    refused(lambda: b.funding(code=code, numbers=numbers(FULL, routing_again=OTHER_ROUTING)),
            "invalid_bank_account", "BANK-7")
    assert (count(svc, BankAccount), count(svc, AuditEntry)) == before
    assert failures(svc, b.w.admin) == 0
    made = b.funding(code=code)  # the same code still works: the refusals neither spent nor counted it
    assert (made.kind, made.last4, made.routing_number) == ("funding", "6789", ROUTING)


@pytest.mark.rule("BANK-8")
def test_a_routing_number_needs_nine_digits_and_a_valid_aba_checksum(svc, clock) -> None:
    b = make_bank(svc, clock)
    code = b.admin.code()
    for routing, message in (("021000022", "checksum"), ("02100002", "9 digits"), ("02100002x", "9 digits")):
        e = refused(lambda: b.funding(code=code, numbers=numbers(FULL, routing)), "invalid_bank_account", "BANK-8")
        assert message in e.message and e.details["field"] == "routing_number"
    for account in ("123", "1" * 18, "12a456"):
        refused(lambda: b.funding(code=code, numbers=numbers(account)), "invalid_bank_account", "BANK-8")
    assert failures(svc, b.w.admin) == 0
    assert b.funding(code=code).verification_status == "Pending Verification"


@pytest.mark.rule("BANK-8", "MFA-5")
def test_only_the_last_four_digits_appear_in_views_audit_emails_records_and_a_database_dump(svc, clock) -> None:
    b = make_bank(svc, clock)
    made = b.funding(number=FULL, idempotency_key="add-payroll")
    payee = b.w.payee("Acme Concrete")
    bene = beneficiaries.add_beneficiary_account(svc, b.w.admin, b.w.company, payee, bank_name="Acme Bank",
                                                 holder_name="Acme Concrete LLC", numbers=numbers(FULL_2),
                                                 mfa_code=b.admin.code())
    verified(b, made.id)
    assert (made.last4, bene.last4) == ("6789", "1234")
    assert FULL not in repr(made) and FULL_2 not in repr(bene)
    assert FULL not in repr(numbers(FULL))  # a typed number never shows in a traceback either
    with svc.db.sessions() as s:
        dump = []
        for table in Base.metadata.sorted_tables:
            dump.extend(str(tuple(r)) for r in s.execute(select(table)).all())
        dump_text = "\n".join(dump)
        emails = " ".join(str(tuple(r)) for r in s.execute(select(OutboxEmail.__table__)).all())
        log = " ".join(str((e.before, e.after, e.details, e.reason)) for e in s.scalars(select(AuditEntry)))
        sealed = s.get(BankAccount, made.id).number_sealed
    for secret in (FULL, FULL_2, "00012345678", "98765000123"):
        assert secret not in dump_text and secret not in log and secret not in emails
    assert "6789" in log  # the last four are what the audit says
    # sealed for its own row: it opens there, not when copied into another account
    assert bank_accounts.open_number(row(svc, made.id)) == FULL
    with pytest.raises(secret_box.SealError):
        secret_box.from_environment().open(sealed, context=bank_accounts.number_context(bene.id))


@pytest.mark.rule("BANK-5", "BANK-6")
def test_a_funding_account_maps_to_an_active_deposit_account_of_its_company(svc, clock) -> None:
    w = build_world(svc)
    admin = Authenticator(svc, clock, w.company, w.admin)
    boss = directory.create_user(svc, "boss@other.example", "Boss").id
    other = directory.create_company(svc, "Other GC", first_admin=boss).id
    theirs = bank_accounts.add_deposit_account(svc, boss, other, "Theirs", bank_name="B", holder_name="Other",
                                               numbers=numbers()).id
    code = admin.code()

    def add(deposit, **kwargs):
        return bank_accounts.add_funding_account(svc, w.admin, w.company, "Payroll", bank_name="B", holder_name="GC",
                                                 numbers=numbers(), deposit_account_id=deposit, mfa_code=code,
                                                 **kwargs)

    with svc.db.transaction() as s:  # no deposit account at all (seed_company made one: retire it here)
        for a in s.scalars(select(BankAccount).where(BankAccount.company_id == w.company,
                                                     BankAccount.kind == "deposit")):
            a.active = False
    refused(lambda: add(None), "deposit_account_required", "BANK-5")
    deposit = bank_accounts.add_deposit_account(svc, w.admin, w.company, "Main", bank_name="B", holder_name="GC",
                                                numbers=numbers()).id
    refused(lambda: add(theirs), "not_found", "GEN-5")
    refused(lambda: add("0" * 32), "not_found", "GEN-5")
    refused(lambda: add(None), "invalid_deposit_account", "BANK-6")
    refused(lambda: add(w.funding), "invalid_deposit_account", "BANK-6")  # a funding account is not a deposit one
    refused(lambda: add(deposit, sandbox=True), "invalid_deposit_account", "ROLL-4")
    assert failures(svc, w.admin) == 0
    made = add(deposit)
    assert made.deposit_account_id == deposit and not made.is_default


@pytest.mark.rule("MFA-8", "MFA-11", "AUD-4")
def test_a_wrong_code_refuses_the_addition_and_counts_and_a_replayed_one_too(svc, clock) -> None:
    b = make_bank(svc, clock)
    before = count(svc, BankAccount)
    refused(lambda: b.funding(code=b.admin.wrong()), "mfa_failed", "MFA-2")
    assert count(svc, BankAccount) == before and failures(svc, b.w.admin) == 1
    with svc.db.sessions() as s:
        last = [e for e in audit.entries(s, audit.company_chain(b.w.company)) if e.action == "refused"][-1]
        assert last.details["code"] == "mfa_failed"
    code = b.admin.code()
    b.funding("Payroll", code=code)
    refused(lambda: b.funding("Reserve", code=code), "mfa_failed", "MFA-3")  # one code, one action (MFA-9)
    assert failures(svc, b.w.admin) == 1  # the success reset the count, the replay counted once


@pytest.mark.rule("BANK-7", "ROLE-1", "GEN-5")
def test_only_an_admin_adds_and_nicknames_are_unique_ignoring_case(svc, clock) -> None:
    b = make_bank(svc, clock)
    code = b.admin.code()
    refused(lambda: bank_accounts.add_funding_account(
        svc, b.w.creator, b.w.company, "Mine", bank_name="B", holder_name="H", numbers=numbers(),
        deposit_account_id=b.deposit, mfa_code=code), "permission_denied", "ROLE-1")
    stranger = directory.create_user(svc, "x@elsewhere.example", "X").id
    refused(lambda: bank_accounts.add_deposit_account(svc, stranger, b.w.company, "Mine", bank_name="B",
                                                      holder_name="H", numbers=numbers()), "not_found", "GEN-5")
    refused(lambda: b.funding("  operating ", code=code), "duplicate_nickname", "BANK-7")
    refused(lambda: b.funding("   ", code=code), "invalid_bank_account", "BANK-7")
    refused(lambda: b.funding(code=code, bank_name=" "), "invalid_bank_account")
    made = b.funding(" Payroll ", code=code)
    assert made.nickname == "Payroll"
    with svc.db.sessions() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.object_id == made.id)).one()
        assert (entry.action, entry.actor_id, entry.after["last4"]) == ("funding_account_added", b.w.admin, "6789")
        assert audit.verify(s) == []


@pytest.mark.rule("GEN-8", "BANK-8")
def test_a_retried_addition_returns_the_first_account_and_its_record_holds_no_number(svc, clock) -> None:
    b = make_bank(svc, clock)
    first = b.funding(idempotency_key="k-1")
    again = b.funding(idempotency_key="k-1")  # with a fresh code, as a real retry would carry
    assert again == first
    assert count(svc, BankAccount) == 4  # seeded deposit + funding, our deposit, this one
    refused(lambda: b.funding(number=FULL_2, idempotency_key="k-1"), "idempotency_conflict", "GEN-8")
    with svc.db.sessions() as s:
        records = " ".join(str((r.request_hash, r.result)) for r in s.scalars(select(IdempotencyRecord)))
    assert FULL not in records and "6789" in records


# ---------------------------------------------------------------- verification (BANK-3)


@pytest.mark.rule("BANK-3")
def test_verification_moves_pending_to_verified_or_failed_and_evidence_back_to_pending(svc, clock) -> None:
    b = make_bank(svc, clock)
    acct = b.funding().id
    svc_, w = svc, b.w
    refused(lambda: account_lifecycle.resubmit_evidence(svc_, w.admin, w.company, acct,
                                                        statement_date=svc.now().date(), last4="6789"),
            "verification_not_allowed", "BANK-3")
    refused(lambda: account_lifecycle.fail_verification(svc_, w.admin, w.company, acct, reason=" "),
            "reason_required", "BANK-3")
    failed = account_lifecycle.fail_verification(svc_, w.admin, w.company, acct, reason="statement unreadable")
    assert failed.verification_status == "Verification Failed"
    refused(lambda: account_lifecycle.verify(svc_, w.admin, w.company, acct), "verification_not_allowed", "BANK-3")
    today = svc.now().date()
    for day, last4 in ((today - timedelta(days=120), "6789"), (today + timedelta(days=1), "6789"),
                       (today, "1111")):
        refused(lambda: account_lifecycle.resubmit_evidence(svc_, w.admin, w.company, acct, statement_date=day,
                                                            last4=last4), "invalid_evidence", "BANK-3")
    pending = account_lifecycle.resubmit_evidence(svc_, w.admin, w.company, acct,
                                                  statement_date=today - timedelta(days=80), last4="6789")
    assert pending.verification_status == "Pending Verification"
    done = account_lifecycle.verify(svc_, w.admin, w.company, acct)
    assert done.verification_status == "Verified"
    refused(lambda: account_lifecycle.fail_verification(svc_, w.admin, w.company, acct, reason="late"),
            "verification_not_allowed", "BANK-3")
    refused(lambda: account_lifecycle.verify(svc_, w.creator, w.company, acct), "permission_denied", "ROLE-1")


# ---------------------------------------------------------------- default and deactivation


@pytest.mark.rule("BANK-9")
def test_the_first_verified_funding_account_becomes_default_and_the_default_is_one_verified_account(
        svc, clock) -> None:
    b = make_bank(svc, clock)
    w = b.w
    first, second = b.funding("Payroll").id, b.funding("Reserve", number=FULL_2).id
    assert not row(svc, w.funding).is_default  # migrated-style accounts stay Pending, not default
    refused(lambda: account_lifecycle.set_default_funding(svc, w.admin, w.company, second, mfa_code=b.admin.code()),
            "bank_account_not_verified", "BANK-9")
    verified(b, first)
    verified(b, second)
    assert (row(svc, first).is_default, row(svc, second).is_default) == (True, False)
    refused(lambda: account_lifecycle.set_default_funding(svc, w.admin, w.company, second,
                                                          mfa_code=b.admin.wrong()), "mfa_failed")
    assert row(svc, first).is_default
    made = account_lifecycle.set_default_funding(svc, w.admin, w.company, second, mfa_code=b.admin.code())
    assert made.is_default and not row(svc, first).is_default
    with svc.db.sessions() as s:
        assert s.scalar(select(func.count()).where(BankAccount.company_id == w.company,
                                                   BankAccount.is_default.is_(True))) == 1
    with pytest.raises(Exception):  # the store itself keeps one default per company
        with svc.db.transaction() as s:
            s.get(BankAccount, first).is_default = True


@pytest.mark.rule("BANK-10", "BANK-4")
def test_the_default_cannot_be_deactivated_and_deactivation_is_final(svc, clock) -> None:
    b = make_bank(svc, clock)
    w = b.w
    first, second = b.funding("Payroll").id, b.funding("Reserve", number=FULL_2).id
    verified(b, first)
    verified(b, second)
    refused(lambda: account_lifecycle.deactivate(svc, w.admin, w.company, first, mfa_code=b.admin.code()),
            "default_funding_account", "BANK-10")
    account_lifecycle.set_default_funding(svc, w.admin, w.company, second, mfa_code=b.admin.code())
    refused(lambda: account_lifecycle.deactivate(svc, w.admin, w.company, first, mfa_code=b.admin.wrong()),
            "mfa_failed")
    gone = account_lifecycle.deactivate(svc, w.admin, w.company, first, mfa_code=b.admin.code())
    assert not gone.active and row(svc, first).deactivated_at is not None
    code = b.admin.code()
    refused(lambda: account_lifecycle.deactivate(svc, w.admin, w.company, first, mfa_code=code),
            "bank_account_deactivated", "BANK-4")
    refused(lambda: account_lifecycle.set_default_funding(svc, w.admin, w.company, first, mfa_code=code),
            "bank_account_deactivated", "BANK-4")
    refused(lambda: disbursements.create_disbursement(svc, w.creator, w.company, project_id=w.project,
                                                      funding_account=first, payments=[PaymentLine(w.invoice("5"))]),
            "invalid_funding_account", "DSB-7")
    assert failures(svc, w.admin) == 0  # the refusals above ran before the challenge


@pytest.mark.rule("BANK-6")
def test_a_deposit_account_with_an_active_funding_account_mapped_stays_active(svc, clock) -> None:
    b = make_bank(svc, clock)
    funding = b.funding().id
    refused(lambda: account_lifecycle.deactivate(svc, b.w.admin, b.w.company, b.deposit), "deposit_account_in_use",
            "BANK-6")
    account_lifecycle.deactivate(svc, b.w.admin, b.w.company, funding, mfa_code=b.admin.code())
    assert not account_lifecycle.deactivate(svc, b.w.admin, b.w.company, b.deposit).active


@pytest.mark.rule("BANK-11")
def test_check_numbers_are_the_prefix_and_the_next_number_unique_per_funding_account(svc, clock) -> None:
    b = make_bank(svc, clock)
    acct = b.funding(bank_id_prefix="GC", first_check_number=1001).id
    with svc.db.transaction() as s:
        taken = [bank_accounts.take_check_number(s, acct) for _ in range(3)]
    assert taken == ["GC1001", "GC1002", "GC1003"]
    refused(lambda: b.funding("Other", bank_id_prefix="G-C"), "invalid_bank_account", "BANK-11")


# ---------------------------------------------------------------- beneficiary accounts


@pytest.mark.rule("BANK-14", "ROLE-5", "MFA-8")
def test_approving_a_beneficiary_account_needs_the_approver_role_and_a_code(svc, clock) -> None:
    b = make_bank(svc, clock)
    w = b.w
    payee = w.payee("Acme Concrete")
    bene = beneficiaries.add_beneficiary_account(svc, w.admin, w.company, payee, bank_name="Acme Bank",
                                                 holder_name="Acme Concrete LLC", numbers=numbers(FULL_2),
                                                 mfa_code=b.admin.code()).id
    refused(lambda: beneficiaries.approve(svc, w.admin, w.company, bene, mfa_code=b.admin.code()),
            "permission_denied", "BANK-14")  # an Admin is not the Beneficiary Approver
    approver_id = directory.create_user(svc, "approver@gc.example", "Approver").id
    directory.add_member(svc, w.admin, w.company, "approver@gc.example")
    grant_role(svc, w.admin, w.company, approver_id, BENEFICIARY_APPROVER)
    approver = Authenticator(svc, clock, w.company, approver_id)
    refused(lambda: beneficiaries.approve(svc, approver_id, w.company, bene, mfa_code=approver.wrong()),
            "mfa_failed")
    assert failures(svc, approver_id) == 1 and not row(svc, bene).approved_at
    refused(lambda: beneficiaries.approve(svc, approver_id, w.company, w.funding, mfa_code=approver.code()),
            "invalid_bank_account", "BANK-14")
    done = beneficiaries.approve(svc, approver_id, w.company, bene, mfa_code=approver.code())
    assert done.approved and done.approved_by == approver_id
    refused(lambda: beneficiaries.approve(svc, approver_id, w.company, bene, mfa_code=approver.code()),
            "already_approved", "BANK-14")
    assert bank_accounts.read_bank_account(svc, approver_id, w.company, bene).approved


@pytest.mark.rule("BANK-12", "BANK-13", "ROLE-6")
def test_one_designated_account_per_payee_and_the_only_active_one_is_designated(svc, clock) -> None:
    b = make_bank(svc, clock)
    w = b.w
    acme, steel = w.payee("Acme Concrete"), w.payee("Bay Steel")
    payee_admin_id = payee_admin(svc, acme)
    theirs = Authenticator(svc, clock, acme, payee_admin_id)

    def add(payee, number, who=w.admin, auth=b.admin):
        return beneficiaries.add_beneficiary_account(svc, who, w.company, payee, bank_name="Bank",
                                                     holder_name="Payee", numbers=numbers(number),
                                                     mfa_code=auth.code())

    first = add(acme, FULL_2, payee_admin_id, theirs)  # the payee's admin adds its own account
    assert first.designated and first.payee_company_id == acme and first.nickname == "Bank \u2022\u2022\u2022\u20221234"
    second = add(acme, "44443333")
    steel_one = add(steel, "22221111")
    assert not second.designated and steel_one.designated  # per payee company (BANK-13)
    refused(lambda: beneficiaries.designate(svc, payee_admin_id, w.company, second.id, mfa_code=theirs.wrong()),
            "mfa_failed")
    moved = beneficiaries.designate(svc, payee_admin_id, w.company, second.id, mfa_code=theirs.code())
    assert moved.designated and not row(svc, first.id).designated and row(svc, steel_one.id).designated
    with svc.db.sessions() as s:
        assert s.scalar(select(func.count()).where(BankAccount.payee_company_id == acme,
                                                   BankAccount.designated.is_(True))) == 1
    # deactivating the designated one leaves one active account: it is designated automatically
    account_lifecycle.deactivate(svc, payee_admin_id, w.company, second.id)
    assert row(svc, first.id).designated and not row(svc, second.id).designated
    # strangers to both companies find nothing; a Disburser of the payor may not manage accounts
    stranger = directory.create_user(svc, "nobody@else.example", "Nobody").id
    refused(lambda: beneficiaries.designate(svc, stranger, w.company, first.id, mfa_code="123456"),
            "not_found", "GEN-5")
    refused(lambda: beneficiaries.add_beneficiary_account(svc, w.creator, w.company, acme, bank_name="B",
                                                          holder_name="H", numbers=numbers(), mfa_code="123456"),
            "permission_denied", "ROLE-1")
    refused(lambda: beneficiaries.add_beneficiary_account(svc, w.admin, w.company, w.company, bank_name="B",
                                                          holder_name="H", numbers=numbers(), mfa_code="123456"),
            "not_found", "GEN-5")  # the payor is not a payee
    assert failures(svc, w.admin) == 0


@pytest.mark.rule("ROLL-4")
def test_a_sandbox_funding_account_maps_to_a_sandbox_deposit_and_never_defaults(svc, clock) -> None:
    b = make_bank(svc, clock)
    w = b.w
    sandbox_deposit = bank_accounts.add_deposit_account(svc, w.admin, w.company, "Sandbox", bank_name="Sim",
                                                        holder_name="GC", numbers=numbers(), sandbox=True).id
    acct = b.funding("Test drawdowns", deposit_account_id=sandbox_deposit, sandbox=True)
    assert acct.sandbox
    verified(b, acct.id)
    assert not row(svc, acct.id).is_default
    refused(lambda: account_lifecycle.set_default_funding(svc, w.admin, w.company, acct.id, mfa_code=b.admin.code()),
            "invalid_funding_account", "ROLL-4")
