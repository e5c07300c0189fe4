"""The relational schema (SQLAlchemy 2.x declarative), one class per table.

Conventions that the rest of the store relies on:
- Public ids are random 32-hex strings, so an id from another company is as
  good as unknown (GEN-5) and ids reveal nothing about volume.
- Money columns store integer cents (:class:`~engine.store.types.Money`) and
  map to :class:`~decimal.Decimal`, exactly on every backend (GEN-1).
- Rows that concurrent requests change carry ``lock_version``; every update
  is ``... WHERE lock_version = :seen`` (plus a row lock on PostgreSQL), so
  the loser of a race gets ``state_conflict`` (GEN-7).
- Audit entries and sent emails are append-only; nothing here cascades a delete.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from engine.store.types import Money

MONEY = Money()


def new_id() -> str:
    return uuid.uuid4().hex


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


def _id() -> Mapped[str]:
    return mapped_column(String(32), primary_key=True, default=new_id)


# ---------------------------------------------------------------- people


class Company(Base):
    __tablename__ = "companies"

    id: Mapped[str] = _id()
    name: Mapped[str] = mapped_column(String(200))
    time_zone: Mapped[str] = mapped_column(String(64), default="America/New_York")
    holidays: Mapped[list[Any]] = mapped_column(default=list)
    workflows_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    segregation: Mapped[str] = mapped_column(String(20), default="invoice_approver")
    #: WF-9. Deliberately not a foreign key: templates already reference their
    #: company, and a key cycle makes every migration of these tables harder;
    #: engine.service.templates.set_default only ever stores a template of this company.
    default_template_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    is_payee: Mapped[bool] = mapped_column(Boolean, default=False)
    #: ROLL-3: every disbursement of the company runs against the simulated bank, marked as a test
    sandbox: Mapped[bool] = mapped_column(Boolean, default=False)
    lock_version: Mapped[int] = mapped_column(Integer, default=0)


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = _id()
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    #: MFA-11, MFA-15: "signed out everywhere" — a sign-in session made before this moment is void
    signed_out_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: the argon2id hash of the password (engine.security.sign_in), never the password; None: no password
    #: set, so the user cannot sign in with one (migration 0012)
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)


class MfaEnrollment(Base):
    """A user's MFA (:class:`engine.security.mfa.MfaState`), one row per user.

    The TOTP secret is kept only sealed (MFA-5, :mod:`engine.security.secret_box`, ``key_id`` says
    which key sealed it, for rotation), the recovery codes only as argon2 hashes (MFA-7).
    """

    __tablename__ = "mfa_enrollments"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    secret_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    key_id: Mapped[str | None] = mapped_column(String(16), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    must_enroll: Mapped[bool] = mapped_column(Boolean, default=True)
    last_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    locked_attempt_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    recovery_hashes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: MFA-4: when the user confirmed saving the current set of recovery codes; None until they do
    #: (each new set, at activation or regeneration, clears it)
    recovery_codes_acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lock_version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": lock_version}


class UserSession(Base):
    """A sign-in session (engine.security.sign_in): a person signed in with a password (and TOTP, ROLE-10).

    Only the SHA-256 of the session token is kept (``token_hash``: the token is 256 random bits, so a
    fast hash suffices, as for API tokens), never the token. A session is void once expired, signed
    out, or made at or before ``users.signed_out_at`` (MFA-11, MFA-15: signed out everywhere).
    It belongs to the person, not to a company: a person is a member of several (GEN-5) and each
    command names the company it acts in.
    """

    __tablename__ = "user_sessions"

    id: Mapped[str] = _id()
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    signed_out_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: when the login's second factor passed (TOTP or a recovery code); None: password only
    mfa_passed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: ROLE-10: a payments-role holder without MFA signed in to enroll, and may do nothing else
    enroll_only: Mapped[bool] = mapped_column(Boolean, default=False)
    #: MFA-10: signed in with a recovery code, so no sensitive action until a new secret is enrolled
    needs_reenrollment: Mapped[bool] = mapped_column(Boolean, default=False)


class ApiToken(Base):
    """ROLE-12: an API token acts as exactly one user, with that user's permissions.

    Only the SHA-256 of the secret is kept (``token_hash``, engine/service/tokens.py says why a
    fast hash suffices), with a short non-secret ``prefix`` of it for display; never the secret.
    """

    __tablename__ = "api_tokens"

    id: Mapped[str] = _id()
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Membership(Base):
    """GEN-5: a person belongs to a company; active or deactivated per company (ROLE-8).

    A user (a person) is global; everything they may do in a company hangs
    off this row, so deactivation in one company changes nothing in another.
    """

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("company_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Grant(Base):
    """A payments role or a workflow permission held by a user in a company (ROLE-1..ROLE-7)."""

    __tablename__ = "grants"
    __table_args__ = (UniqueConstraint("company_id", "user_id", "permission"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    permission: Mapped[str] = mapped_column(String(40))


class Group(Base):
    __tablename__ = "groups"
    __table_args__ = (UniqueConstraint("company_id", "name"),)

    id: Mapped[str] = _id()
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))


class GroupMember(Base):
    __tablename__ = "group_members"
    __table_args__ = (UniqueConstraint("group_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    group_id: Mapped[str] = mapped_column(ForeignKey("groups.id"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))


# ---------------------------------------------------------------- templates


class Template(Base):
    """A named container of versions (WF-1..WF-14); its configuration binds roles."""

    __tablename__ = "templates"
    __table_args__ = (UniqueConstraint("company_id", "name_key"),)

    id: Mapped[str] = _id()
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200))  # casefolded name, WF-2
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    manager_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lock_version: Mapped[int] = mapped_column(Integer, default=0)


class RoleBinding(Base):
    """WF-6: a workflow role of a template filled by a user or a group."""

    __tablename__ = "role_bindings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    template_id: Mapped[str] = mapped_column(ForeignKey("templates.id"), index=True)
    role: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    group_id: Mapped[str | None] = mapped_column(ForeignKey("groups.id"), nullable=True)


class TemplateVersion(Base):
    """WF-3/WF-4: draft 0.1, 0.2 …; published 1.0, 2.0 … (immutable, hashed)."""

    __tablename__ = "template_versions"
    __table_args__ = (UniqueConstraint("template_id", "major", "minor"),)

    id: Mapped[str] = _id()
    template_id: Mapped[str] = mapped_column(ForeignKey("templates.id"), index=True)
    major: Mapped[int] = mapped_column(Integer)
    minor: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(10))  # draft | active | inactive
    source_kind: Mapped[str] = mapped_column(String(10))  # flow | json
    source_text: Mapped[str] = mapped_column(Text)
    document: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    content_hash: Mapped[str | None] = mapped_column(String(80), nullable=True)
    created_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# ---------------------------------------------------------------- bank accounts


class BankAccount(Base):
    """BANK-1: a company's funding, deposit or beneficiary account.

    ``company_id`` is the payor company for every kind: a beneficiary account is the payee's
    "pay to" account *as this payor knows it* (``payee_company_id`` names the payee), because
    approval (BANK-14) and designation (BANK-12, BANK-13) are the payor's and the payee's
    business together, and a disbursement reads them in the payor's company. The full account
    number is only ever stored sealed (``number_sealed``, :mod:`engine.security.secret_box`,
    ``key_id`` for rotation); ``last4`` is what everyone sees (BANK-8). The routing number is
    kept in clear: it names a bank, is printed on every check, and is public.

    Rows from before the money milestone (funding accounts with a nickname only) have no
    numbers: they stay Pending Verification and never default.
    """

    __tablename__ = "bank_accounts"

    id: Mapped[str] = _id()
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))  # funding | deposit | beneficiary
    nickname: Mapped[str] = mapped_column(String(100))
    nickname_key: Mapped[str] = mapped_column(String(100))  # casefolded nickname, BANK-7
    verification_status: Mapped[str] = mapped_column(String(30), default="Pending Verification")  # BANK-3
    active: Mapped[bool] = mapped_column(Boolean, default=True)  # BANK-4
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lock_version: Mapped[int] = mapped_column(Integer, default=0)
    bank_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    holder_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    routing_number: Mapped[str | None] = mapped_column(String(9), nullable=True)  # BANK-8, public
    number_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)  # BANK-8, never in clear
    key_id: Mapped[str | None] = mapped_column(String(16), nullable=True)
    last4: Mapped[str | None] = mapped_column(String(4), nullable=True)
    #: BANK-6: a funding account's one active deposit account of the same company
    deposit_account_id: Mapped[str | None] = mapped_column(ForeignKey("bank_accounts.id"), nullable=True)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)  # BANK-9, BANK-10 (funding)
    #: BANK-12..BANK-14 (beneficiary): the payee company that owns the account
    payee_company_id: Mapped[str | None] = mapped_column(ForeignKey("companies.id"), nullable=True, index=True)
    designated: Mapped[bool] = mapped_column(Boolean, default=False)
    approved_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    sandbox: Mapped[bool] = mapped_column(Boolean, default=False)  # ROLL-3, ROLL-4
    #: ROLL-5 (funding): when its test drawdown completed; production use needs one
    tested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: BANK-11 (funding): check numbers are ``bank_id_prefix`` + ``next_check_number``
    bank_id_prefix: Mapped[str | None] = mapped_column(String(10), nullable=True)
    next_check_number: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    deactivated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


# BANK-7: a funding account's nickname is unique in its company, ignoring case.
Index("uq_bank_accounts_funding_nickname", BankAccount.company_id, BankAccount.nickname_key, unique=True,
      sqlite_where=BankAccount.kind == "funding", postgresql_where=BankAccount.kind == "funding")
# BANK-9: at most one default funding account per company.
Index("uq_bank_accounts_one_default", BankAccount.company_id, unique=True,
      sqlite_where=BankAccount.is_default.is_(True), postgresql_where=BankAccount.is_default.is_(True))
# BANK-12, BANK-13: at most one designated beneficiary account per payee company (of a payor).
Index("uq_bank_accounts_one_designated", BankAccount.company_id, BankAccount.payee_company_id, unique=True,
      sqlite_where=BankAccount.designated.is_(True), postgresql_where=BankAccount.designated.is_(True))


# ---------------------------------------------------------------- disbursements


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[str] = _id()
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    office: Mapped[str | None] = mapped_column(String(200), nullable=True)
    sector: Mapped[str | None] = mapped_column(String(200), nullable=True)
    start_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: ROLL-1: disbursements can be created on this project
    payments_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    payment_workflows_enabled: Mapped[bool] = mapped_column(Boolean, default=True)  # ROLL-1
    #: ROLL-3: the project's disbursements are sandbox ones (as are all of a sandbox company's)
    sandbox: Mapped[bool] = mapped_column(Boolean, default=False)


class Invoice(Base):
    __tablename__ = "invoices"

    id: Mapped[str] = _id()
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id"), index=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    #: the payee company being paid (a company with ``is_payee``); its beneficiary
    #: account receives the payment once the money milestone arrives (BANK-12)
    payee_company_id: Mapped[str] = mapped_column(ForeignKey("companies.id"), index=True)
    number: Mapped[str] = mapped_column(String(100))
    amount_due: Mapped[Decimal] = mapped_column(MONEY)
    status: Mapped[str] = mapped_column(String(30), default="Unpaid")
    #: who approved the invoice: segregation of duties reads it (AUTH-5)
    approved_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    #: DSB-5: the disbursement holding this invoice, while reserved
    reserved_by: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    lock_version: Mapped[int] = mapped_column(Integer, default=0)


class Disbursement(Base):
    __tablename__ = "disbursements"

    id: Mapped[str] = _id()
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id"), index=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"))
    #: DSB-6: a Draft holds invoices but no funding account, until created
    is_draft: Mapped[bool] = mapped_column(Boolean, default=False)
    drafted_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    #: DSB-11: the Admin or Disburser who created it (None while a Draft)
    created_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    #: DSB-7: the funding account it draws from (None while a Draft, DSB-6)
    funding_account_id: Mapped[str | None] = mapped_column(ForeignKey("bank_accounts.id"), nullable=True)
    workflow_applies: Mapped[bool] = mapped_column(Boolean, default=False)
    workflow_status: Mapped[str | None] = mapped_column(String(20), nullable=True)  # ST-1
    drawdown_status: Mapped[str] = mapped_column(String(30), default="Draft")  # ST-3
    created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    canceled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    cancel_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    authorized_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: AUTH-11: the Admin or Disburser who authorized it
    authorized_by: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    #: ROLL-3/ROLL-4: the mode it was created in (its project's or company's), for good
    sandbox: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lock_version: Mapped[int] = mapped_column(Integer)

    # Every change bumps lock_version; an UPDATE that finds another version
    # raises StaleDataError, which Services.tx turns into state_conflict.
    __mapper_args__ = {"version_id_col": lock_version}


class DisbursementItem(Base):
    """One invoice payment of a disbursement (DSB-1..DSB-3)."""

    __tablename__ = "disbursement_items"
    __table_args__ = (UniqueConstraint("disbursement_id", "invoice_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    disbursement_id: Mapped[str] = mapped_column(ForeignKey("disbursements.id"), index=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"))
    position: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    retainage_released: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    payment_status: Mapped[str] = mapped_column(String(20), default="Not Initiated")  # ST-5


# ---------------------------------------------------------------- the money after authorization


class Drawdown(Base):
    """FLOW-1, ST-3, ST-4: the one drawdown request of an authorized disbursement, from its funding
    account into that account's deposit account, for exactly the aggregate (AUTH-11).

    ``instruction_id`` is the idempotency id the bank adapter sends (FLOW-9): a resent instruction
    is not a second drawdown. ``disbursement_id`` is unique: a disbursement is authorized once."""

    __tablename__ = "drawdowns"

    id: Mapped[str] = _id()
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id"), index=True)
    disbursement_id: Mapped[str] = mapped_column(ForeignKey("disbursements.id"), unique=True)
    funding_account_id: Mapped[str] = mapped_column(ForeignKey("bank_accounts.id"))
    deposit_account_id: Mapped[str] = mapped_column(ForeignKey("bank_accounts.id"))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    status: Mapped[str] = mapped_column(String(30))  # ST-3
    instruction_id: Mapped[str] = mapped_column(String(64), unique=True)
    #: FLOW-2: the business day the bank is asked to move it (16:00 New York cut-off)
    request_date: Mapped[date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)  # FLOW-3: the bank's, on Funding Failed
    sandbox: Mapped[bool] = mapped_column(Boolean, default=False)  # ROLL-3
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: FLOW-3: when the bank's final answer (settled or rejected) was applied
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    lock_version: Mapped[int] = mapped_column(Integer, default=0)


class PaymentOrder(Base):
    """FLOW-4, ST-5, ST-6: one invoice payment's order, from the deposit account to the payee's
    beneficiary account as it was at authorization (BANK-15: ``beneficiary_*`` is a snapshot and is
    never re-read from ``bank_accounts``), with its check number (BANK-11).

    Prepared at authorization as ``Not Initiated``; sent (``Requested``) once the drawdown settles.
    A re-issue (FLOW-8) is a new row, so at most one order per (disbursement, invoice) is not Failed."""

    __tablename__ = "payment_orders"

    id: Mapped[str] = _id()  # also the bank's idempotency id (FLOW-9)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id"), index=True)
    drawdown_id: Mapped[str] = mapped_column(ForeignKey("drawdowns.id"), index=True)
    disbursement_id: Mapped[str] = mapped_column(ForeignKey("disbursements.id"), index=True)
    invoice_id: Mapped[str] = mapped_column(ForeignKey("invoices.id"))
    payee_company_id: Mapped[str] = mapped_column(ForeignKey("companies.id"))
    beneficiary_account_id: Mapped[str] = mapped_column(ForeignKey("bank_accounts.id"))
    beneficiary_bank_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    beneficiary_holder_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    beneficiary_routing_number: Mapped[str | None] = mapped_column(String(9), nullable=True)
    beneficiary_last4: Mapped[str | None] = mapped_column(String(4), nullable=True)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    check_number: Mapped[str] = mapped_column(String(40))  # BANK-11
    status: Mapped[str] = mapped_column(String(20))  # ST-5
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    reissue_of: Mapped[str | None] = mapped_column(String(32), nullable=True)  # FLOW-8
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: FLOW-4: when the order was sent (Requested); FLOW-5: when the bank's answer was applied
    requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    lock_version: Mapped[int] = mapped_column(Integer, default=0)


class TestDrawdown(Base):
    """ROLL-5: a small drawdown that proves a funding account before its first production use; once
    the bank completes it, the account's ``tested_at`` is set. It pays nobody (its money lands in
    the company's own deposit account) and belongs to no disbursement."""

    __tablename__ = "test_drawdowns"
    __test__ = False  # not a pytest class, whatever its name

    id: Mapped[str] = _id()  # also the bank's idempotency id
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id"))
    funding_account_id: Mapped[str] = mapped_column(ForeignKey("bank_accounts.id"), index=True)
    deposit_account_id: Mapped[str] = mapped_column(ForeignKey("bank_accounts.id"))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    status: Mapped[str] = mapped_column(String(30))  # ST-3's names: Funding Requested, Completed, Failed
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    requested_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    request_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class SimulatedBankBook(Base):
    """The simulated bank's whole state (:class:`engine.payments.simulated_bank.Book` as data), one
    row per book, locked while an instruction is taken or settled, so every process shares one bank."""

    __tablename__ = "simulated_bank_books"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# FLOW-8: one live order per invoice payment (a Failed one may be re-issued as a new row).
