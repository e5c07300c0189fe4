"""WorkflowConfig → CompiledWorkflow: a step table and condition closures over ``Decimal``.

Compile once, evaluate many (DESIGN.md): a :class:`CompiledWorkflow` is
immutable (frozen dataclasses, tuples, read-only mappings, closures over
constants), so one instance serves every request and thread.

Conditions become Python closures built from the structured expression tree
— never ``exec``/``eval``, never a string parsed again. Each reads facts with
``facts.get(name)``; a missing or ``None`` fact is *empty*, and a comparison
or ``in`` reading an empty fact is *unknown* (``None``). ``not``, ``and``,
``or`` follow three-valued (Kleene) logic, and a ``when`` line is taken only
when its expression is ``True`` (COND-2..COND-4).

Only a workflow without check errors is compiled (WF-5): the compiler runs
:func:`engine.spec.checks.run_checks` and refuses with :class:`WorkflowCompileError`.
It also keeps its own guard on what it cannot compile (a name that is not a
step, a type it cannot compare), so nothing unsound is ever built even if a
check is missing.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Callable, Literal, Mapping, Sequence

from engine.money import format_money
from engine.spec.expression_text import Piece, expression_pieces
from engine.spec.facts import Facts, FactValue, fact_type
from engine.spec.model import (
    Compare,
    ConditionStep,
    DateLit,
    EndStep,
    FactRef,
    InList,
    IntLit,
    Logical,
    MoneyLit,
    Not,
    ResponseStep,
    StringLit,
    WorkflowConfig,
)

if TYPE_CHECKING:
    from engine.diagnostics import Diagnostic

__all__ = [
    "Truth",
    "Test",
    "CompiledExpr",
    "CompiledBranch",
    "CompiledResponse",
    "CompiledCondition",
    "CompiledEnd",
    "CompiledWorkflow",
    "WorkflowCompileError",
    "compile_workflow",
    "compile_expression",
    "value_text",
]

#: True, False, or None for unknown (COND-4).
Truth = bool | None
Test = Callable[[Facts], Truth]
Path = tuple[object, ...]


class WorkflowCompileError(Exception):
    """A workflow with errors is never compiled (WF-5).

    ``diagnostics`` holds every check result (errors and warnings), located by
    model path; a front end locates them in its source and renders them.
    """

    def __init__(self, diagnostics: Sequence["Diagnostic"]) -> None:
        self.diagnostics: list[Diagnostic] = list(diagnostics)
        errors = self.errors
        first = errors[0].message if errors else "unknown problem"
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"the workflow has errors: {first}{more}")

    @property
    def errors(self) -> list["Diagnostic"]:
        return [d for d in self.diagnostics if d.is_error]


class _Refused(Exception):
    """Internal: a construct the compiler cannot build; becomes one diagnostic."""

    def __init__(self, code: str, message: str, path: Path) -> None:
        super().__init__(message)
        self.code, self.message, self.path = code, message, path


# ---------------------------------------------------------------- values as text (COND-13)


def value_text(value: object) -> str:
    """How a fact or literal value is written in an explanation: ``$120,000.00``, ``"Denver"``, ``empty``."""
    if value is None:
        return "empty"
    if isinstance(value, Decimal):
        return format_money(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def truth_word(value: Truth) -> str:
    return "unknown" if value is None else "true" if value else "false"


# ---------------------------------------------------------------- expressions

# Any: both sides are of one fact type (the compiler refuses a mixed comparison), a pairing
# no static type of the operator functions can express.
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt,
    "<=": operator.le, "==": operator.eq, "!=": operator.ne,
}
#: A compiled sub-expression: its test and the facts it reads.
_Part = tuple[Test, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class CompiledExpr:
    """One compiled ``when`` expression: its test, the facts it reads, and its explanation.

    ``pieces`` is the text ``payroute fmt`` writes, printed once at compile
    time by the one printer (:mod:`engine.spec.expression_text`) with each fact
    left as a slot, so a reason quotes the line as the file has it.
    """

    test: Test
    facts: tuple[str, ...]
    pieces: tuple[Piece, ...]

    def explain(self, facts: Facts) -> str:
        """The expression with each fact's value after its name (COND-13)."""
        return "".join(p if isinstance(p, str) else _fact_text(p.fact, facts) for p in self.pieces)


