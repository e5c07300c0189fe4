"""Concurrent requests on one disbursement: exactly one wins, the rest are refused
cleanly, nothing is lost, doubled or half-written (GEN-7, RESP-5, STEP-3, STEP-4,
AUTH-13, AUD-1, AUD-3).

Every racer runs in its own thread with its own Services (own engine and
connection), held at a barrier until all are ready. On PostgreSQL the
disbursement row lock serialises them; on SQLite ``BEGIN IMMEDIATE`` does.
"""

from __future__ import annotations

from collections import Counter

import pytest

from engine.service import disbursements, instances

from .race import (
    Racer,
    WorldBuilder,
    audit_actions,
    chain_breaks,
    current,
    emails,
    entries_for,
    race,
    response_rows,
    threads_for,
    unexpected,
)


def _respond(user: str, world, d: str, occurrence: int, answer: str):
    def action(svc):
        return instances.respond(svc, user, world.company, d, occurrence=occurrence, answer=answer)
    return action


@pytest.mark.rule("RESP-5", "GEN-7", "STEP-3", "AUD-1")
def test_fifty_first_answers_to_an_any_step_make_exactly_one_transition(race_world: WorldBuilder,
                                                                        database_url: str) -> None:
    """RESP-5/GEN-7: of 50 concurrent first answers to a `requires: any` step exactly one
    is recorded and decides; the 49 others are refused as `stale` (RESP-2), nothing else."""
    n = threads_for(database_url)
    world = race_world(reviewers=n, panel=2)
    d = world.disbursement()
    occ = current(world.svc, world, d).current_occurrence
    assert occ == 1

    outcomes = race(world, [Racer(f"r{i}", _respond(u, world, d, occ, "Approve"))
                            for i, u in enumerate(world.reviewers)])

    assert unexpected(outcomes, {"stale"}) == []
    winners = [o for o in outcomes if o.ok]
    assert len(winners) == 1, [o.label for o in winners]
    assert sum(o.code == "stale" for o in outcomes) == n - 1
    winner = world.reviewers[int(winners[0].label[1:])]

    view = current(world.svc, world, d)
    assert (view.current_step, view.current_occurrence) == ("Panel Review", 2)
    assert view.path == ("Any Review", "Panel Review")  # advanced once
    assert view.workflow_status == "Under Review"

    submitted = entries_for(world.svc, d, "response_submitted", occ)
    decided = entries_for(world.svc, d, "step_decided", occ)
    assert [e.actor_id for e in submitted] == [winner]
    assert [e.actor_id for e in decided] == [winner]
    assert len(entries_for(world.svc, d, "step_entered", 2)) == 1
    assert [r.user for r in response_rows(world.svc, _instance(world, d), occ)] == [winner]

    # the next step's emails were written once (AUD-1): the panel and the manager
    sent = Counter(emails(world.svc, "step_entered"))
    assert sent["panel0@gc.example"] == sent["panel1@gc.example"] == 1
    assert sent["manager@gc.example"] == 2  # once per step entered
    assert chain_breaks(world.svc) == []


@pytest.mark.rule("RESP-5", "END-1", "GEN-7")
def test_concurrent_answers_racing_to_an_end_step_reach_it_once(race_world: WorldBuilder, database_url: str) -> None:
    """RESP-5/END-1/GEN-7: when every racer's answer ends the instance, one is recorded,
    the end is reached once, and each loser gets the same DomainError a late answer gets
    after the fact — never another exception. (Which code that is: see the next test.)"""
    n = threads_for(database_url)
    world = race_world(reviewers=n + 1, panel=1)
    d = world.disbursement()

    outcomes = race(world, [Racer(f"r{i}", _respond(u, world, d, 1, "Reject"))
                            for i, u in enumerate(world.reviewers[:n])])

    assert sum(o.ok for o in outcomes) == 1
    late = _late_answer_code(world, d, world.reviewers[n])
    assert unexpected(outcomes, {late}) == []
    view = current(world.svc, world, d)
    assert (view.status, view.workflow_status, view.path) == ("ended", "Rejected", ("Any Review", "Rejected"))
    assert len(entries_for(world.svc, d, "response_submitted", 1)) == 1
    assert len(entries_for(world.svc, d, "step_decided", 1)) == 1
    assert [e.action for e in audit_actions(world.svc, d)].count("end_reached") == 1
    assert Counter(emails(world.svc, "end_reached")) == {"manager@gc.example": 1, "creator@gc.example": 1}
    assert chain_breaks(world.svc) == []


@pytest.mark.rule("RESP-2", "RESP-5")
def test_an_answer_to_an_occurrence_closed_by_an_end_is_refused_as_stale(race_world: WorldBuilder) -> None:
    """RESP-2/RESP-5: a loser's code must not depend on where the winner's answer routed."""
    world = race_world(reviewers=2, panel=1)
    moved_on, ended = world.disbursement(), world.disbursement()
    instances.respond(world.svc, world.reviewers[0], world.company, moved_on, occurrence=1, answer="Approve")
    instances.respond(world.svc, world.reviewers[0], world.company, ended, occurrence=1, answer="Reject")
    assert _late_answer_code(world, moved_on, world.reviewers[1]) == "stale"
    assert _late_answer_code(world, ended, world.reviewers[1]) == "stale"


