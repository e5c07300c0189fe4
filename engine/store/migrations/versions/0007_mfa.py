"""mfa_enrollments, users.signed_out_at

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 01:20:00

MFA-4..MFA-15: one row per user with the TOTP secret sealed (never in clear,
MFA-5), the last accepted step (MFA-3), the failure count and lockout
(MFA-11, MFA-12) and the recovery codes' argon2 hashes (MFA-7).
``users.signed_out_at`` voids the sign-in sessions made before it (MFA-11, MFA-15).
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('mfa_enrollments',
    sa.Column('user_id', sa.String(length=32), nullable=False),
    sa.Column('secret_sealed', sa.Text(), nullable=True),
    sa.Column('key_id', sa.String(length=16), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('must_enroll', sa.Boolean(), nullable=False),
    sa.Column('last_step', sa.BigInteger(), nullable=True),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('locked', sa.Boolean(), nullable=False),
    sa.Column('locked_attempt_step', sa.BigInteger(), nullable=True),
    sa.Column('recovery_hashes', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lock_version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('user_id')
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signed_out_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('signed_out_at')
    op.drop_table('mfa_enrollments')
