"""audit log MACs: every entry and head sealed with a key kept outside the database

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 10:00:00

AUD-3 (issue 8): the hash chain had no secret, so anyone able to write the
database could rewrite an entry and recompute the hashes after it. Each
entry now carries ``mac`` (HMAC-SHA256 of its hash under the audit key) and
each head a MAC of (chain, seq, hash); see engine/service/audit.py and docs/audit.md.

Data: existing entries are sealed where they still verify. Each chain is
walked as the unkeyed verifier did (links and hashes from the first entry);
every entry up to the chain's first break gets its MAC, and the head gets
its MAC if the whole chain verified. An entry after a break keeps a NULL MAC,
so the break is still reported, never blessed. A company or disbursement
without any chain (payee companies made by revision 0002b, rows written
before the audit log) gets a chain opened by a ``chain_opened`` entry that
says so, as ``verify`` now requires a chain for each.

The key comes from PAYROUTE_AUDIT_KEY or PAYROUTE_AUDIT_KEY_FILE (engine/security/keys.py);
it is needed only if there is something to seal, and the upgrade stops, changing
nothing, without it. The hashing is engine.service.audit's (the scheme this revision
seals, unchanged by it). Downgrade drops the MAC columns; the opened chains'
entries stay (they are valid entries of the unkeyed scheme).
"""
from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

# The tables as this revision sees them (not the current models, which move on).
entries = sa.table(
    'audit_entries', sa.column('id', sa.Integer), sa.column('chain', sa.String), sa.column('seq', sa.Integer),
    sa.column('company_id', sa.String), sa.column('at', sa.DateTime(timezone=True)),
    sa.column('actor_id', sa.String), sa.column('action', sa.String), sa.column('object_type', sa.String),
    sa.column('object_id', sa.String), sa.column('before', sa.JSON), sa.column('after', sa.JSON),
    sa.column('reason', sa.Text), sa.column('rules', sa.JSON), sa.column('version_id', sa.String),
    sa.column('content_hash', sa.String), sa.column('details', sa.JSON), sa.column('prev_hash', sa.String),
    sa.column('hash', sa.String), sa.column('mac', sa.String))
heads = sa.table('audit_heads', sa.column('chain', sa.String), sa.column('seq', sa.Integer),
                 sa.column('hash', sa.String), sa.column('mac', sa.String))
companies = sa.table('companies', sa.column('id', sa.String))
disbursements = sa.table('disbursements', sa.column('id', sa.String), sa.column('company_id', sa.String))

BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mac', sa.String(length=64), nullable=True))
    with op.batch_alter_table('audit_heads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mac', sa.String(length=64), nullable=True))
    _seal(op.get_bind())


def _seal(bind: sa.Connection) -> None:
    from engine.security import keys
    from engine.service import audit

    head_rows = {h.chain: h for h in bind.execute(sa.select(heads))}
    chains = set(head_rows) | set(bind.scalars(sa.select(entries.c.chain).group_by(entries.c.chain)))
    owners = [(audit.company_chain(c), c, 'company', c) for c in bind.scalars(sa.select(companies.c.id))]
    owners += [(audit.disbursement_chain(d.id), d.company_id, 'disbursement', d.id)
               for d in bind.execute(sa.select(disbursements.c.id, disbursements.c.company_id))]
    orphans = [o for o in owners if o[0] not in chains]
    if not chains and not orphans:
        return
    try:
        key = keys.audit_key()
    except keys.KeyConfigError as exc:
        raise keys.KeyConfigError(f"revision 0004 seals the existing audit log with the audit key: {exc}") from None

    entry_macs: list[dict[str, Any]] = []
    head_macs: list[dict[str, Any]] = []
    rows = bind.execute(sa.select(entries).order_by(entries.c.chain, entries.c.seq, entries.c.id))
    walked: dict[str, tuple[bool, int, str]] = {}  # chain -> (verified so far, last seq, last hash)
    for row in rows:
        ok, seq, prev = walked.get(row.chain, (True, 0, audit.GENESIS))
        if not ok:
            continue
        if row.seq != seq + 1 or row.prev_hash != prev or audit.entry_hash(row, prev) != row.hash:
            walked[row.chain] = (False, seq, prev)
            continue
        entry_macs.append({'b_id': row.id, 'b_mac': audit.entry_mac(key, row.hash)})
        walked[row.chain] = (True, row.seq, row.hash)
    for chain, head in head_rows.items():
        ok, seq, last = walked.get(chain, (True, 0, audit.GENESIS))
        if ok and head.seq == seq and head.hash == last:
            head_macs.append({'b_chain': chain, 'b_mac': audit.head_mac(key, chain, head.seq, head.hash)})
    for i in range(0, len(entry_macs), BATCH):
        bind.execute(entries.update().where(entries.c.id == sa.bindparam('b_id'))
                     .values(mac=sa.bindparam('b_mac')), entry_macs[i:i + BATCH])
    if head_macs:
        bind.execute(heads.update().where(heads.c.chain == sa.bindparam('b_chain'))
                     .values(mac=sa.bindparam('b_mac')), head_macs)

    now = datetime.now(timezone.utc)
    for chain, company_id, object_type, object_id in orphans:
        row = {'chain': chain, 'seq': 1, 'company_id': company_id, 'at': now, 'actor_id': None,
               'action': 'chain_opened', 'object_type': object_type, 'object_id': object_id, 'before': None,
               'after': None, 'reason': f'the {object_type} had no audit chain when the log was sealed '
               '(revision 0004); what happened to it before is not in the log', 'rules': ['AUD-3'],
               'version_id': None, 'content_hash': None, 'details': {'migration': '0004'},
               'prev_hash': audit.GENESIS}
        row['hash'] = audit.entry_hash(SimpleNamespace(**row), audit.GENESIS)
        row['mac'] = audit.entry_mac(key, row['hash'])
        bind.execute(entries.insert().values(**row))
        bind.execute(heads.insert().values(chain=chain, seq=1, hash=row['hash'],
                                           mac=audit.head_mac(key, chain, 1, row['hash'])))


def downgrade() -> None:
    with op.batch_alter_table('audit_heads', schema=None) as batch_op:
        batch_op.drop_column('mac')
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_column('mac')
