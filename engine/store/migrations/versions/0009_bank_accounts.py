"""bank accounts for the money milestone: numbers sealed, mapping, default, designation, approval

BANK-1..BANK-14, ROLL-3: the bank name and holder, the routing number (public, in
clear), the account number sealed with the secret box (never in clear, BANK-8) with
its last four digits, a funding account's deposit mapping (BANK-6), the default
funding account (BANK-9, at most one per company), a beneficiary account's payee
company, designation (BANK-12, at most one per payee of a payor) and approval
(BANK-14), the sandbox flag (ROLL-3), check numbering (BANK-11) and the moment of
deactivation (BANK-4).

Data: existing rows (funding accounts with a nickname only) keep their status
(Pending Verification), are not default, not designated, not sandbox.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 05:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

FK_DEPOSIT = 'fk_bank_accounts_deposit_account_id_bank_accounts'
FK_PAYEE = 'fk_bank_accounts_payee_company_id_companies'
FK_APPROVER = 'fk_bank_accounts_approved_by_users'
_is_default = sa.column('is_default', sa.Boolean).is_(True)
_designated = sa.column('designated', sa.Boolean).is_(True)


def upgrade() -> None:
    with op.batch_alter_table('bank_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bank_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('holder_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('routing_number', sa.String(length=9), nullable=True))
        batch_op.add_column(sa.Column('number_sealed', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('key_id', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('last4', sa.String(length=4), nullable=True))
        batch_op.add_column(sa.Column('deposit_account_id', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('is_default', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('payee_company_id', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('designated', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('approved_by', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('sandbox', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('bank_id_prefix', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('next_check_number', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('deactivated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(FK_DEPOSIT, 'bank_accounts', ['deposit_account_id'], ['id'])
        batch_op.create_foreign_key(FK_PAYEE, 'companies', ['payee_company_id'], ['id'])
        batch_op.create_foreign_key(FK_APPROVER, 'users', ['approved_by'], ['id'])
        batch_op.create_index(batch_op.f('ix_bank_accounts_payee_company_id'), ['payee_company_id'], unique=False)
        batch_op.create_index('uq_bank_accounts_one_default', ['company_id'], unique=True,
                              sqlite_where=_is_default, postgresql_where=_is_default)
        batch_op.create_index('uq_bank_accounts_one_designated', ['company_id', 'payee_company_id'], unique=True,
                              sqlite_where=_designated, postgresql_where=_designated)


def downgrade() -> None:
    with op.batch_alter_table('bank_accounts', schema=None) as batch_op:
        batch_op.drop_index('uq_bank_accounts_one_designated')
        batch_op.drop_index('uq_bank_accounts_one_default')
        batch_op.drop_index(batch_op.f('ix_bank_accounts_payee_company_id'))
        batch_op.drop_constraint(FK_APPROVER, type_='foreignkey')
        batch_op.drop_constraint(FK_PAYEE, type_='foreignkey')
        batch_op.drop_constraint(FK_DEPOSIT, type_='foreignkey')
        for column in ('deactivated_at', 'next_check_number', 'bank_id_prefix', 'sandbox', 'approved_at',
                       'approved_by', 'designated', 'payee_company_id', 'is_default', 'deposit_account_id',
                       'last4', 'key_id', 'number_sealed', 'routing_number', 'holder_name', 'bank_name'):
            batch_op.drop_column(column)
