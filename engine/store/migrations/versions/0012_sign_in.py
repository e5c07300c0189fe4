"""users.password_hash, user_sessions, mfa_enrollments.recovery_codes_acknowledged_at

Signing in (engine.security.sign_in; ROLE-10, MFA-4, MFA-6, MFA-10..MFA-12):
``users.password_hash`` keeps the argon2id hash of a user's password (null: no
password set, so the user cannot sign in with one); ``user_sessions`` keeps each
sign-in session by the SHA-256 of its token only (unique and indexed), with when it
was made, last seen, expires and was signed out, when its second factor passed, and
whether it may only enroll (ROLE-10) or needs a new enrollment (MFA-10);
``mfa_enrollments.recovery_codes_acknowledged_at`` records that the user confirmed
saving their recovery codes (MFA-4).

Data: every existing user keeps their row with no password (an operator sets one
with ``payroute users set-password``); existing enrollments read as "recovery codes
not yet acknowledged". Downgrading drops the sessions and the two columns (the
passwords go with them).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 08:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('password_hash', sa.String(length=200), nullable=True))
    with op.batch_alter_table('mfa_enrollments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recovery_codes_acknowledged_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table('user_sessions',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.String(length=32), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('signed_out_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('mfa_passed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('enroll_only', sa.Boolean(), nullable=False),
    sa.Column('needs_reenrollment', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_user_sessions_token_hash'), 'user_sessions', ['token_hash'], unique=True)
    op.create_index(op.f('ix_user_sessions_user_id'), 'user_sessions', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_user_sessions_user_id'), table_name='user_sessions')
    op.drop_index(op.f('ix_user_sessions_token_hash'), table_name='user_sessions')
    op.drop_table('user_sessions')
    with op.batch_alter_table('mfa_enrollments', schema=None) as batch_op:
        batch_op.drop_column('recovery_codes_acknowledged_at')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('password_hash')
