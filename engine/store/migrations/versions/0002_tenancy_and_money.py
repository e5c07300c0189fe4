"""tenancy and exact money: memberships, users.active per company, money as integer cents

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 10:00:00

GEN-5: a person is global; their membership of a company (and whether they are
active there) is a ``memberships`` row. Each (company, user) holding a grant
becomes a member, active as the old global ``users.active`` flag said.

GEN-1: money columns become BIGINT integer cents. On PostgreSQL the NUMERIC(14, 2)
values convert exactly (``* 100``); SQLite stored them as binary floats already,
so they are rounded to the nearest cent once, here.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

#: table -> its money columns
MONEY_COLUMNS = {'invoices': ('amount_due',), 'disbursement_items': ('amount', 'retainage_released')}
OLD_MONEY = sa.Numeric(precision=14, scale=2)


def _sqlite() -> bool:
    """SQLite changes column types by recreating the table (batch mode; env.py turns foreign keys off)."""
    return op.get_bind().dialect.name == 'sqlite'


def upgrade() -> None:
    sqlite = _sqlite()

    op.create_table('memberships',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('company_id', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.String(length=32), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['company_id'], ['companies.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('company_id', 'user_id')
    )
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_memberships_company_id'), ['company_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_memberships_user_id'), ['user_id'], unique=False)

    op.execute('INSERT INTO memberships (company_id, user_id, active) '
               'SELECT DISTINCT g.company_id, g.user_id, u.active FROM grants g JOIN users u ON u.id = g.user_id')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('active')

    for table, columns in MONEY_COLUMNS.items():
        if sqlite:
            for column in columns:
                op.execute(f'UPDATE {table} SET {column} = CAST(ROUND({column} * 100) AS INTEGER)')
            with op.batch_alter_table(table, schema=None) as batch_op:
                for column in columns:
                    batch_op.alter_column(column, existing_type=OLD_MONEY, type_=sa.BigInteger(),
                                          existing_nullable=False)
        else:
            for column in columns:
                op.alter_column(table, column, existing_type=OLD_MONEY, type_=sa.BigInteger(),
                                existing_nullable=False, postgresql_using=f'({column} * 100)::bigint')


def downgrade() -> None:
    sqlite = _sqlite()

    for table, columns in MONEY_COLUMNS.items():
        if sqlite:
            with op.batch_alter_table(table, schema=None) as batch_op:
                for column in columns:
                    batch_op.alter_column(column, existing_type=sa.BigInteger(), type_=OLD_MONEY,
                                          existing_nullable=False)
            for column in columns:
                op.execute(f'UPDATE {table} SET {column} = {column} / 100.0')
        else:
            for column in columns:
                op.alter_column(table, column, existing_type=sa.BigInteger(), type_=OLD_MONEY,
                                existing_nullable=False, postgresql_using=f'({column}::numeric / 100)')

    # a person deactivated in any company was deactivated (the flag was global)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('active', sa.Boolean(), nullable=True))
    users = sa.table('users', sa.column('id', sa.String), sa.column('active', sa.Boolean))
    memberships = sa.table('memberships', sa.column('user_id', sa.String), sa.column('active', sa.Boolean))
    deactivated = sa.exists().where(memberships.c.user_id == users.c.id, memberships.c.active.is_(False))
    op.execute(users.update().values(active=sa.not_(deactivated)))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('active', existing_type=sa.Boolean(), nullable=False)

    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_memberships_user_id'))
        batch_op.drop_index(batch_op.f('ix_memberships_company_id'))
    op.drop_table('memberships')