def _fact_text(name: str, facts: Facts) -> str:
    value = facts.get(name)
    return f"{name} (empty)" if value is None else f"{name} {value_text(value)}"


@dataclass(frozen=True, slots=True)
class _Operand:
    fact: str | None  # None for a literal
    value: FactValue  # the literal's value
    type: str


def _operand(node: object, path: Path) -> _Operand:
    if isinstance(node, FactRef):
        kind = fact_type(node.fact)
        if kind is None:
            raise _Refused("name_unknown_fact", f"unknown fact `{node.fact}`", path)
        return _Operand(node.fact, None, kind)
    if isinstance(node, MoneyLit):
        digits = node.money
        whole, _, frac = digits.partition(".")
        if not whole.isdigit() or (frac and not frac.isdigit()) or not whole.isascii():
            raise _Refused("literal_invalid", f"`{digits}` is not a money amount", path)
        if len(frac) > 2:
            raise _Refused("money_precision", f"`${digits}` has more than two decimals", path)
        return _Operand(None, Decimal(digits), "money")
    if isinstance(node, IntLit):
        return _Operand(None, node.integer, "integer")
    if isinstance(node, StringLit):
        return _Operand(None, node.string, "string")
    if isinstance(node, DateLit):
        try:
            value = date.fromisoformat(node.date)
        except (TypeError, ValueError):
            raise _Refused("literal_invalid", f"`{node.date}` is not a calendar date", path) from None
        return _Operand(None, value, "date")
    raise _Refused("type_mismatch", "a `when` line needs a comparison here, not a sub-expression", path)


def _compare(expr: Compare, path: Path) -> _Part:
    left, right = _operand(expr.left, path + ("left",)), _operand(expr.right, path + ("right",))
    if left.type != right.type:
        raise _Refused("type_mismatch", f"cannot compare {left.type} with {right.type}", path)
    if left.type == "string" and expr.op not in ("==", "!="):
        raise _Refused("type_invalid_operator", f"`{expr.op}` does not apply to text; use == or !=", path)
    op = _OPS[expr.op]
    test: Test
    if left.fact is not None and right.fact is None:
        lname, lit = left.fact, right.value

        def test(facts: Facts) -> Truth:
            v = facts.get(lname)
            return None if v is None else op(v, lit)
    elif left.fact is None and right.fact is not None:
        rname, lit = right.fact, left.value

        def test(facts: Facts) -> Truth:
            v = facts.get(rname)
            return None if v is None else op(lit, v)
    elif left.fact is not None and right.fact is not None:
        lname, rname = left.fact, right.fact

        def test(facts: Facts) -> Truth:
            a, b = facts.get(lname), facts.get(rname)
            return None if a is None or b is None else op(a, b)
    else:
        constant: Truth = op(left.value, right.value)

        def test(facts: Facts) -> Truth:
            return constant
    used = tuple(dict.fromkeys(o.fact for o in (left, right) if o.fact is not None))
    return test, used


def _in_list(expr: InList, path: Path) -> _Part:
    left = _operand(expr.left, path + ("left",))
    if left.type != "string":
        raise _Refused("type_invalid_operator", f"`in [...]` compares text, not {left.type}", path)
    values = frozenset(expr.right.list)
    if left.fact is None:
        constant = left.value in values

        def test(facts: Facts) -> Truth:
            return constant
    else:
        name = left.fact

        def test(facts: Facts) -> Truth:
            v = facts.get(name)
            return None if v is None else v in values
    used = (left.fact,) if left.fact is not None else ()
    return test, used


