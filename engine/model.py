"""The typed workflow model: what a `.flow` file and a JSON config both become.

Every check, the compiler and the formatter read this model and nothing else,
so the two front ends get identical treatment. The model is deliberately
permissive about *values* that the checks judge (money precision, day counts,
unknown names): a model that refused them at construction would turn a
located, explained diagnostic into a bare validation error.

The classes are frozen standard-library dataclasses, not pydantic models:
``payroute check`` must start in well under 300 ms, and building ~20 pydantic
model classes at import costs ~100 ms on our machines. pydantic still
validates JSON configs into these very classes (``engine.loader`` uses a
``TypeAdapter``, honouring ``__pydantic_config__`` below) and generates the
published JSON Schema from them; only the language path stays light.

Expressions are a structured tree (never a string to re-parse):
``{"op": ">", "left": {"fact": "disbursement_amount"}, "right": {"money": "100000.00"}}``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal, Union

FORMAT_VERSION = 1
SCHEMA_ID = "https://payroute.dev/schemas/workflow.schema.json"

COMPARE_OPS = (">", ">=", "<", "<=", "==", "!=")
ORDER_OPS = (">", ">=", "<", "<=")

# Read by pydantic when it validates these dataclasses (engine.loader): unknown
# keys are refused, as the JSON Schema's additionalProperties: false says.
_STRICT = {"extra": "forbid"}

_node = dataclass(frozen=True, slots=True)


# ---------------------------------------------------------------- expressions


@_node
class FactRef:
    fact: str
    __pydantic_config__ = _STRICT


@_node
class MoneyLit:
    """Digits as written, without `$` or commas; precision is judged by a check."""

    money: str
    __pydantic_config__ = _STRICT


@_node
class StringLit:
    string: str
    __pydantic_config__ = _STRICT


@_node
class IntLit:
    integer: int
    __pydantic_config__ = _STRICT


@_node
class DateLit:
    date: str
    __pydantic_config__ = _STRICT


@_node
class ListLit:
    list: tuple[str, ...]
    __pydantic_config__ = _STRICT


Operand = Union[FactRef, MoneyLit, StringLit, IntLit, DateLit]


@_node
class Compare:
    op: Literal[">", ">=", "<", "<=", "==", "!="]
    left: Operand
    right: Operand
    __pydantic_config__ = _STRICT


@_node
class InList:
    op: Literal["in"]
    left: Operand
    right: ListLit
    __pydantic_config__ = _STRICT


@_node
class Logical:
    op: Literal["and", "or"]
    args: tuple["Expr", ...]
    __pydantic_config__ = _STRICT


@_node
class Not:
    op: Literal["not"]
    arg: "Expr"
    __pydantic_config__ = _STRICT


Expr = Union[Compare, InList, Logical, Not, FactRef, MoneyLit, StringLit, IntLit, DateLit]
Literal_ = Union[MoneyLit, StringLit, IntLit, DateLit]

# ---------------------------------------------------------------- steps

Recipient = Literal["assignees", "manager", "creator"]


@_node
class Party:
    """Who: a workflow role filled per company, a named user, or a group."""

    kind: Literal["role", "user", "group"]
    name: str
    __pydantic_config__ = _STRICT


@_node
class Due:
    days: int
    unit: Literal["calendar", "business"]
    __pydantic_config__ = _STRICT


@_node
class Answer:
    response: str
    target: str
    __pydantic_config__ = _STRICT


@_node
class ResponseStep:
    kind: Literal["response"]
    name: str
    assignees: tuple[Party, ...] = ()
    requires: Literal["any", "all"] = "any"
    status: str | None = None
    notify: tuple[Recipient, ...] = ()
    due: Due | None = None
    answers: tuple[Answer, ...] = ()
    __pydantic_config__ = _STRICT


@_node
class Branch:
    when: Expr
    target: str
    __pydantic_config__ = _STRICT


@_node
class ConditionStep:
    kind: Literal["condition"]
    name: str
    branches: tuple[Branch, ...] = ()
    otherwise: str | None = None
    __pydantic_config__ = _STRICT


@_node
class EndStep:
    kind: Literal["end"]
    name: str
    outcome: Literal["success", "failure"]
    status: str | None = None
    notify: tuple[Recipient, ...] = ()
    __pydantic_config__ = _STRICT


Step = Union[ResponseStep, ConditionStep, EndStep]


@_node
class WorkflowConfig:
    """A whole workflow. ``start`` and ``manager`` may be absent so the checks can say so.

    ``$schema`` and ``format_version`` belong to the JSON document, not the
    model: :mod:`engine.export` writes them and :mod:`engine.loader` checks them.
    """

    name: str
    tool: str = "payments"
    manager: Party | None = None
    start: str | None = None
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


def to_data(node: Any) -> Any:
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
