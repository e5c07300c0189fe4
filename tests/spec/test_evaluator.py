"""Routing whole workflows: answers, ends, stops, and totality (COND-1, STEP-3, STEP-4, ROLL-6)."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from engine.spec.compiler import WorkflowCompileError, compile_workflow
from engine.spec.evaluator import Router, UnknownStepError, decide, evaluate
from engine.spec.export import content_hash
from tests.payroute_docs import compile_text, reference_text

BIG = {"disbursement_amount": Decimal("120000.00")}


def test_reference_route_with_every_answer_approve(reference) -> None:
    route = evaluate(reference, BIG)
    assert route.path == ("Controller Review", "> $100,000.00", "CFO Review", "Approved")
    assert (route.end, route.outcome, route.stopped) == ("Approved", "success", None)
    kinds = [v.kind for v in route.visits]
    assert kinds == ["response", "condition", "response", "end"]
    assert route.visits[1].condition is not None
    assert route.visits[1].condition.deciding == "disbursement_amount $120,000.00 > $100,000.00: true → CFO Review"


@pytest.mark.rule("STEP-3", "STEP-6")
def test_an_answer_for_one_step_routes_that_step(reference) -> None:
    """STEP-3/STEP-6: the answer given decides the step's route."""
    route = evaluate(reference, BIG, {"CFO Review": "Reject"})
    assert route.path[-2:] == ("CFO Review", "Rejected")
    assert (route.end, route.outcome) == ("Rejected", "failure")
    assert evaluate(reference, BIG, default_answer="Reject").path == ("Controller Review", "Rejected")


def test_an_answer_the_step_does_not_offer_stops_the_route(reference) -> None:
    route = evaluate(reference, BIG, default_answer="Return")
    assert route.end is None and route.outcome is None
    assert route.path == ("Controller Review",)
    assert route.stopped == 'step "Controller Review" does not offer the answer "Return" (it offers "Approve", "Reject")'


LOOP = '''workflow "Loop" {
    manager: role "Workflow Manager"
    start: "Review"
    response "Review" {
        assignees: role "Controller"
        on "Approve" -> "Done"
        on "Return" -> "Rework"
    }
    response "Rework" {
        assignees: role "Vendor"
        on "Resubmit" -> "Review"
        on "Approve" -> "Done"
    }
    end "Done" success { status: "Approved" }
}
'''


def test_a_route_that_comes_back_to_a_step_stops_instead_of_looping() -> None:
    """Facts and answers are fixed, so coming back means repeating for ever."""
    compiled = compile_text(LOOP)
    route = evaluate(compiled, {}, {"Review": "Return", "Rework": "Resubmit"})
    assert route.path == ("Review", "Rework")
    assert route.end is None and "comes back to \"Review\"" in (route.stopped or "")
    assert evaluate(compiled, {}, {"Review": "Return"}).end == "Done"


ALL = '''workflow "All" {
    manager: role "Workflow Manager"
    start: "Executives"
    response "Executives" {
        assignees: role "CFO", role "CEO"
        requires: all
        due: 3 business days
        on "Approve" -> "Approved"
        on "Reject" -> "Rejected"
    }
    end "Approved" success { status: "Approved" }
    end "Rejected" failure { status: "Rejected" }
}
'''


@pytest.mark.rule("STEP-4")
def test_requires_all_follows_the_answer_every_assignee_gives() -> None:
    """STEP-4: all approve → Approve route; all reject → Reject route."""
    compiled = compile_text(ALL)
    approved = evaluate(compiled, {})
    assert approved.end == "Approved" and approved.visits[0].requires == "all"
    assert approved.visits[0].lines() == ["Executives: Approve (every assignee) → Approved"]
    assert evaluate(compiled, {}, {"Executives": "Reject"}).end == "Rejected"


@pytest.mark.rule("COND-1")
def test_decide_one_condition_step(reference) -> None:
    """COND-1: decided at once from the facts."""
    assert decide(reference, "> $100,000.00", BIG).target == "CFO Review"
    with pytest.raises(UnknownStepError, match="a response step"):
        decide(reference, "CFO Review", BIG)
    with pytest.raises(UnknownStepError, match="no step"):
        decide(reference, "Nope", BIG)


