"""Checks of the workflow header and of each step's own settings.

These look at one step at a time: is a required setting there, are its
answers distinct, is its due period sensible. Routing between steps is
:mod:`.names` and :mod:`.graph`; conditions are :mod:`.types` and
:mod:`.branches`.
"""

from __future__ import annotations

from typing import Iterable

from engine.diagnostics import Diagnostic, did_you_mean, make
from engine.spec.model import ConditionStep, ResponseStep, WorkflowConfig

#: The tools a workflow may be written for.
SUPPORTED_TOOLS = ("payments",)

APPROVE = "Approve"


def workflow_missing_start(config: WorkflowConfig) -> Iterable[Diagnostic]:
    """A workflow must say where it begins; there is no implicit first step."""
    if config.start is not None:
        return
    first = next((s.name for s in config.steps), None)
    example = f'`start: "{first}"`' if first is not None else '`start: "STEP"`'
    yield make(
        "workflow_missing_start",
        f"workflow `{config.name}` does not say which step it starts at",
        path=(),
        hint=f"add {example} to the workflow header",
    )


def workflow_missing_manager(config: WorkflowConfig) -> Iterable[Diagnostic]:
    """WF-8: a Payments workflow without a manager can never be configured."""
    if config.manager is not None:
        return
    yield make(
        "workflow_missing_manager",
        f"workflow `{config.name}` has no workflow manager",
        path=(),
        hint='add `manager: role "Workflow Manager"` (or a `user` or `group`) to the workflow header',
    )


def workflow_unknown_tool(config: WorkflowConfig) -> Iterable[Diagnostic]:
    if config.tool in SUPPORTED_TOOLS:
        return
    hint = did_you_mean(config.tool, SUPPORTED_TOOLS) or "payroute supports `tool: payments`"
    yield make("workflow_unknown_tool", f"unknown tool `{config.tool}`", path=("tool",), hint=hint)


def field_missing(config: WorkflowConfig) -> Iterable[Diagnostic]:
    """A response step with nobody to answer it could never be decided (STEP-1, STEP-2)."""
    for i, step in enumerate(config.steps):
        if isinstance(step, ResponseStep) and not step.assignees:
            yield make(
                "field_missing",
                f"response step `{step.name}` has no `assignees:`",
                path=("steps", i, "name"),
                hint='add who answers it, such as `assignees: role "Controller"` '
                     "(one or more `role`, `user` or `group`)",
            )


def response_no_answers(config: WorkflowConfig) -> Iterable[Diagnostic]:
    for i, step in enumerate(config.steps):
        if isinstance(step, ResponseStep) and not step.answers:
            yield make(
                "response_no_answers",
                f"response step `{step.name}` offers no answers",
                path=("steps", i, "name"),
                hint='add one `on "ANSWER" -> "STEP"` line per allowed answer, '
                     'such as `on "Approve" -> "Approved"`',
            )


def response_duplicate_answer(config: WorkflowConfig) -> Iterable[Diagnostic]:
    """STEP-6: each response leads to exactly one next step."""
    for i, step in enumerate(config.steps):
        if not isinstance(step, ResponseStep):
            continue
        first: dict[str, int] = {}
        for j, answer in enumerate(step.answers):
            if answer.response not in first:
                first[answer.response] = j
                continue
            earlier = step.answers[first[answer.response]].target
            yield make(
                "response_duplicate_answer",
                f"answer `{answer.response}` is offered twice in step `{step.name}`",
                path=("steps", i, "answers", j, "response"),
                hint=f"each answer leads to exactly one step (STEP-6); the first "
                     f'`on "{answer.response}"` already goes to `{earlier}`, so remove one of them',
            )


def response_all_without_approve(config: WorkflowConfig) -> Iterable[Diagnostic]:
    """STEP-4: with `requires: all` the step passes only through `Approve`.

    A step with no answers at all is left to ``response_no_answers``.
    """
    for i, step in enumerate(config.steps):
        if not isinstance(step, ResponseStep) or step.requires != "all" or not step.answers:
            continue
        responses = [a.response for a in step.answers]
        if APPROVE in responses:
            continue
        close = _closest(APPROVE, responses)
        hint = (f"`{close}` is not `{APPROVE}`: answers are matched exactly, and `requires: all` "
                f"passes only when every assignee answers `{APPROVE}` (STEP-4)"
                if close else
                f'add `on "{APPROVE}" -> "STEP"`, or use `requires: any` (STEP-4)')
        yield make(
            "response_all_without_approve",
            f"step `{step.name}` requires every assignee to approve but offers no `{APPROVE}` answer",
            path=("steps", i, "requires"),
            hint=hint,
        )


def _closest(word: str, candidates: list[str]) -> str | None:
    import difflib

    lowered = {c.lower(): c for c in candidates}
    if word.lower() in lowered:
        return lowered[word.lower()]
    match = difflib.get_close_matches(word, candidates, n=1, cutoff=0.75)
    return match[0] if match else None


def condition_missing_otherwise(config: WorkflowConfig) -> Iterable[Diagnostic]:
    """COND-2, COND-3: `otherwise` is where a condition goes when nothing else holds."""
    for i, step in enumerate(config.steps):
        if isinstance(step, ConditionStep) and step.otherwise is None:
            yield make(
                "condition_missing_otherwise",
                f"condition step `{step.name}` has no `otherwise` route",
                path=("steps", i, "name"),
                hint='add `otherwise -> "STEP"`: it is taken when no `when` line is true '
                     "or a fact is empty (COND-2, COND-3)",
            )


def due_days_invalid(config: WorkflowConfig) -> Iterable[Diagnostic]:
    """STEP-8: N is a positive whole number (fractions are refused by the `.flow` front end)."""
    for i, step in enumerate(config.steps):
        if isinstance(step, ResponseStep) and step.due is not None and step.due.days <= 0:
            yield make(
                "due_days_invalid",
                f"a due period of `{step.due.days}` days is not positive" if step.due.days > -10 ** 15
                else "a negative due period is not positive",
                path=("steps", i, "due", "days"),
                hint="write a positive whole number of days, such as `5` (STEP-8)",
            )


def notify_listed_twice(config: WorkflowConfig) -> Iterable[Diagnostic]:
    """A recipient listed twice in `notify:` (the `.flow` front end reports it as it
    reads the line; a JSON config's list reaches the model as written)."""
    for i, step in enumerate(config.steps):
        seen: set[str] = set()
        for j, recipient in enumerate(getattr(step, "notify", None) or ()):
            if recipient in seen:
                yield make(
                    "field_duplicate", f"`{recipient}` is listed twice in `notify:`",
                    path=("steps", i, "notify", j), hint="list each recipient once",
                )
            seen.add(recipient)


CHECKS = (
    workflow_missing_start,
    workflow_missing_manager,
    workflow_unknown_tool,
    field_missing,
    response_no_answers,
    response_duplicate_answer,
    response_all_without_approve,
    condition_missing_otherwise,
    due_days_invalid,
    notify_listed_twice,
)
