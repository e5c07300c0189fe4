"""Facts: the named values a condition reads from a disbursement (COND-5..COND-9).

The registry below is what the type checker and the "did you mean" hints
read; the computation of facts from a disbursement lives here too.
"""

from __future__ import annotations

from typing import Literal

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
