"""drawdowns, payment_orders, disbursements.authorized_by

AUTH-11, FLOW-1, FLOW-4, ST-3..ST-6, BANK-11, BANK-15: authorization creates one
drawdown (from the funding account into its mapped deposit account, for exactly the
aggregate, its own bank idempotency id) and one payment order per invoice payment,
each with its check number and a snapshot of the payee's designated beneficiary
account (bank, holder, routing number, last four: never re-read after authorization).
At most one order per (disbursement, invoice) is not Failed (a re-issue, FLOW-8, is
a new row). ``disbursements.authorized_by`` records the authorizer.

Data: no disbursement was authorized before this revision, so nothing is moved.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 06:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

FK_AUTHORIZER = 'fk_disbursements_authorized_by_users'
_live = sa.column('status', sa.String) != 'Failed'


def upgrade() -> None:
    op.create_table('drawdowns',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('company_id', sa.String(length=32), nullable=False),
    sa.Column('disbursement_id', sa.String(length=32), nullable=False),
    sa.Column('funding_account_id', sa.String(length=32), nullable=False),
    sa.Column('deposit_account_id', sa.String(length=32), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('instruction_id', sa.String(length=64), nullable=False),
    sa.Column('request_date', sa.Date(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('sandbox', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lock_version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], ),
    sa.ForeignKeyConstraint(['deposit_account_id'], ['bank_accounts.id'], ),
    sa.ForeignKeyConstraint(['disbursement_id'], ['disbursements.id'], ),
    sa.ForeignKeyConstraint(['funding_account_id'], ['bank_accounts.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('disbursement_id'),
    sa.UniqueConstraint('instruction_id')
    )
    op.create_index(op.f('ix_drawdowns_company_id'), 'drawdowns', ['company_id'], unique=False)
    op.create_table('payment_orders',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('company_id', sa.String(length=32), nullable=False),
    sa.Column('drawdown_id', sa.String(length=32), nullable=False),
    sa.Column('disbursement_id', sa.String(length=32), nullable=False),
    sa.Column('invoice_id', sa.String(length=32), nullable=False),
    sa.Column('payee_company_id', sa.String(length=32), nullable=False),
    sa.Column('beneficiary_account_id', sa.String(length=32), nullable=False),
    sa.Column('beneficiary_bank_name', sa.String(length=200), nullable=True),
    sa.Column('beneficiary_holder_name', sa.String(length=200), nullable=True),
    sa.Column('beneficiary_routing_number', sa.String(length=9), nullable=True),
    sa.Column('beneficiary_last4', sa.String(length=4), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('check_number', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('reissue_of', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lock_version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['beneficiary_account_id'], ['bank_accounts.id'], ),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], ),
    sa.ForeignKeyConstraint(['disbursement_id'], ['disbursements.id'], ),
    sa.ForeignKeyConstraint(['drawdown_id'], ['drawdowns.id'], ),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], ),
    sa.ForeignKeyConstraint(['payee_company_id'], ['companies.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_payment_orders_company_id'), 'payment_orders', ['company_id'], unique=False)
    op.create_index(op.f('ix_payment_orders_disbursement_id'), 'payment_orders', ['disbursement_id'], unique=False)
    op.create_index(op.f('ix_payment_orders_drawdown_id'), 'payment_orders', ['drawdown_id'], unique=False)
    op.create_index('uq_payment_orders_live', 'payment_orders', ['disbursement_id', 'invoice_id'], unique=True,
                    sqlite_where=_live, postgresql_where=_live)
    with op.batch_alter_table('disbursements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('authorized_by', sa.String(length=32), nullable=True))
        batch_op.create_foreign_key(FK_AUTHORIZER, 'users', ['authorized_by'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('disbursements', schema=None) as batch_op:
        batch_op.drop_constraint(FK_AUTHORIZER, type_='foreignkey')
        batch_op.drop_column('authorized_by')
    op.drop_index('uq_payment_orders_live', table_name='payment_orders')
    op.drop_index(op.f('ix_payment_orders_drawdown_id'), table_name='payment_orders')
    op.drop_index(op.f('ix_payment_orders_disbursement_id'), table_name='payment_orders')
    op.drop_index(op.f('ix_payment_orders_company_id'), table_name='payment_orders')
    op.drop_table('payment_orders')
    op.drop_index(op.f('ix_drawdowns_company_id'), table_name='drawdowns')
    op.drop_table('drawdowns')
