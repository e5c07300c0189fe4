"""The typed workflow model: what a `.flow` file and a JSON config both become.

Every check, the compiler and the formatter read this model and nothing else,
so the two front ends get identical treatment. The model is deliberately
permissive about *values* that the checks judge (money precision, day counts,
unknown names): a model that refused them at construction would turn a
located, explained diagnostic into a bare validation error.

The classes are frozen standard-library dataclasses, not pydantic models:
``payroute check`` must start in well under 300 ms, and building ~20 pydantic
model classes at import costs ~100 ms on our machines. pydantic still
validates JSON configs into these very classes (``engine.spec.loader`` uses a
``TypeAdapter``, honouring ``__pydantic_config__`` below) and generates the
published JSON Schema from them; only the language path stays light.

Expressions are a structured tree (never a string to re-parse):
``{"op": ">", "left": {"fact": "disbursement_amount"}, "right": {"money": "100000.00"}}``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Mapping, Union

if TYPE_CHECKING:
    from pydantic import ConfigDict

FORMAT_VERSION = 1
SCHEMA_ID = "https://payroute.dev/schemas/workflow.schema.json"

ORDER_OPS = (">", ">=", "<", "<=")

# Read by pydantic when it validates these dataclasses (engine.spec.loader): unknown
# keys are refused, as the JSON Schema's additionalProperties: false says.
# The string under a field is its description in the published JSON Schema:
# engine/spec/published_schemas.py turns on pydantic's ``use_attribute_docstrings`` while
# it generates (reading them parses this file, ~100 ms, so loading a JSON
# config does not).
_STRICT: ConfigDict = {"extra": "forbid"}


# ---------------------------------------------------------------- expressions


@dataclass(frozen=True, slots=True)
class FactRef:
    """A fact read from the disbursement, such as ``disbursement_amount``."""

    fact: str
    """`disbursement_amount`, `highest_invoice_amount`, `highest_retainage_release`, `invoice_count` or `project.<field>`"""
    __pydantic_config__ = _STRICT


@dataclass(frozen=True, slots=True)
class MoneyLit:
    """Digits as written, without `$` or commas; precision is judged by a check."""

    money: str
    """US dollars as a decimal string without `$` or commas, such as "100000.00"; never a JSON number (GEN-2); more than two decimals is reported by `payroute check`"""
    __pydantic_config__ = _STRICT


@dataclass(frozen=True, slots=True)
class StringLit:
    """A text value, compared with `project.<field>` facts."""

    string: str
    __pydantic_config__ = _STRICT


@dataclass(frozen=True, slots=True)
class IntLit:
    """A whole number, compared with `invoice_count`."""

    integer: int
    __pydantic_config__ = _STRICT


@dataclass(frozen=True, slots=True)
class DateLit:
    """A calendar date, compared with date facts such as `project.start_date`."""

    date: str
    """ISO date: YYYY-MM-DD"""
    __pydantic_config__ = _STRICT


@dataclass(frozen=True, slots=True)
class ListLit:
    """The right-hand side of `in`."""

    list: tuple[str, ...]
    """the text values the fact may equal"""
    __pydantic_config__ = _STRICT


Operand = Union[FactRef, MoneyLit, StringLit, IntLit, DateLit]

#: The comparison operators (``in`` is :class:`InList`'s).
CompareOp = Literal[">", ">=", "<", "<=", "==", "!="]


@dataclass(frozen=True, slots=True)
class Compare:
    """`left op right`, such as `disbursement_amount > $100,000.00`."""

    op: CompareOp
    """the comparison; `>` and `>=` differ exactly at the boundary (COND-10)"""
    left: Operand
    right: Operand
    __pydantic_config__ = _STRICT


@dataclass(frozen=True, slots=True)
class InList:
    """`left in ["A", "B"]`: true when the value equals one of the listed texts."""

    op: Literal["in"]
    left: Operand
    right: ListLit
    __pydantic_config__ = _STRICT


@dataclass(frozen=True, slots=True)
class Logical:
    """`and` / `or` over two or more expressions (three-valued when a fact is empty, COND-4)."""

    op: Literal["and", "or"]
    args: tuple["Expr", ...]
    """the operands, at least two, in written order"""
    __pydantic_config__ = _STRICT


@dataclass(frozen=True, slots=True)
class Not:
    """`not arg` (unknown stays unknown, COND-4)."""

    op: Literal["not"]
    arg: "Expr"
    __pydantic_config__ = _STRICT


Expr = Union[Compare, InList, Logical, Not, FactRef, MoneyLit, StringLit, IntLit, DateLit]

# ---------------------------------------------------------------- steps

Recipient = Literal["assignees", "manager", "creator"]


@dataclass(frozen=True, slots=True)
class Party:
    """Who: a workflow role filled per company, a named user, or a group."""

    kind: Literal["role", "user", "group"]
    name: str
    """the role's or group's name, or the user's email"""
    __pydantic_config__ = _STRICT


