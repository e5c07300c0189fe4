"""An answer racing a restart or an edit (RESP-2, DSB-12, MGR-5, GEN-7): whichever commits
first, an approval read for the old instance never lands on the new one.

Issue 7 found an approval meant for the old instance landing on the restarted one in
11 of 20 restart-vs-respond races on PostgreSQL, and in 3 of 10 edit-vs-respond races;
occurrence numbers now continue across a disbursement's instances.
"""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import select

from engine.service import directory, disbursements, instances
from engine.service.disbursements import PaymentLine
from engine.service.instance_store import load_state
from engine.store.tables import Instance

from .race import Racer, RaceWorld, WorldBuilder, chain_breaks, current, race, unexpected


def _answers_on(world: RaceWorld, instance_id: str) -> list[tuple[str, str]]:
    with world.svc.db.sessions() as s:
        state = load_state(s, s.get(Instance, instance_id))
        return [(r.user, r.answer) for o in state.occurrences for r in o.responses]


def _respond(world: RaceWorld, d: str, occurrence: int):
    def action(svc):
        return instances.respond(svc, world.reviewers[0], world.company, d, occurrence=occurrence, answer="Approve")
    return action


def _check_round(world: RaceWorld, d: str, old: instances.InstanceView, answer, orders: Counter[str]) -> None:
    """The answer either landed on the old instance before the restart, or was refused as
    stale; the new instance never holds it."""
    assert unexpected([answer], {"stale"}) == []
    new = current(world.svc, world, d)
    assert new.instance_id != old.instance_id
    assert (new.status, new.current_step) == ("active", "Any Review")
    assert new.current_occurrence is not None and new.current_occurrence > old.current_occurrence
    assert _answers_on(world, new.instance_id) == []
    if answer.ok:
        orders["respond first"] += 1
        assert answer.value.instance_id == old.instance_id
        assert _answers_on(world, old.instance_id) == [(world.reviewers[0], "Approve")]
    else:
        orders["restart first"] += 1
        assert answer.code == "stale" and answer.error.rule == "RESP-2"
        assert _answers_on(world, old.instance_id) == []


@pytest.mark.rule("RESP-2", "MGR-5", "GEN-7")
def test_an_approval_racing_a_restart_never_lands_on_the_new_instance(race_world: WorldBuilder) -> None:
    world = race_world(reviewers=1, panel=1)
    orders: Counter[str] = Counter()
    for _ in range(20):
        d = world.disbursement()
        old = current(world.svc, world, d)
        restart, answer = race(world, [
            Racer("restart", lambda svc, d=d: instances.restart(svc, world.manager, world.company, d,
                                                                reason="wrong cost code")),
            Racer("respond", _respond(world, d, old.current_occurrence)),
        ])
        assert restart.ok, restart.error
        _check_round(world, d, old, answer, orders)
    assert sum(orders.values()) == 20
    assert chain_breaks(world.svc) == []


@pytest.mark.rule("RESP-2", "DSB-12", "GEN-7")
def test_an_approval_racing_an_edit_never_counts_for_the_new_amount(race_world: WorldBuilder) -> None:
    world = race_world(reviewers=1, panel=1)
    orders: Counter[str] = Counter()
    for k in range(10):
        inv = directory.create_invoice(world.svc, world.admin, world.company, world.project, payee=world.payee,
                                       number=f"EDIT-{k:03d}", amount_due="250000.00").id
        d = disbursements.create_disbursement(world.svc, world.creator, world.company, project_id=world.project,
                                              funding_account=world.funding, payments=[PaymentLine(inv)]).id
        old = current(world.svc, world, d)
        edit, answer = race(world, [
            Racer("edit", lambda svc, d=d, inv=inv: disbursements.edit_payments(
                svc, world.creator, world.company, d, reason="paying part now",
                amounts={inv: PaymentLine(inv, amount="150000.00", note="first half")})),
            Racer("respond", _respond(world, d, old.current_occurrence)),
        ])
        assert edit.ok, edit.error
        _check_round(world, d, old, answer, orders)
    assert sum(orders.values()) == 10
    assert chain_breaks(world.svc) == []
