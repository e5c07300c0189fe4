"""bank instructions in the outbox, the simulated bank's book, settlement moments, sandbox mode

FLOW-9, AUD-5: a bank instruction (a drawdown, a payment order, a test drawdown) is
an outbox row of channel ``bank`` whose ``payload`` is the instruction; the worker
claims, leases, retries and dead-letters it exactly as it does an email (one
mechanism, two uses). ``dedupe_key`` (already unique) is ``bank:<instruction id>``,
so an instruction is queued once whatever retries its command.

``simulated_bank_books`` holds the simulated bank's state (balances, instructions
taken, scripts), one row per book (``production``, ``sandbox``), so every worker
process shares one bank.

Moments: ``drawdowns.settled_at``; ``payment_orders.requested_at`` (FLOW-4: when the
order was sent) and ``settled_at``.

ROLL-3/ROLL-4: ``companies.sandbox`` and ``projects.sandbox`` put a company or a
project in sandbox mode; ``disbursements.sandbox`` is the mode a disbursement was
created in (it never changes, like ROLL-2's enablement). ROLL-5:
``bank_accounts.tested_at`` is when a funding account's test drawdown completed,
and ``test_drawdowns`` are those test drawdowns.

Data: every existing outbox row is an email; nothing was in sandbox mode.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 08:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=10), nullable=False, server_default='email'))
        batch_op.add_column(sa.Column('payload', sa.JSON(), nullable=True))
        batch_op.create_index('ix_outbox_channel_due', ['channel', 'status', 'next_attempt_at'], unique=False)
    op.create_table('simulated_bank_books',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )
    with op.batch_alter_table('drawdowns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('payment_orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('requested_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True))
    for table in ('companies', 'projects', 'disbursements'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('sandbox', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('bank_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tested_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table('test_drawdowns',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('company_id', sa.String(length=32), nullable=False),
    sa.Column('funding_account_id', sa.String(length=32), nullable=False),
    sa.Column('deposit_account_id', sa.String(length=32), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=30), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('requested_by', sa.String(length=32), nullable=False),
    sa.Column('request_date', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], ),
    sa.ForeignKeyConstraint(['deposit_account_id'], ['bank_accounts.id'], ),
    sa.ForeignKeyConstraint(['funding_account_id'], ['bank_accounts.id'], ),
    sa.ForeignKeyConstraint(['requested_by'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_test_drawdowns_funding_account_id'), 'test_drawdowns', ['funding_account_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_test_drawdowns_funding_account_id'), table_name='test_drawdowns')
    op.drop_table('test_drawdowns')
    with op.batch_alter_table('bank_accounts', schema=None) as batch_op:
        batch_op.drop_column('tested_at')
    for table in ('disbursements', 'projects', 'companies'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('sandbox')
    with op.batch_alter_table('payment_orders', schema=None) as batch_op:
        batch_op.drop_column('settled_at')
        batch_op.drop_column('requested_at')
    with op.batch_alter_table('drawdowns', schema=None) as batch_op:
        batch_op.drop_column('settled_at')
    op.drop_table('simulated_bank_books')
    op.execute("DELETE FROM outbox WHERE channel <> 'email'")
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_channel_due')
        batch_op.drop_column('payload')
        batch_op.drop_column('channel')
