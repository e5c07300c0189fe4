"""The typed workflow model: what a `.flow` file and a JSON config both become.

Every check, the compiler and the formatter read this model and nothing else,
so the two front ends get identical treatment. The model is deliberately
permissive about *values* that the checks judge (money precision, day counts,
unknown names): a model that refused them at construction would turn a
located, explained diagnostic into a bare validation error.

Expressions are a structured tree (never a string to re-parse):
``{"op": ">", "left": {"fact": "disbursement_amount"}, "right": {"money": "100000.00"}}``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

FORMAT_VERSION = 1
SCHEMA_ID = "https://payroute.dev/schemas/workflow.schema.json"

COMPARE_OPS = (">", ">=", "<", "<=", "==", "!=")
ORDER_OPS = (">", ">=", "<", "<=")


class _Node(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# ---------------------------------------------------------------- expressions


class FactRef(_Node):
    fact: str


class MoneyLit(_Node):
    # Digits as written, without `$` or commas; precision is judged by a check.
    money: Annotated[str, Field(pattern=r"^[0-9]+(\.[0-9]+)?$")]


class StringLit(_Node):
    string: str


class IntLit(_Node):
    integer: int


class DateLit(_Node):
    date: Annotated[str, Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]


class ListLit(_Node):
    list: tuple[str, ...]


class Compare(_Node):
    op: Literal[">", ">=", "<", "<=", "==", "!="]
    left: "Operand"
    right: "Operand"


class InList(_Node):
    op: Literal["in"]
    left: "Operand"
    right: ListLit


class Logical(_Node):
    op: Literal["and", "or"]
    args: Annotated[tuple["Expr", ...], Field(min_length=2)]


class Not(_Node):
    op: Literal["not"]
    arg: "Expr"


def _operand_tag(value: Any) -> str | None:
    keys = value.keys() if isinstance(value, dict) else vars(value).keys() if hasattr(value, "__dict__") else ()
    for key in ("fact", "money", "string", "integer", "date"):
        if key in keys:
            return key
    return None


def _expr_tag(value: Any) -> str | None:
    op = value.get("op") if isinstance(value, dict) else getattr(value, "op", None)
    if op is None:
        return _operand_tag(value)
    if op in COMPARE_OPS:
        return "compare"
    if op in ("and", "or"):
        return "logical"
    if op in ("not", "in"):
        return op
    return None


Operand = Annotated[
    Union[
        Annotated[FactRef, Tag("fact")],
        Annotated[MoneyLit, Tag("money")],
        Annotated[StringLit, Tag("string")],
        Annotated[IntLit, Tag("integer")],
        Annotated[DateLit, Tag("date")],
    ],
    Discriminator(_operand_tag),
]

Expr = Annotated[
    Union[
        Annotated[Compare, Tag("compare")],
        Annotated[InList, Tag("in")],
        Annotated[Logical, Tag("logical")],
        Annotated[Not, Tag("not")],
        Annotated[FactRef, Tag("fact")],
        Annotated[MoneyLit, Tag("money")],
        Annotated[StringLit, Tag("string")],
        Annotated[IntLit, Tag("integer")],
        Annotated[DateLit, Tag("date")],
    ],
    Discriminator(_expr_tag),
]

Literal_ = Union[MoneyLit, StringLit, IntLit, DateLit]

# ---------------------------------------------------------------- steps

Recipient = Literal["assignees", "manager", "creator"]


class Party(_Node):
    """Who: a workflow role filled per company, a named user, or a group."""

    kind: Literal["role", "user", "group"]
    name: str


class Due(_Node):
    days: int
    unit: Literal["calendar", "business"]


class Answer(_Node):
    response: str
    target: str


class ResponseStep(_Node):
    kind: Literal["response"]
    name: str
    assignees: tuple[Party, ...] = ()
    requires: Literal["any", "all"] = "any"
    status: str | None = None
    notify: tuple[Recipient, ...] = ()
    due: Due | None = None
    answers: tuple[Answer, ...] = ()


class Branch(_Node):
    when: Expr
    target: str


class ConditionStep(_Node):
    kind: Literal["condition"]
    name: str
    branches: tuple[Branch, ...] = ()
    otherwise: str | None = None


class EndStep(_Node):
    kind: Literal["end"]
    name: str
    outcome: Literal["success", "failure"]
    status: str | None = None
    notify: tuple[Recipient, ...] = ()


Step = Annotated[Union[ResponseStep, ConditionStep, EndStep], Field(discriminator="kind")]


class WorkflowConfig(_Node):
    """A whole workflow. ``start`` and ``manager`` may be absent so the checks can say so."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    schema_uri: str | None = Field(default=None, alias="$schema")
    format_version: int = FORMAT_VERSION
    name: str
    tool: str = "payments"
    manager: Party | None = None
    start: str | None = None
    steps: tuple[Step, ...] = ()

    def step_named(self, name: str) -> ResponseStep | ConditionStep | EndStep | None:
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


Compare.model_rebuild()
InList.model_rebuild()
Logical.model_rebuild()
Not.model_rebuild()
Branch.model_rebuild()
ConditionStep.model_rebuild()
WorkflowConfig.model_rebuild()


def step_targets(step: ResponseStep | ConditionStep | EndStep) -> list[tuple[tuple[object, ...], str]]:
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