Index("uq_payment_orders_live", PaymentOrder.disbursement_id, PaymentOrder.invoice_id, unique=True,
      sqlite_where=PaymentOrder.status != "Failed", postgresql_where=PaymentOrder.status != "Failed")


# ---------------------------------------------------------------- workflow runtime


class Instance(Base):
    """One run of a workflow on one disbursement, pinned to a version (WF-12).

    The run's whole state is this one row, written once per transition: ``state`` holds every
    occurrence with its responses (:func:`engine.service.instance_store.encode_state`), and the
    ``open_*`` columns repeat the open response occurrence, if any (there is at most one,
    ``InstanceState.current``), for the queries that look for steps waiting (the inbox, overdue
    filters, reminders, STEP-2 rechecks). ``first_seq``/``last_seq`` bound the occurrence numbers
    it holds (RESP-2: numbers continue across a disbursement's instances). ``assigned`` is every
    user ever assigned to one of its occurrences (who may view the disbursement, ROLE-7).
    """

    __tablename__ = "workflow_instances"
    __table_args__ = (UniqueConstraint("disbursement_id", "number"),)

    id: Mapped[str] = _id()
    #: 1, 2, … per disbursement: the order of starts and restarts
    number: Mapped[int] = mapped_column(Integer)
    company_id: Mapped[str] = mapped_column(ForeignKey("companies.id"), index=True)
    disbursement_id: Mapped[str] = mapped_column(ForeignKey("disbursements.id"), index=True)
    template_id: Mapped[str] = mapped_column(ForeignKey("templates.id"))
    version_id: Mapped[str] = mapped_column(ForeignKey("template_versions.id"))
    content_hash: Mapped[str] = mapped_column(String(80))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20))  # active | ended | terminated
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    end_step: Mapped[str | None] = mapped_column(String(200), nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(10), nullable=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    lock_version: Mapped[int] = mapped_column(Integer, default=0)
    #: every occurrence, with its responses
    state: Mapped[list[Any]] = mapped_column(JSON, default=list)
    first_seq: Mapped[int] = mapped_column(Integer, default=1)
    #: the highest occurrence number it holds (first_seq - 1 while it holds none)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    open_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)
    open_step: Mapped[str | None] = mapped_column(String(200), nullable=True)
    open_entered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    open_due: Mapped[date | None] = mapped_column(Date, nullable=True)
    open_assignees: Mapped[list[Any]] = mapped_column(JSON, default=list)
    open_replaced: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: who answered the open occurrence already (RESP-4)
    open_answered: Mapped[list[Any]] = mapped_column(JSON, default=list)
    assigned: Mapped[list[Any]] = mapped_column(JSON, default=list)


# WF-13: at most one active instance per disbursement, enforced by the database too.
Index("uq_instances_one_active", Instance.disbursement_id, unique=True,
      sqlite_where=Instance.status == "active", postgresql_where=Instance.status == "active")


# ---------------------------------------------------------------- audit and email


class AuditEntry(Base):
    """AUD-2/AUD-3: append-only, hash-chained per chain (a disbursement, or a company)."""

    __tablename__ = "audit_entries"
    __table_args__ = (UniqueConstraint("chain", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    chain: Mapped[str] = mapped_column(String(80), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    company_id: Mapped[str] = mapped_column(String(32), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str] = mapped_column(String(32))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    rules: Mapped[list[Any]] = mapped_column(JSON, default=list)
    version_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    content_hash: Mapped[str | None] = mapped_column(String(80), nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    #: HMAC-SHA256 of ``hash`` under the audit key (kept outside the database); NULL only for an
    #: entry written before revision 0004 whose chain did not verify then (engine/service/audit.py)
    mac: Mapped[str | None] = mapped_column(String(64), nullable=True)


class OutboxEmail(Base):
    """AUD-1/AUD-5: written with the state change, sent after commit by the worker."""

    __tablename__ = "outbox"

    id: Mapped[str] = _id()  # also the Message-ID's unique part
    company_id: Mapped[str] = mapped_column(String(32), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    event: Mapped[str] = mapped_column(String(40))
    recipients: Mapped[list[Any]] = mapped_column(JSON)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    #: makes "once" enforceable for emails a job may try to write twice (reminders)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True, nullable=True)
    #: pending | sending | sent | dead (a dead letter: never retried until an operator requeues it)
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: when the worker gave up on it (status ``dead``)
    dead_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    #: ``attempts`` at the last requeue: the retry bounds count the attempts after it, while
    #: ``attempts`` itself only grows (it fences a claim whose lease ran out)
    requeued_attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: ``email`` (recipients, subject, body) or ``bank`` (``payload`` is the bank instruction,
    #: FLOW-9); one claim, lease and retry for both
    channel: Mapped[str] = mapped_column(String(10), default="email", server_default="email")
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


Index("ix_outbox_channel_due", OutboxEmail.channel, OutboxEmail.status, OutboxEmail.next_attempt_at)


class AuditHead(Base):
    """The last (seq, hash) of each audit chain, so deleting the newest entries shows too."""

    __tablename__ = "audit_heads"

    chain: Mapped[str] = mapped_column(String(80), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    #: HMAC-SHA256 of (chain, seq, hash) under the audit key: a head rewound to an older entry
    #: does not verify unless its old MAC was kept (then only a checkpoint shows it)
    mac: Mapped[str | None] = mapped_column(String(64), nullable=True)


class IdempotencyRecord(Base):
    """GEN-8: a state-changing request's key, the hash of its body and its first result."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("company_id", "actor_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    company_id: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
