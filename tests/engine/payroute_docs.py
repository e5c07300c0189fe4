"""Builders shared by the engine and simulate tests: the reference workflow and disbursement documents.

Imported by name: ``tests/engine/conftest.py`` and ``tests/simulate/conftest.py``
put this folder on ``sys.path`` (pytest runs in importlib mode).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
#: The reference workflow, exactly as LANGUAGE.md writes it (`>` at $100,000.00, COND-10).
REFERENCE_FLOW = HERE / "reference.flow"


def load_config(text: str, name: str = "test.flow") -> Any:
    """The checked model of a `.flow` text; fails the test when it has errors."""
    from dsl.load import load_workflow

    loaded = load_workflow(text, name)
    assert loaded.ok, [d.message for d in loaded.diagnostics]
    return loaded.config


def compile_text(text: str) -> Any:
    from engine.compiler import compile_workflow

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