def _logical(expr: Logical, path: Path) -> _Part:
    if len(expr.args) < 2:
        raise _Refused("type_mismatch", f"`{expr.op}` needs two or more operands", path)
    parts = tuple(_compile(a, path + ("args", i)) for i, a in enumerate(expr.args))
    tests = tuple(t for t, _ in parts)
    # Kleene logic (COND-4): the value that decides at once is False for `and`
    # (false and unknown = false) and True for `or` (true or unknown = true).
    decisive = expr.op == "or"
    undecided = not decisive

    def test(facts: Facts) -> Truth:
        unknown = False
        for t in tests:
            r = t(facts)
            if r is decisive:
                return decisive
            if r is None:
                unknown = True
        return None if unknown else undecided
    used = tuple(dict.fromkeys(f for _, facts in parts for f in facts))
    return test, used


def _not(expr: Not, path: Path) -> _Part:
    inner_test, used = _compile(expr.arg, path + ("arg",))

    def test(facts: Facts) -> Truth:
        r = inner_test(facts)
        return None if r is None else not r  # not unknown = unknown
    return test, used


def compile_expression(expr: object, path: Path = ()) -> CompiledExpr:
    """Compile one ``when`` expression tree (raises the internal refusal on nonsense)."""
    test, used = _compile(expr, path)
    return CompiledExpr(test, used, tuple(expression_pieces(expr)))


def _compile(expr: object, path: Path) -> _Part:
    if isinstance(expr, Compare):
        return _compare(expr, path)
    if isinstance(expr, InList):
        return _in_list(expr, path)
    if isinstance(expr, Logical):
        return _logical(expr, path)
    if isinstance(expr, Not):
        return _not(expr, path)
    raise _Refused("type_mismatch",
                   "a `when` line needs a comparison such as `disbursement_amount > $100,000.00`", path)


# ---------------------------------------------------------------- steps


@dataclass(frozen=True, slots=True)
class CompiledResponse:
    """A response step: who answers is the runtime's business; here, where each answer leads."""

    name: str
    index: int
    requires: Literal["any", "all"]
    offered: tuple[str, ...]
    targets: Mapping[str, int]  # answer → step index
    kind: Literal["response"] = "response"


@dataclass(frozen=True, slots=True)
class CompiledBranch:
    index: int
    expr: CompiledExpr
    target: str
    target_index: int


@dataclass(frozen=True, slots=True)
class CompiledCondition:
    """A condition step: ``route(facts)`` gives the next step's index (COND-2, COND-3)."""

    name: str
    index: int
    branches: tuple[CompiledBranch, ...]
    otherwise: str
    otherwise_index: int
    route: Callable[[Facts], int]
    facts: tuple[str, ...]
    kind: Literal["condition"] = "condition"


@dataclass(frozen=True, slots=True)
class CompiledEnd:
    name: str
    index: int
    outcome: Literal["success", "failure"]
    status: str | None
    kind: Literal["end"] = "end"


CompiledStep = CompiledResponse | CompiledCondition | CompiledEnd


def _router(branches: tuple[CompiledBranch, ...], otherwise: int) -> Callable[[Facts], int]:
    """First branch whose test is exactly True wins, else ``otherwise`` (COND-2, COND-4)."""
    if len(branches) == 1:
        only, target = branches[0].expr.test, branches[0].target_index
        return lambda facts: target if only(facts) is True else otherwise
    pairs = tuple((b.expr.test, b.target_index) for b in branches)

    def route(facts: Facts) -> int:
        for test, target in pairs:
            if test(facts) is True:
                return target
        return otherwise
    return route