@pytest.mark.rule("ROLL-6")
def test_evaluation_changes_nothing(reference) -> None:
    """ROLL-6: the facts, the answers and the compiled workflow are only read."""
    facts, answers = dict(BIG), {"CFO Review": "Reject"}
    before = (copy.deepcopy(facts), dict(answers), reference.steps, dict(reference.index))
    first = evaluate(reference, facts, answers)
    assert evaluate(reference, facts, answers) == first
    assert (facts, answers, reference.steps, dict(reference.index)) == before


def test_router_walks_the_same_path_as_evaluate(reference) -> None:
    router = Router(reference, {"CFO Review": "Reject"})
    for amount in ("1.00", "100000.00", "100000.01"):
        facts = {"disbursement_amount": Decimal(amount)}
        route = evaluate(reference, facts, {"CFO Review": "Reject"})
        names, end, outcome = router.summary(router(facts))
        assert (tuple(names), end, outcome) == (route.path, route.end, route.outcome)


@pytest.mark.rule("WF-5")
def test_a_workflow_with_errors_is_not_compiled() -> None:
    """WF-5: only a clean workflow runs; the error carries located diagnostics."""
    from dsl.load import load_workflow

    loaded = load_workflow(reference_text().replace('-> "CFO Review"', '-> "CFO Reveiw"'), "typo.flow")
    assert loaded.config is not None
    with pytest.raises(WorkflowCompileError) as info:
        compile_workflow(loaded.config)
    assert [d.code for d in info.value.errors] == ["name_unknown_step"]
    assert info.value.errors[0].path is not None


def test_the_compiler_guards_what_it_cannot_build_even_without_checks() -> None:
    """An unknown target never compiles, whatever the checks said."""
    from dsl.load import load_workflow

    loaded = load_workflow(reference_text().replace('-> "CFO Review"', '-> "CFO Reveiw"'), "typo.flow")
    with pytest.raises(WorkflowCompileError) as info:
        compile_workflow(loaded.config, checked=[])
    assert [(d.code, d.path) for d in info.value.errors] == [
        ("name_unknown_step", ("steps", 1, "branches", 0, "target"))]


@pytest.mark.rule("WF-4")
def test_compiled_workflow_is_immutable_and_carries_the_content_hash(reference) -> None:
    """WF-4: the hash of the canonical compiled JSON; nothing can be reassigned."""
    assert reference.content_hash == content_hash(reference.config)
    with pytest.raises(AttributeError):
        reference.start = 0  # type: ignore[misc]
    with pytest.raises(TypeError):
        reference.index["x"] = 1  # type: ignore[index]
    assert reference.facts_used == frozenset({"disbursement_amount"})


def test_one_compiled_workflow_serves_many_threads(reference) -> None:
    from concurrent.futures import ThreadPoolExecutor

    amounts = [Decimal(n).scaleb(-2) for n in range(9_999_900, 10_000_100)]

    def route(amount: Decimal) -> tuple[str, ...]:
        return evaluate(reference, {"disbursement_amount": amount}).path

    with ThreadPoolExecutor(4) as pool:
        paths = list(pool.map(route, amounts))
    assert paths == [route(a) for a in amounts]
    assert paths.count(("Controller Review", "> $100,000.00", "CFO Review", "Approved")) == 99


def test_the_compiler_refuses_a_date_that_does_not_exist_even_without_checks() -> None:
    from engine.spec.model import Branch, Compare, ConditionStep, DateLit, EndStep, FactRef, Party, WorkflowConfig

    when = Compare(op=">=", left=FactRef(fact="project.start_date"), right=DateLit(date="2024-02-30"))
    config = WorkflowConfig(name="Dates", manager=Party(kind="role", name="M"), start="C", steps=(
        ConditionStep(kind="condition", name="C", branches=(Branch(when=when, target="E"),), otherwise="E"),
        EndStep(kind="end", name="E", outcome="success"),
    ))
    with pytest.raises(WorkflowCompileError) as info:
        compile_workflow(config, checked=[])
    assert [(d.code, d.path) for d in info.value.errors] == [
        ("literal_invalid", ("steps", 0, "branches", 0, "when", "right"))]