@pytest.mark.rule("STEP-4", "RESP-8")
def test_every_concurrent_approval_of_an_all_step_is_recorded_and_it_decides_once(race_world: WorldBuilder) -> None:
    """STEP-4: 8 panel members approving a `requires: all` step at once are all recorded;
    the step decides exactly once, on the last approval, and the instance ends Approved."""
    world = race_world(reviewers=1, panel=8)
    d = world.disbursement()
    instances.respond(world.svc, world.reviewers[0], world.company, d, occurrence=1, answer="Approve")
    assert current(world.svc, world, d).current_step == "Panel Review"

    outcomes = race(world, [Racer(f"p{i}", _respond(u, world, d, 2, "Approve"))
                            for i, u in enumerate(world.panel)])

    assert unexpected(outcomes, set()) == []  # nobody is refused
    rows = response_rows(world.svc, _instance(world, d), 2)
    assert sorted(r.user for r in rows) == sorted(world.panel)
    assert {r.answer for r in rows} == {"Approve"}
    submitted = entries_for(world.svc, d, "response_submitted", 2)
    assert sorted(e.actor_id for e in submitted) == sorted(world.panel)
    decided = entries_for(world.svc, d, "step_decided", 2)
    assert len(decided) == 1 and decided[0].details["decision"] == "Approve"
    # decided by the last response recorded, in the same transaction
    assert decided[0].actor_id == submitted[-1].actor_id and decided[0].seq == submitted[-1].seq + 1
    view = current(world.svc, world, d)
    assert (view.status, view.workflow_status) == ("ended", "Approved")
    assert view.path == ("Any Review", "Panel Review", "Approved")
    assert len([e for e in _entries(world, d) if e.action == "end_reached"]) == 1
    assert Counter(emails(world.svc, "end_reached"))["creator@gc.example"] == 1
    assert chain_breaks(world.svc) == []


@pytest.mark.rule("STEP-4", "RESP-5")
def test_one_other_answer_racing_approvals_of_an_all_step_decides_once(race_world: WorldBuilder) -> None:
    """STEP-4/RESP-5: one non-Approve answer (Return) among 8 concurrent answers decides the
    `all` step at once; approvals that arrive after it are refused as `stale` (RESP-2);
    every accepted response is recorded exactly once, and the loop back opens a new occurrence."""
    world = race_world(reviewers=1, panel=8)
    d = world.disbursement()
    instances.respond(world.svc, world.reviewers[0], world.company, d, occurrence=1, answer="Approve")
    rejecter = 3
    outcomes = race(world, [Racer(f"p{i}", _respond(u, world, d, 2, "Return" if i == rejecter else "Approve"))
                            for i, u in enumerate(world.panel)])

    assert unexpected(outcomes, {"stale"}) == []
    assert outcomes[rejecter].ok  # nothing can close the step before the rejecter answers
    accepted = sorted(world.panel[i] for i, o in enumerate(outcomes) if o.ok)
    rows = response_rows(world.svc, _instance(world, d), 2)
    assert sorted(r.user for r in rows) == accepted
    submitted = entries_for(world.svc, d, "response_submitted", 2)
    assert sorted(e.actor_id for e in submitted) == accepted
    assert submitted[-1].actor_id == world.panel[rejecter]  # nothing recorded after the decision
    decided = entries_for(world.svc, d, "step_decided", 2)
    assert [(e.actor_id, e.details["decision"]) for e in decided] == [(world.panel[rejecter], "Return")]
    view = current(world.svc, world, d)
    assert (view.status, view.workflow_status) == ("active", "Under Review")
    assert (view.path, view.current_occurrence) == (("Any Review", "Panel Review", "Any Review"), 3)
    assert len(entries_for(world.svc, d, "step_entered", 3)) == 1
    assert chain_breaks(world.svc) == []


@pytest.mark.rule("GEN-7", "AUTH-13")
@pytest.mark.parametrize("answer", ["Approve", "Reject"])
def test_cancel_racing_a_response_is_serialised(race_world: WorldBuilder, answer: str) -> None:
    """GEN-7/AUTH-13/RESP-8: a cancel and a response sent at once apply in one order or the
    other, never interleaved: either the response is recorded (and routed) before the cancel,
    or it is refused because the disbursement is canceled. The cancel always succeeds
    (it is allowed Under Review, Approved and Rejected), and the chain verifies."""
    world = race_world(reviewers=1, panel=1)
    orders: Counter[str] = Counter()
    for _ in range(8):
        d = world.disbursement()
        outcomes = race(world, [
            Racer("cancel", lambda svc, d=d: disbursements.cancel(svc, world.creator, world.company, d,
                                                                   reason="duplicate payment run")),
            Racer("respond", _respond(world.reviewers[0], world, d, 1, answer)),
        ])
        cancel, respond = outcomes
        assert unexpected(outcomes, {"disbursement_canceled"}) == []
        assert cancel.ok
        actions = [e.action for e in _entries(world, d)]
        view = current(world.svc, world, d)
        assert view.workflow_status == "Canceled"
        assert view.awaited == () or view.status != "active"
        assert view.status in ("terminated", "ended")
        if respond.ok:
            orders["respond first"] += 1
            assert actions.index("response_submitted") < actions.index("disbursement_canceled")
            assert len(response_rows(world.svc, _instance(world, d), 1)) == 1
        else:
            orders["cancel first"] += 1
            assert "response_submitted" not in actions
            assert response_rows(world.svc, _instance(world, d), 1) == []
            assert view.path == ("Any Review",) and view.status == "terminated"
        assert actions.count("disbursement_canceled") == 1
        assert chain_breaks(world.svc) == []
    assert sum(orders.values()) == 8


# ---------------------------------------------------------------- helpers


def _entries(world, d: str):
    return audit_actions(world.svc, d)


def _late_answer_code(world, d: str, user: str) -> str | None:
    """The refusal an answer to occurrence 1 gets once the race is over."""
    from engine.errors import DomainError

    try:
        instances.respond(world.svc, user, world.company, d, occurrence=1, answer="Reject")
    except DomainError as exc:
        return exc.code
    return None


def _instance(world, d: str) -> str:
    return current(world.svc, world, d).instance_id
