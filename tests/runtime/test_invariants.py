"""A stored workflow the runtime cannot run is an internal fault, not the client's refusal.

Every published workflow passed the checks (WF-5), so a step routing to a
missing step or condition steps routing to each other in a loop means a
broken invariant: :class:`engine.errors.InvariantBroken`, never a
:class:`DomainError` the HTTP layer would show the client as their mistake.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

import pytest

from engine.errors import DomainError, InvariantBroken
from engine.runtime import instance
from engine.spec.compiler import CompiledWorkflow, compile_workflow
from engine.spec.model import ConditionStep, EndStep, Party, Step, WorkflowConfig


def _ctx() -> instance.Context:
    return instance.Context(now=datetime(2026, 3, 2, 9, tzinfo=timezone.utc),
                           snapshot=instance.Snapshot(manager="manager"), eligible=frozenset(), facts={})


def _unchecked(*steps: Step, start: str) -> CompiledWorkflow:
    """Compiled without the checks (``checked=()``): what a corrupted stored version looks like."""
    return compile_workflow(WorkflowConfig(name="Broken", manager=Party(kind="role", name="Manager"),
                                           start=start, steps=tuple(steps)), checked=())


@pytest.mark.rule("WF-5")
def test_a_stored_workflow_that_loops_through_conditions_is_an_internal_fault() -> None:
    compiled = _unchecked(ConditionStep(kind="condition", name="A", otherwise="B"),
                          ConditionStep(kind="condition", name="B", otherwise="A"),
                          EndStep(kind="end", name="Done", outcome="success", status="Approved"), start="A")
    with pytest.raises(InvariantBroken, match="loop") as e:
        instance.start(compiled, _ctx())
    assert not isinstance(e.value, DomainError) and isinstance(e.value, RuntimeError)


@pytest.mark.rule("WF-5")
def test_a_stored_workflow_routing_to_a_missing_step_is_an_internal_fault() -> None:
    compiled = _unchecked(EndStep(kind="end", name="Done", outcome="success", status="Approved"), start="Done")
    compiled = replace(compiled, config=replace(compiled.config, start="Nowhere"))
    with pytest.raises(InvariantBroken, match="no step `Nowhere`") as e:
        instance.start(compiled, _ctx())
    assert not isinstance(e.value, DomainError)


@pytest.mark.rule("WF-5")
def test_a_stored_workflow_without_a_start_is_an_internal_fault() -> None:
    compiled = _unchecked(EndStep(kind="end", name="Done", outcome="success", status="Approved"), start="Done")
    compiled = replace(compiled, config=replace(compiled.config, start=None))
    with pytest.raises(InvariantBroken, match="does not say which step it starts at") as e:
        instance.start(compiled, _ctx())
    assert not isinstance(e.value, DomainError)
