"""workflow_instances hold their state in one row; occurrences and responses tables go

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 05:10:00

Why: a respond-and-advance wrote an occurrence UPDATE, one or two occurrence
INSERTs and a response INSERT besides the instance, and read them back with
two queries first. The instance row now carries the whole state as JSON
(written once per transition) and repeats its open response occurrence in
``open_*`` columns for the queries that look for waiting steps. Existing
occurrences and responses are moved into it, then their tables are dropped.
"""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def _iso(moment: Any) -> str | None:
    if moment is None:
        return None
    if isinstance(moment, str):  # SQLite hands a DateTime back as text on a bare connection
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat()


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def upgrade() -> None:
    with op.batch_alter_table('workflow_instances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('state', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('first_seq', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('last_seq', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('open_seq', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('open_step', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('open_entered_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('open_due', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('open_assignees', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('open_replaced', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('open_answered', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('assigned', sa.JSON(), nullable=True))

    conn = op.get_bind()
    instances = sa.table('workflow_instances', sa.column('id'), sa.column('status'), sa.column('state', sa.JSON),
                         sa.column('first_seq'), sa.column('last_seq'), sa.column('open_seq'),
                         sa.column('open_step'), sa.column('open_entered_at', sa.DateTime(timezone=True)),
                         sa.column('open_due', sa.Date), sa.column('open_assignees', sa.JSON),
                         sa.column('open_replaced', sa.JSON), sa.column('open_answered', sa.JSON),
                         sa.column('assigned', sa.JSON))
    occurrences = sa.table('occurrences', sa.column('id'), sa.column('instance_id'), sa.column('seq'),
                           sa.column('step'), sa.column('kind'), sa.column('entered_at'), sa.column('due_date'),
                           sa.column('closed_at'), sa.column('decision'), sa.column('assignees'),
                           sa.column('replaced'), sa.column('evaluation'))
    responses = sa.table('responses', sa.column('id'), sa.column('occurrence_id'), sa.column('user_id'),
                         sa.column('answer'), sa.column('comment'), sa.column('created_at'))
    answers: dict[int, list[dict[str, Any]]] = {}
    for r in conn.execute(sa.select(responses).order_by(responses.c.id)):
        answer = {"user": r.user_id, "answer": r.answer, "at": _iso(r.created_at)}
        if r.comment is not None:
            answer["comment"] = r.comment
        answers.setdefault(r.occurrence_id, []).append(answer)
    by_instance: dict[str, list[Any]] = {}
    for o in conn.execute(sa.select(occurrences).order_by(occurrences.c.instance_id, occurrences.c.seq)):
        by_instance.setdefault(o.instance_id, []).append(o)
    for inst in conn.execute(sa.select(instances.c.id, instances.c.status)).all():
        rows = by_instance.get(inst.id, [])
        state: list[dict[str, Any]] = []
        assigned: list[str] = []
        for o in rows:
            item: dict[str, Any] = {"seq": o.seq, "step": o.step, "kind": o.kind, "entered_at": _iso(o.entered_at)}
            due = o.due_date
            if due is not None:
                item["due"] = due if isinstance(due, str) else due.isoformat()
            for name, value in (("assignees", _json(o.assignees)), ("replaced", _json(o.replaced))):
                if value:
                    item[name] = list(value)
            if answers.get(o.id):
                item["responses"] = answers[o.id]
            if o.closed_at is not None:
                item["closed_at"] = _iso(o.closed_at)
            if o.decision is not None:
                item["decision"] = o.decision
            evaluation = _json(o.evaluation)
            if evaluation is not None:
                item["evaluation"] = evaluation
            state.append(item)
            assigned += [u for u in item.get("assignees", ()) if u not in assigned]
        values: dict[str, Any] = {
            "state": state, "first_seq": rows[0].seq if rows else 1, "last_seq": rows[-1].seq if rows else 0,
            "open_seq": None, "open_step": None, "open_entered_at": None, "open_due": None,
            "open_assignees": [], "open_replaced": [], "open_answered": [], "assigned": assigned}
        last = state[-1] if state else None
        if inst.status == "active" and last is not None and last["kind"] == "response" and "closed_at" not in last:
            o = rows[-1]
            due = date.fromisoformat(last["due"]) if last.get("due") else None
            values.update(open_seq=o.seq, open_step=o.step, open_entered_at=datetime.fromisoformat(last["entered_at"]),
                          open_due=due,
                          open_assignees=last.get("assignees", []), open_replaced=last.get("replaced", []),
                          open_answered=[r["user"] for r in last.get("responses", ())])
        conn.execute(instances.update().where(instances.c.id == inst.id).values(**values))

    with op.batch_alter_table('workflow_instances', schema=None) as batch_op:
        for name in ('state', 'first_seq', 'last_seq', 'open_assignees', 'open_replaced', 'open_answered',
                     'assigned'):
            kind = sa.Integer() if name.endswith('_seq') else sa.JSON()
            batch_op.alter_column(name, existing_type=kind, nullable=False)

    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_responses_occurrence_id'))
    op.drop_table('responses')
    with op.batch_alter_table('occurrences', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_occurrences_instance_id'))
    op.drop_table('occurrences')


def downgrade() -> None:
    op.create_table('occurrences',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('instance_id', sa.String(length=32), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('step', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('entered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision', sa.String(length=200), nullable=True),
    sa.Column('assignees', sa.JSON(), nullable=False),
    sa.Column('replaced', sa.JSON(), nullable=False),
    sa.Column('evaluation', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['workflow_instances.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('instance_id', 'seq')
    )
    with op.batch_alter_table('occurrences', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_occurrences_instance_id'), ['instance_id'], unique=False)
    op.create_table('responses',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('occurrence_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.String(length=32), nullable=False),
    sa.Column('answer', sa.String(length=200), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['occurrence_id'], ['occurrences.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('occurrence_id', 'user_id')
    )
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_responses_occurrence_id'), ['occurrence_id'], unique=False)

    conn = op.get_bind()
    instances = sa.table('workflow_instances', sa.column('id'), sa.column('state', sa.JSON))
    occurrences = sa.table('occurrences', sa.column('id'), sa.column('instance_id'), sa.column('seq'),
                           sa.column('step'), sa.column('kind'),
                           sa.column('entered_at', sa.DateTime(timezone=True)), sa.column('due_date', sa.Date),
                           sa.column('closed_at', sa.DateTime(timezone=True)), sa.column('decision'),
                           sa.column('assignees', sa.JSON), sa.column('replaced', sa.JSON),
                           sa.column('evaluation', sa.JSON))
    responses = sa.table('responses', sa.column('occurrence_id'), sa.column('user_id'), sa.column('answer'),
                         sa.column('comment'), sa.column('created_at', sa.DateTime(timezone=True)))
    def when(text: str | None) -> datetime | None:
        return datetime.fromisoformat(text) if text else None

    for inst_id, state in conn.execute(sa.select(instances.c.id, instances.c.state)).all():
        for o in _json(state) or ():
            occ_id = conn.execute(occurrences.insert().values(
                instance_id=inst_id, seq=o["seq"], step=o["step"], kind=o["kind"], entered_at=when(o["entered_at"]),
                due_date=date.fromisoformat(o["due"]) if o.get("due") else None, closed_at=when(o.get("closed_at")),
                decision=o.get("decision"), assignees=o.get("assignees", []), replaced=o.get("replaced", []),
                evaluation=o.get("evaluation")).returning(occurrences.c.id)).scalar_one()
            for r in o.get("responses", ()):
                conn.execute(responses.insert().values(occurrence_id=occ_id, user_id=r["user"], answer=r["answer"],
                                                       comment=r.get("comment"), created_at=when(r["at"])))
    with op.batch_alter_table('workflow_instances', schema=None) as batch_op:
        for name in ('assigned', 'open_answered', 'open_replaced', 'open_assignees', 'open_due', 'open_entered_at',
                     'open_step', 'open_seq', 'last_seq', 'first_seq', 'state'):
            batch_op.drop_column(name)