@dataclass(frozen=True, slots=True)
class Due:
    """How long the assignees have to answer."""

    days: int
    """a positive whole number (checked by `payroute check`)"""
    unit: Literal["calendar", "business"]
    """business days skip weekends and the company's holidays"""
    __pydantic_config__ = _STRICT


@dataclass(frozen=True, slots=True)
class Answer:
    """One allowed answer of a response step and the step it leads to."""

    response: str
    """the answer's label, such as `Approve`"""
    target: str
    """the name of the next step"""
    __pydantic_config__ = _STRICT


@dataclass(frozen=True, slots=True)
class ResponseStep:
    """A step where people must answer."""

    kind: Literal["response"]
    name: str
    """the step's display name, unique in the workflow"""
    assignees: tuple[Party, ...] = ()
    """who must answer"""
    requires: Literal["any", "all"] = "any"
    """`any`: the first answer decides; `all`: every assignee must approve, one reject decides (STEP-4)"""
    status: str | None = None
    """the item's status while this step waits"""
    notify: tuple[Recipient, ...] = ()
    """who is emailed when the step starts"""
    due: Due | None = None
    answers: tuple[Answer, ...] = ()
    """the allowed answers, in order"""
    __pydantic_config__ = _STRICT


@dataclass(frozen=True, slots=True)
class Branch:
    """One `when EXPR -> "STEP"` line."""

    when: Expr
    """the condition; the branch is taken only when it is true (COND-4)"""
    target: str
    """the name of the next step"""
    __pydantic_config__ = _STRICT


@dataclass(frozen=True, slots=True)
class ConditionStep:
    """A step decided at once from facts: the first true `when` wins (COND-1, COND-2)."""

    kind: Literal["condition"]
    name: str
    """the step's display name, unique in the workflow"""
    branches: tuple[Branch, ...] = ()
    """tried in order"""
    otherwise: str | None = None
    """the step taken when no branch is true or a fact is empty (COND-2, COND-3); required"""
    __pydantic_config__ = _STRICT


@dataclass(frozen=True, slots=True)
class EndStep:
    """The workflow is over."""

    kind: Literal["end"]
    name: str
    """the step's display name, unique in the workflow"""
    outcome: Literal["success", "failure"]
    """whether the workflow ended in success (approved) or failure (rejected)"""
    status: str | None = None
    """the item's status from now on"""
    notify: tuple[Recipient, ...] = ()
    """who is emailed when the workflow ends here"""
    __pydantic_config__ = _STRICT


Step = Union[ResponseStep, ConditionStep, EndStep]


@dataclass(frozen=True, slots=True)
class WorkflowConfig:
    """A whole workflow. ``start`` and ``manager`` may be absent so the checks can say so.

    ``$schema`` and ``format_version`` belong to the JSON document, not the
    model: :mod:`engine.spec.export` writes them and :mod:`engine.spec.loader` checks them.
    """

    name: str
    """the workflow's display name"""
    tool: str = "payments"
    """the Procore tool the workflow serves; only `payments` today"""
    manager: Party | None = None
    """the workflow manager (required for Payments, WF-8)"""
    start: str | None = None
    """the name of the first step"""
    steps: tuple[Step, ...] = ()
    __pydantic_config__ = _STRICT

    def step_named(self, name: str) -> Step | None:
        for step in self.steps:
            if step.name == name:
                return step
        return None

    def step_index(self) -> dict[str, int]:
        """First index of each step name (duplicates are reported by a check)."""
        index: dict[str, int] = {}
        for i, step in enumerate(self.steps):
            index.setdefault(step.name, i)
        return index


