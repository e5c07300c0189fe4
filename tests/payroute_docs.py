"""Builders shared by the spec and simulate tests: the reference workflow and disbursement documents
(``from tests.payroute_docs import ...``)."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st

from tests.conftest import REFERENCE_FLOW


def load_config(text: str, name: str = "test.flow") -> Any:
    """The checked model of a `.flow` text; fails the test when it has errors."""
    from dsl.load import load_workflow

    loaded = load_workflow(text, name)
    assert loaded.ok, [d.message for d in loaded.diagnostics]
    return loaded.config


def compile_text(text: str) -> Any:
    from engine.spec.compiler import compile_workflow

    return compile_workflow(load_config(text))


def reference_text() -> str:
    return REFERENCE_FLOW.read_text(encoding="utf-8")


def invoice(amount: Any = "1000.00", **extra: Any) -> dict[str, Any]:
    """A valid invoice payment (decoded JSON)."""
    return {"id": extra.pop("id", "INV-1"), "vendor": "Acme Concrete", "amount": amount,
            "status": "Approved", "approved_by": "bo@example.com", **extra}


def disbursement(*invoices: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A valid disbursement document (decoded JSON) with the given invoices."""
    project = {"id": "P-1", "name": "Tower", "office": "Denver", **extra.pop("project", {})}
    doc = {"id": "D-1", "project": project, "created_by": "ana@example.com",
           "funding_account": "FA-1", "invoices": list(invoices) or [invoice()]}
    doc.update(extra)
    return copy.deepcopy(doc)


# ---------------------------------------------------------------- documents, valid and not (Hypothesis)

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.just(1.5), st.text(max_size=3))
money_texts = st.one_of(
    st.sampled_from(["1.00", "0.01", "0.10", "0.1", "0", "0.00", "0.0", "5", "100000.00", "1.234", "-1.00",
                     "05.00", "1e3", ".5", "5.", " 5", "5\n", "1.00\n", "1.00\n2.00", "1\u0000", "1,000", "٣", "999999999999999.99",
                     "1000000000000000", "+1", "NaN", "", "1.0.0"]),
    st.from_regex(r"\A-?[0-9]{1,17}(\.[0-9]{0,3})?\Z"),
    st.integers(0, 10**6), st.just(2.5), st.none(),
)
emails = st.one_of(st.sampled_from(["a@b.co", "a@b", "@b.co", "a b@c.de", "a@b.co\n", "", "x@y.z.w"]), st.none(),
                   st.emails().map(str), st.integers(0, 3))
dates = st.one_of(st.sampled_from(["2024-02-29", "2023-02-29", "2024-1-01", "2024-13-01", "0000-01-01",
                                   "2024-01-01\n", "", "20240101"]), st.none(), st.integers(0, 9))
texts = st.one_of(st.text(max_size=4), st.none(), st.integers(0, 3))


@st.composite
def invoice_docs(draw: st.DrawFn) -> dict[str, object]:
    inv: dict[str, object] = invoice(draw(money_texts))
    for key, strategy in (("retainage_released", money_texts), ("amount_due", money_texts),
                          ("approved_by", emails), ("status", texts), ("vendor", texts), ("id", texts)):
        if draw(st.integers(0, 4)) == 0:
            inv[key] = draw(strategy)
    if draw(st.integers(0, 12)) == 0:
        inv.pop(draw(st.sampled_from(sorted(inv))))
    if draw(st.integers(0, 12)) == 0:
        inv[draw(st.sampled_from(["amount_paid", "note", "amount"]))] = draw(json_scalars)
    return inv


@st.composite
def documents(draw: st.DrawFn) -> object:
    n = draw(st.one_of(st.integers(1, 3), st.sampled_from([0, 100, 101])))
    if n > 3:
        invs = [invoice(id=f"I-{k}") for k in range(n)]
    else:
        invs = [draw(invoice_docs()) for _ in range(n)]
    doc: dict[str, object] = disbursement(*invs) if invs else disbursement(invoices=[])
    project = doc["project"]
    assert isinstance(project, dict)
    for key, strategy in (("start_date", dates), ("office", texts), ("sector", texts), ("market", texts),
                          ("id", texts), ("name", texts)):
        if draw(st.integers(0, 4)) == 0:
            project[key] = draw(strategy)
    if draw(st.integers(0, 10)) == 0:
        doc[draw(st.sampled_from(["created_by", "id", "funding_account"]))] = draw(st.one_of(emails, texts))
    if draw(st.integers(0, 15)) == 0:
        doc.pop(draw(st.sampled_from(sorted(doc))))
    if draw(st.integers(0, 15)) == 0:
        doc[draw(st.sampled_from(["extra", "$schema", "status"]))] = draw(json_scalars)
    if draw(st.integers(0, 30)) == 0:
        return draw(st.one_of(json_scalars, st.lists(json_scalars, max_size=2)))
    return doc
