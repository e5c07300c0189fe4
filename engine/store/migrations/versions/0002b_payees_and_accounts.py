"""payee companies and funding bank accounts

Invoices name their payee company instead of a free ``vendor`` string, and
disbursements reference a funding account in the new ``bank_accounts`` table
instead of a free ``funding_account`` string, so the money milestone fills
rows rather than migrating strings (issue 7).

Data: each distinct (company, funding account text) becomes one funding
account of that company (nicknames compared ignoring case, BANK-7), and each
distinct (company, vendor) becomes one payee company (``is_payee``) whose
name is the vendor text. Migrated payee companies have no users yet and no
``company_created`` audit entry (no actor made them); migrated accounts are
Pending Verification and active, like new ones.

Revision ID: 0002b
Revises: 0001
Create Date: 2026-11-25 23:30:00.000000
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = '0002b'
down_revision = "0002"
branch_labels = None
depends_on = None

FK_PAYEE = 'fk_invoices_payee_company_id_companies'
FK_FUNDING = 'fk_disbursements_funding_account_id_bank_accounts'
UNNAMED_PAYEE = 'Unnamed payee'

# The tables as this revision sees them (not the current models, which move on).
companies = sa.table(
    'companies', sa.column('id', sa.String), sa.column('name', sa.String), sa.column('time_zone', sa.String),
    sa.column('holidays', sa.JSON), sa.column('workflows_enabled', sa.Boolean),
    sa.column('segregation', sa.String), sa.column('default_template_id', sa.String),
    sa.column('is_payee', sa.Boolean), sa.column('lock_version', sa.Integer))
bank_accounts = sa.table(
    'bank_accounts', sa.column('id', sa.String), sa.column('company_id', sa.String), sa.column('kind', sa.String),
    sa.column('nickname', sa.String), sa.column('nickname_key', sa.String),
    sa.column('verification_status', sa.String), sa.column('active', sa.Boolean),
    sa.column('created_at', sa.DateTime(timezone=True)), sa.column('lock_version', sa.Integer))
invoices = sa.table('invoices', sa.column('id', sa.String), sa.column('company_id', sa.String),
                    sa.column('vendor', sa.String), sa.column('payee_company_id', sa.String))
disbursements = sa.table('disbursements', sa.column('id', sa.String), sa.column('company_id', sa.String),
                         sa.column('funding_account', sa.String), sa.column('funding_account_id', sa.String))


def upgrade() -> None:
    op.create_table('bank_accounts',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('company_id', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('nickname', sa.String(length=100), nullable=False),
    sa.Column('nickname_key', sa.String(length=100), nullable=False),
    sa.Column('verification_status', sa.String(length=30), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lock_version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('bank_accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bank_accounts_company_id'), ['company_id'], unique=False)
        batch_op.create_index('uq_bank_accounts_funding_nickname', ['company_id', 'nickname_key'], unique=True,
                              sqlite_where=sa.text("kind = 'funding'"), postgresql_where=sa.text("kind = 'funding'"))

    with op.batch_alter_table('disbursements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('funding_account_id', sa.String(length=32), nullable=True))
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payee_company_id', sa.String(length=32), nullable=True))

    bind = op.get_bind()
    now = datetime.now(timezone.utc)
    _funding_accounts(bind, now)
    _payee_companies(bind)

    with op.batch_alter_table('disbursements', schema=None) as batch_op:
        batch_op.create_foreign_key(FK_FUNDING, 'bank_accounts', ['funding_account_id'], ['id'])
        batch_op.drop_column('funding_account')
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.alter_column('payee_company_id', existing_type=sa.String(length=32), nullable=False)
        batch_op.create_foreign_key(FK_PAYEE, 'companies', ['payee_company_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_invoices_payee_company_id'), ['payee_company_id'], unique=False)
        batch_op.drop_column('vendor')


def _funding_accounts(bind: sa.engine.Connection, now: datetime) -> None:
    """One funding account per company and nickname (ignoring case), as BANK-7 keeps them unique."""
    accounts: dict[tuple[str, str], str] = {}
    pairs = bind.execute(sa.select(disbursements.c.company_id, disbursements.c.funding_account).distinct()
                         .where(disbursements.c.funding_account.is_not(None))).all()
    for company_id, text in sorted(pairs):  # in Python, not by collation: one spelling on both backends
        nickname = text.strip()
        if not nickname:
            continue  # never accepted by the engine; such a disbursement keeps no account
        key = nickname.casefold()[:100]
        if (company_id, key) not in accounts:
            accounts[company_id, key] = uuid.uuid4().hex
            bind.execute(bank_accounts.insert().values(
                id=accounts[company_id, key], company_id=company_id, kind='funding', nickname=nickname,
                nickname_key=key, verification_status='Pending Verification', active=True, created_at=now,
                lock_version=0))
        bind.execute(disbursements.update()
                     .where(disbursements.c.company_id == company_id, disbursements.c.funding_account == text)
                     .values(funding_account_id=accounts[company_id, key]))


def _payee_companies(bind: sa.engine.Connection) -> None:
    """One payee company per company and vendor name: the payor's invoices to that vendor point to it."""
    payees: dict[tuple[str, str], str] = {}
    pairs = bind.execute(sa.select(invoices.c.company_id, invoices.c.vendor).distinct()).all()
    for company_id, vendor in sorted(pairs):
        name = vendor.strip() or UNNAMED_PAYEE
        if (company_id, name) not in payees:
            payees[company_id, name] = uuid.uuid4().hex
            bind.execute(companies.insert().values(
                id=payees[company_id, name], name=name, time_zone='America/New_York', holidays=[],
                workflows_enabled=True, segregation='invoice_approver', default_template_id=None, is_payee=True,
                lock_version=0))
        bind.execute(invoices.update().where(invoices.c.company_id == company_id, invoices.c.vendor == vendor)
                     .values(payee_company_id=payees[company_id, name]))


def downgrade() -> None:
    """Back to free strings: the payee company's name and the account's nickname.

    The payee companies stay (they are companies like any other by then); the
    bank accounts table goes with the columns that pointed to it."""
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('vendor', sa.String(length=200), nullable=True))
    with op.batch_alter_table('disbursements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('funding_account', sa.String(length=100), nullable=True))
    bind = op.get_bind()
    bind.execute(invoices.update().values(vendor=sa.select(companies.c.name)
                                          .where(companies.c.id == invoices.c.payee_company_id)
                                          .scalar_subquery()))
    bind.execute(disbursements.update().values(funding_account=sa.select(bank_accounts.c.nickname)
                                               .where(bank_accounts.c.id == disbursements.c.funding_account_id)
                                               .scalar_subquery()))
    with op.batch_alter_table('invoices', schema=None) as batch_op:
        batch_op.alter_column('vendor', existing_type=sa.String(length=200), nullable=False)
        batch_op.drop_index(batch_op.f('ix_invoices_payee_company_id'))
        batch_op.drop_constraint(FK_PAYEE, type_='foreignkey')
        batch_op.drop_column('payee_company_id')
    with op.batch_alter_table('disbursements', schema=None) as batch_op:
        batch_op.drop_constraint(FK_FUNDING, type_='foreignkey')
        batch_op.drop_column('funding_account_id')
    with op.batch_alter_table('bank_accounts', schema=None) as batch_op:
        batch_op.drop_index('uq_bank_accounts_funding_nickname', sqlite_where=sa.text("kind = 'funding'"),
                            postgresql_where=sa.text("kind = 'funding'"))
        batch_op.drop_index(batch_op.f('ix_bank_accounts_company_id'))
    op.drop_table('bank_accounts')
