"""outbox dead letters: dead_at and requeued_attempts

Revision ID: 0003
Revises: 0002b
Create Date: 2026-12-02 10:00:00

AUD-5: an email the mail server rejects for good (5xx), that cannot be built,
or that failed the maximum number of times stops being retried: its status
becomes ``dead`` (a new value of the free-text ``status`` column; no
constraint lists the values) and ``dead_at`` records when. An operator's
requeue (``payroute worker retry``) sets ``requeued_attempts`` to the
attempts made so far, so the retry bounds count afresh while ``attempts``
keeps growing (it fences stale claims). Existing rows were never requeued: 0.
The downgrade turns dead letters back into pending rows, due now, so none is
lost by going back (a pre-0003 worker retries them, as it did before).
"""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002b'
branch_labels = None
depends_on = None

outbox = sa.table('outbox', sa.column('status', sa.String), sa.column('next_attempt_at', sa.DateTime(timezone=True)))


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dead_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('requeued_attempts', sa.Integer(), nullable=False, server_default='0'))
    # The models set the default in Python, like every other column: no server default remains.
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.alter_column('requeued_attempts', server_default=None)


def downgrade() -> None:
    op.execute(outbox.update().where(outbox.c.status == 'dead')
               .values(status='pending', next_attempt_at=datetime.now(timezone.utc)))
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('requeued_attempts')
        batch_op.drop_column('dead_at')