def step_targets(step: Step) -> list[tuple[tuple[object, ...], str]]:
    """Every ``(relative path, target name)`` a step routes to, in source order."""
    if isinstance(step, ResponseStep):
        return [(("answers", i, "target"), a.target) for i, a in enumerate(step.answers)]
    if isinstance(step, ConditionStep):
        out: list[tuple[tuple[object, ...], str]] = [
            (("branches", i, "target"), b.target) for i, b in enumerate(step.branches)
        ]
        if step.otherwise is not None:
            out.append((("otherwise",), step.otherwise))
        return out
    return []


def to_data(node: object) -> Any:
    """Plain JSON-ready data for a model node: fields in declaration order,
    ``None`` fields left out, tuples as lists (the compiled form's shape)."""
    if dataclasses.is_dataclass(node):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(node):
            value = getattr(node, f.name)
            if value is not None:
                out[f.name] = to_data(value)
        return out
    if isinstance(node, (tuple, list)):
        return [to_data(v) for v in node]
    return node


def expr_from_data(data: Mapping[str, Any]) -> Expr:
    """The inverse of :func:`to_data` for an expression. Trusts its input: it reads
    documents payroute itself wrote (:mod:`dsl.check_cache`); outside input goes
    through the JSON Schema and pydantic (:mod:`engine.spec.loader`)."""
    op = data.get("op")
    if op in ("and", "or"):
        return Logical(op=op, args=tuple(expr_from_data(a) for a in data["args"]))
    if op == "not":
        return Not(op="not", arg=expr_from_data(data["arg"]))
    if op == "in":
        return InList(op="in", left=_operand_from_data(data["left"]),
                      right=ListLit(list=tuple(data["right"]["list"])))
    if op is not None:
        return Compare(op=op, left=_operand_from_data(data["left"]), right=_operand_from_data(data["right"]))
    return _operand_from_data(data)


def _operand_from_data(data: Mapping[str, Any]) -> Operand:
    """A fact or a literal (the sides of a comparison, which are never expressions)."""
    if "fact" in data:
        return FactRef(fact=data["fact"])
    if "money" in data:
        return MoneyLit(money=data["money"])
    if "string" in data:
        return StringLit(string=data["string"])
    if "integer" in data:
        return IntLit(integer=data["integer"])
    return DateLit(date=data["date"])


def config_from_data(data: Mapping[str, Any]) -> WorkflowConfig:
    """The inverse of :func:`to_data` (trusted input only; see :func:`expr_from_data`)."""
    steps: list[Step] = []
    for st in data.get("steps", ()):
        if st["kind"] == "response":
            due = st.get("due")
            steps.append(ResponseStep(
                kind="response", name=st["name"], assignees=tuple(Party(**p) for p in st.get("assignees", ())),
                requires=st.get("requires", "any"), status=st.get("status"), notify=tuple(st.get("notify", ())),
                due=Due(**due) if due else None, answers=tuple(Answer(**a) for a in st.get("answers", ()))))
        elif st["kind"] == "condition":
            steps.append(ConditionStep(
                kind="condition", name=st["name"],
                branches=tuple(Branch(when=expr_from_data(b["when"]), target=b["target"])
                               for b in st.get("branches", ())),
                otherwise=st.get("otherwise")))
        else:
            steps.append(EndStep(kind="end", name=st["name"], outcome=st["outcome"], status=st.get("status"),
                                 notify=tuple(st.get("notify", ()))))
    manager = data.get("manager")
    return WorkflowConfig(name=data["name"], tool=data.get("tool", "payments"),
                          manager=Party(**manager) if manager else None, start=data.get("start"),
                          steps=tuple(steps))
