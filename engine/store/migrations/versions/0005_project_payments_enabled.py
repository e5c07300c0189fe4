"""projects: payments_enabled

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 01:00:00

ROLL-1: Payments is enabled per project, apart from payment workflows, and a
disbursement can be created only on a project with Payments enabled. Every
existing project has had disbursements created on it, so it keeps Payments on.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payments_enabled', sa.Boolean(), nullable=False, server_default=sa.true()))
    # The models set the default in Python, like every other column: no server default remains.
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.alter_column('payments_enabled', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_column('payments_enabled')
