"""Name checks: step names are unique and every reference resolves; facts exist.

A misspelled name is the most common mistake in a hand-edited workflow, so
every unknown name gets a "did you mean" hint from the names that do exist.
The graph checks (:mod:`.graph`) rely on this module having reported unknown
targets: they never report a problem that only exists because of one.
"""

from __future__ import annotations

from typing import Iterable

from engine.diagnostics import Diagnostic, did_you_mean, make
from engine.spec.checks.expressions import condition_expressions, walk
from engine.spec.facts import FACTS, PROJECT_FIELDS, PROJECT_PREFIX, fact_type, known_fact_names
from engine.spec.model import ConditionStep, EndStep, FactRef, ResponseStep, WorkflowConfig, step_targets

_KIND_WORDS = {ResponseStep: "a response step", ConditionStep: "a condition step", EndStep: "an end step"}


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def name_duplicate_step(config: WorkflowConfig) -> Iterable[Diagnostic]:
    """Every later step that reuses a name (`->` could not tell them apart)."""
    first: dict[str, int] = {}
    for i, step in enumerate(config.steps):
        if step.name not in first:
            first[step.name] = i
            continue
        j = first[step.name]
        earlier = config.steps[j]
        yield make(
            "name_duplicate_step",
            f"step name `{step.name}` is already used",
            path=("steps", i, "name"),
            hint=f"the {_ordinal(j + 1)} step, {_KIND_WORDS[type(earlier)]}, is also named "
                 f"`{step.name}`; `->` finds steps by name, so rename one of them",
        )


def _unknown_step_hint(name: str, config: WorkflowConfig) -> str:
    names = list(dict.fromkeys(s.name for s in config.steps))
    close = did_you_mean(name, names)
    if close:
        return close
    if not names:
        return "this workflow has no steps yet"
    if len(names) <= 6:
        return "the steps are " + ", ".join(f"`{n}`" for n in names)
    return "no step has this name; names must match exactly, including capitals and spaces"


def name_unknown_step(config: WorkflowConfig) -> Iterable[Diagnostic]:
    """`start:` and every `on`, `when` and `otherwise` target must name a step."""
    known = {s.name for s in config.steps}
    if config.start is not None and config.start not in known:
        yield make("name_unknown_step", f"unknown step `{config.start}`", path=("start",),
                   hint=_unknown_step_hint(config.start, config))
    for i, step in enumerate(config.steps):
        for rel, target in step_targets(step):
            if target not in known:
                yield make("name_unknown_step", f"unknown step `{target}`", path=("steps", i) + rel,
                           hint=_unknown_step_hint(target, config))


def _project_field(name: str) -> str | None:
    if name.startswith(PROJECT_PREFIX) and len(name) > len(PROJECT_PREFIX):
        return name[len(PROJECT_PREFIX):]
    return None


def name_unknown_fact(config: WorkflowConfig) -> Iterable[Diagnostic]:
    for _i, _k, expr, path in condition_expressions(config):
        for node, npath in walk(expr, path):
            if isinstance(node, FactRef) and fact_type(node.fact) is None:
                hint = did_you_mean(node.fact, known_fact_names())
                if hint is None:
                    hint = "the facts are " + ", ".join(f"`{f}`" for f in FACTS) + \
                           " and `project.<field>` (see the fact table in LANGUAGE.md)"
                yield make("name_unknown_fact", f"unknown fact `{node.fact}`", path=npath, hint=hint)


def name_unknown_project_field(config: WorkflowConfig) -> Iterable[Diagnostic]:
    """A warning, not an error: projects may carry fields payroute does not document,
    but a field one letter away from a documented one is almost always a typo."""
    for _i, _k, expr, path in condition_expressions(config):
        for node, npath in walk(expr, path):
            if not isinstance(node, FactRef):
                continue
            field = _project_field(node.fact)
            if field is None or field in PROJECT_FIELDS:
                continue
            close = did_you_mean(field, PROJECT_FIELDS)
            if close is None:
                continue
            suggestion = close.replace("`", f"`{PROJECT_PREFIX}", 1)
            yield make(
                "name_unknown_project_field",
                f"`{node.fact}` is not a documented project field",
                path=npath,
                hint=f"{suggestion} (an undocumented field is read as a string, "
                     "empty when the project has no such field)",
            )


CHECKS = (
    name_duplicate_step,
    name_unknown_step,
    name_unknown_fact,
    name_unknown_project_field,
)
