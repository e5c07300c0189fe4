"""Regenerate the published JSON Schemas from the engine's model classes.

    python -m engine.spec.published_schemas        # rewrite schemas/*.schema.json

A test (tests/spec/schema/) fails when the committed files drift from what this
produces. One function per schema; :func:`main` writes them all.

The field descriptions are the attribute docstrings in ``engine/spec/model.py``
(read only here, see :func:`_attribute_docstrings`).
The model classes are plain dataclasses (cold start), so the few value
constraints pydantic cannot see from them are added here, in
:func:`_tighten_workflow`: the wire form of money (a decimal *string*,
GEN-2), the ISO date form and ``and``/``or`` needing two operands. Money
*precision* is deliberately not in the pattern: more than two decimals is
refused by ``payroute check`` (``money_precision``) with a located message,
the same for a `.flow` file and a JSON config.
"""

from __future__ import annotations

import dataclasses
import json
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator

#: The ``schemas`` package folder (the source tree's ``schemas/`` in a checkout): the
#: schemas are data there, generated here, so ``schemas`` never imports the engine.
SCHEMAS = Path(str(resources.files("schemas")))
DRAFT = "https://json-schema.org/draft/2020-12/schema"

WORKFLOW_TITLE = "payroute workflow"
WORKFLOW_DESCRIPTION = (
    "A compiled payroute workflow: the declarative config that `payroute compile` writes "
    "from a `.flow` file and that `payroute check`, `simulate` and the engine read. "
    "Money is a decimal string, never a JSON number."
)
MONEY_PATTERN = r"^[0-9]+(\.[0-9]+)?$"
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


def _tighten_workflow(defs: dict[str, Any]) -> None:
    """Constraints the dataclass model does not carry (see the module docstring)."""
    defs["MoneyLit"]["properties"]["money"]["pattern"] = MONEY_PATTERN
    defs["DateLit"]["properties"]["date"]["pattern"] = DATE_PATTERN
    defs["Logical"]["properties"]["args"]["minItems"] = 2


@contextmanager
def _attribute_docstrings(module: ModuleType) -> Iterator[None]:
    """Let pydantic read the field docstrings of ``module``'s dataclasses as descriptions.

    Only while generating: reading them parses the module's source (~100 ms),
    which validating a JSON config at run time does not need.
    """
    classes = [c for c in vars(module).values()
               if isinstance(c, type) and dataclasses.is_dataclass(c) and c.__module__ == module.__name__]
    # setattr/delattr: the attribute is pydantic's, no part of a dataclass's type
    saved = {c: c.__dict__.get("__pydantic_config__") for c in classes}
    for c, config in saved.items():
        setattr(c, "__pydantic_config__", {**(config or {}), "use_attribute_docstrings": True})
    try:
        yield
    finally:
        for c, config in saved.items():
            if config is None:
                delattr(c, "__pydantic_config__")
            else:
                setattr(c, "__pydantic_config__", config)


def workflow_schema() -> dict[str, Any]:
    """The compiled-workflow document: the model plus ``$schema`` and ``format_version``."""
    from pydantic import TypeAdapter

    from engine.spec import model
    from engine.spec.model import FORMAT_VERSION, SCHEMA_ID, WorkflowConfig

    with _attribute_docstrings(model):
        body = TypeAdapter(WorkflowConfig).json_schema()
    _tighten_workflow(body["$defs"])
    props = {
        "$schema": {
            "type": "string",
            "description": f"the schema this document follows; `payroute compile` writes {SCHEMA_ID}",
        },
        "format_version": {
            "const": FORMAT_VERSION,
            "description": "version of the document format; a reader refuses versions it does not know",
        },
        **body["properties"],
    }
    rest = {k: v for k, v in body.items() if k not in ("properties", "required", "title", "description")}
    return {
        "$schema": DRAFT,
        "$id": SCHEMA_ID,
        "title": WORKFLOW_TITLE,
        "description": WORKFLOW_DESCRIPTION,
        **rest,
        "properties": props,
        "required": ["format_version", *body.get("required", [])],
    }


DISBURSEMENT_TITLE = "payroute disbursement"
DISBURSEMENT_DESCRIPTION = (
    "One disbursement as `payroute simulate` and the engine route it: its project, creator, "
    "funding account and 1 to 100 invoice payments. Money is a decimal string with at most "
    "two decimals, never a JSON number (GEN-2); unknown fields are refused except in `project`, "
    "whose extra string fields become `project.<field>` facts."
)


def disbursement_schema() -> dict[str, Any]:
    """The disbursement document, from the pydantic model in :mod:`engine.spec.disbursement`.

    Its value rules (money, email, date patterns) travel in the model's
    ``WithJsonSchema`` annotations, so nothing is added here.
    """
    from engine.spec.disbursement import SCHEMA_ID, Disbursement

    body = Disbursement.model_json_schema()
    rest = {k: v for k, v in body.items() if k not in ("title", "description")}
    return {"$schema": DRAFT, "$id": SCHEMA_ID, "title": DISBURSEMENT_TITLE,
            "description": DISBURSEMENT_DESCRIPTION, **rest}


def schema_text(schema: dict[str, Any]) -> str:
    """The exact bytes written for a schema (what the drift test compares)."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def write(name: str, schema: dict[str, Any]) -> None:
    (SCHEMAS / name).write_text(schema_text(schema), encoding="utf-8")


def main() -> None:
    write("workflow.schema.json", workflow_schema())
    write("disbursement.schema.json", disbursement_schema())


if __name__ == "__main__":
    main()
