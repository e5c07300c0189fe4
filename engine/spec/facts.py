"""Facts: the named values a condition reads from a disbursement (COND-5..COND-9).

The registry below is what the type checker and the "did you mean" hints
read; the computation of facts from a disbursement lives here too.

A facts mapping holds Decimal money, int counts, str/date project values
and ``None`` for an empty fact. A ``project.<field>`` name missing from the
mapping is empty too: readers use ``facts.get(name)``.

Two ways in, one meaning:

- :func:`compute_facts` from a validated :class:`engine.spec.disbursement.Disbursement`;
- :func:`raw_fact_plan` from the *decoded JSON* of a document already known to
  be valid (the simulator's fast path): no model objects are built, and only
  the facts a workflow reads are computed.

A test holds the two to the same answers.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING, Any, Callable, Iterable, Literal, Mapping, Protocol, Sequence

if TYPE_CHECKING:
    from engine.spec.disbursement import Disbursement

FactType = Literal["money", "integer", "string", "date"]

#: Facts computed from the invoice payments; they always have a value (COND-9).
FACTS: dict[str, FactType] = {
    "disbursement_amount": "money",
    "highest_invoice_amount": "money",
    "highest_retainage_release": "money",
    "invoice_count": "integer",
}

#: Documented project fields. Any other ``project.<field>`` is a string fact.
PROJECT_FIELDS: dict[str, FactType] = {
    "id": "string",
    "name": "string",
    "office": "string",
    "sector": "string",
    "start_date": "date",
}

PROJECT_PREFIX = "project."


def fact_type(name: str) -> FactType | None:
    """The type of fact ``name``, or None when no such fact exists."""
    if name in FACTS:
        return FACTS[name]
    if name.startswith(PROJECT_PREFIX) and len(name) > len(PROJECT_PREFIX):
        return PROJECT_FIELDS.get(name[len(PROJECT_PREFIX):], "string")
    return None


def known_fact_names() -> list[str]:
    """Every documented fact name, for hints."""
    return list(FACTS) + [PROJECT_PREFIX + f for f in PROJECT_FIELDS]


#: One fact's value: Decimal money, an int count, a project's str or date; None when empty.
FactValue = Decimal | int | str | date | None
#: The facts a condition reads, by name (a ``project.<field>`` missing from it is empty too).
Facts = Mapping[str, FactValue]

_ZERO = Decimal("0.00")


def _wanted(names: Iterable[str] | None) -> set[str] | None:
    return None if names is None else set(names)


def compute_facts(disbursement: "Disbursement", names: Iterable[str] | None = None) -> dict[str, FactValue]:
    """Every fact of ``disbursement`` (or only ``names``), as the conditions read them.

    - ``disbursement_amount``: the exact sum of the payment amounts (COND-6, GEN-3);
    - ``highest_invoice_amount``: the largest payment amount, not the amount due (COND-7);
    - ``highest_retainage_release``: the largest retainage released, $0.00 when none (COND-8, COND-9);
    - ``invoice_count``: the number of invoice payments;
    - ``project.<field>``: the project's value, ``None`` when it has none (COND-9);
      ``project.start_date`` is a :class:`datetime.date`.
    """
    want = _wanted(names)
    invoices = disbursement.invoices
    out: dict[str, FactValue] = {}
    if want is None or "disbursement_amount" in want:
        out["disbursement_amount"] = sum((i.amount for i in invoices), _ZERO)
    if want is None or "highest_invoice_amount" in want:
        out["highest_invoice_amount"] = max(i.amount for i in invoices)
    if want is None or "highest_retainage_release" in want:
        out["highest_retainage_release"] = max((i.retainage_released for i in invoices), default=_ZERO)
    if want is None or "invoice_count" in want:
        out["invoice_count"] = len(invoices)
    project = disbursement.project
    fields = [f[len(PROJECT_PREFIX):] for f in want if f.startswith(PROJECT_PREFIX)] if want is not None \
        else [*PROJECT_FIELDS, *(project.model_extra or {})]
    for field in fields:
        out[PROJECT_PREFIX + field] = project.field_value(field)
    return out


class RawPlan(Protocol):
    """What :func:`raw_fact_plan` returns (its docstring says what each argument is)."""

    def __call__(self, invoices: Sequence[Any], project: Mapping[str, Any],
                 amounts: Sequence[str] | None = None, cents: Sequence[int] | None = None) -> dict[str, FactValue]:
        ...


def _raw_project_value(project: Mapping[str, Any], field: str) -> str | date | None:
    value: str | None = project.get(field)  # validated: a string or null
    if value == "" or value is None:
        return None
    if field == "start_date":
        return date.fromisoformat(value)
    return value


def raw_fact_plan(names: Iterable[str], *, attributes: bool = False) -> RawPlan:
    """A function computing just ``names`` from decoded, *already validated* JSON.

    ``plan(invoices, project, amounts=None, cents=None)`` takes the document's
    invoices (dicts with money as the wire strings or, with ``attributes=True``,
    objects with those attributes), its ``project`` object as a dict and, when
    the caller already has them, the payment amount strings in invoice order
    and — only when every one of them has exactly two decimals — the same
    amounts as whole cents (integer sums are cheaper than Decimal sums and just
    as exact). It trusts its input: call it only after the document passed
    validation, so ``Decimal(text)`` is exact and cannot fail. Same results as
    :func:`compute_facts` (tested).
    """
    want = set(names)
    if attributes:
        amount: Callable[[Any], str] = attrgetter("amount")
        retainage: Callable[[Any], str] = attrgetter("retainage_released")
    else:
        amount = itemgetter("amount")

        def retainage(invoice: Mapping[str, str]) -> str:
            return invoice.get("retainage_released", "0.00")
    need_amounts = bool(want & {"disbursement_amount", "highest_invoice_amount"})
    sum_ = "disbursement_amount" in want
    max_ = "highest_invoice_amount" in want
    ret = "highest_retainage_release" in want
    count = "invoice_count" in want
    fields = tuple(f[len(PROJECT_PREFIX):] for f in sorted(want) if f.startswith(PROJECT_PREFIX))

    if want == {"disbursement_amount"}:  # the common case, kept to one C-level loop
        def only_total(invoices: Sequence[Any], project: Mapping[str, Any],
                       amounts: Sequence[str] | None = None,
                       cents: Sequence[int] | None = None) -> dict[str, FactValue]:
            if cents is not None:
                return {"disbursement_amount": Decimal(sum(cents)).scaleb(-2)}
            texts = map(amount, invoices) if amounts is None else amounts
            return {"disbursement_amount": sum(map(Decimal, texts), _ZERO)}
        return only_total

    def plan(invoices: Sequence[Any], project: Mapping[str, Any],
             amounts: Sequence[str] | None = None, cents: Sequence[int] | None = None) -> dict[str, FactValue]:
        out: dict[str, FactValue] = {}
        if need_amounts and cents is not None:
            if sum_:
                out["disbursement_amount"] = Decimal(sum(cents)).scaleb(-2)
            if max_:
                out["highest_invoice_amount"] = Decimal(max(cents)).scaleb(-2)
        elif need_amounts:
            values = list(map(Decimal, map(amount, invoices) if amounts is None else amounts))
            if sum_:
                out["disbursement_amount"] = sum(values, _ZERO)
            if max_:
                out["highest_invoice_amount"] = max(values)
        if ret:
            out["highest_retainage_release"] = max(map(Decimal, map(retainage, invoices)))
        if count:
            out["invoice_count"] = len(invoices)
        for field in fields:
            out[PROJECT_PREFIX + field] = _raw_project_value(project, field)
        return out
    return plan