@dataclass(frozen=True, eq=False)
class CompiledWorkflow:
    """An immutable, thread-shareable compiled workflow.

    ``steps`` is the step table, indexed by position; ``index`` maps names to
    positions; ``facts_used`` names every fact a condition reads, so callers
    compute only those.
    """

    config: WorkflowConfig
    steps: tuple[CompiledStep, ...]
    index: Mapping[str, int]
    start: int
    facts_used: frozenset[str]
    diagnostics: tuple["Diagnostic", ...] = field(default=())

    @property
    def name(self) -> str:
        return self.config.name

    @cached_property
    def content_hash(self) -> str:
        """``sha256:<hex>`` of the canonical compiled JSON (WF-4), as :func:`engine.spec.export.content_hash`."""
        from engine.spec.export import content_hash

        return content_hash(self.config)

    def step(self, name: str) -> CompiledStep:
        """The compiled step called ``name`` (``KeyError`` when there is none)."""
        return self.steps[self.index[name]]


def _resolver(index: Mapping[str, int]) -> Callable[[str | None, Path], int]:
    def resolve(name: str | None, path: Path) -> int:
        if name is None or name not in index:
            raise _Refused("name_unknown_step", f"unknown step `{name}`", path)
        return index[name]
    return resolve


def _compile_steps(config: WorkflowConfig, diagnostics: tuple["Diagnostic", ...]) -> CompiledWorkflow:
    index: dict[str, int] = {}
    for i, step in enumerate(config.steps):
        if step.name in index:
            raise _Refused("name_duplicate_step", f"two steps are called `{step.name}`", ("steps", i, "name"))
        index[step.name] = i
    resolve = _resolver(index)
    if config.start is None:
        raise _Refused("workflow_missing_start", "the workflow does not say which step it starts at", ())
    start = resolve(config.start, ("start",))
    steps: list[CompiledStep] = []
    used: dict[str, None] = {}
    for i, step in enumerate(config.steps):
        at: Path = ("steps", i)
        if isinstance(step, ResponseStep):
            targets: dict[str, int] = {}
            for k, ans in enumerate(step.answers):
                if ans.response in targets:
                    raise _Refused("response_duplicate_answer",
                                   f"`{step.name}` offers `{ans.response}` twice", at + ("answers", k))
                targets[ans.response] = resolve(ans.target, at + ("answers", k, "target"))
            steps.append(CompiledResponse(step.name, i, step.requires, tuple(targets),
                                          MappingProxyType(targets)))
        elif isinstance(step, ConditionStep):
            if step.otherwise is None:
                raise _Refused("condition_missing_otherwise", f"`{step.name}` has no `otherwise` route", at)
            branches = tuple(
                CompiledBranch(k, compile_expression(b.when, at + ("branches", k, "when")), b.target,
                               resolve(b.target, at + ("branches", k, "target")))
                for k, b in enumerate(step.branches)
            )
            other = resolve(step.otherwise, at + ("otherwise",))
            facts = tuple(dict.fromkeys(f for b in branches for f in b.expr.facts))
            used.update(dict.fromkeys(facts))
            steps.append(CompiledCondition(step.name, i, branches, step.otherwise, other,
                                           _router(branches, other), facts))
        elif isinstance(step, EndStep):
            steps.append(CompiledEnd(step.name, i, step.outcome, step.status))
        else:  # pragma: no cover - the model has exactly three kinds
            raise _Refused("schema_violation", "unknown kind of step", at)
    return CompiledWorkflow(config, tuple(steps), MappingProxyType(index), start, frozenset(used), diagnostics)


def compile_workflow(config: WorkflowConfig, *, checked: Sequence["Diagnostic"] | None = None) -> CompiledWorkflow:
    """Compile ``config``, refusing it with :class:`WorkflowCompileError` when it has errors.

    ``checked``: the diagnostics :func:`engine.spec.checks.run_checks` already gave
    for this very config (``dsl.load.load_workflow`` runs them), so they are
    not computed twice; by default the checks run here.
    """
    if checked is None:
        from engine.spec.checks import run_checks

        checked = run_checks(config)
    diagnostics = tuple(checked)
    if any(d.is_error for d in diagnostics):
        raise WorkflowCompileError(diagnostics)
    try:
        return _compile_steps(config, diagnostics)
    except _Refused as exc:
        from engine.diagnostics import make

        raise WorkflowCompileError([*diagnostics, make(exc.code, exc.message, path=exc.path)]) from None
