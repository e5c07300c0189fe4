"""Regenerate the published JSON Schemas from the engine's model classes.

    python -m schemas.generate        # rewrite schemas/*.schema.json

A test fails when the committed files drift from what this produces.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
DRAFT = "https://json-schema.org/draft/2020-12/schema"


def workflow_schema() -> dict[str, Any]:
    """The compiled-workflow document: the model plus ``$schema`` and ``format_version``."""
    from pydantic import TypeAdapter

    from engine.model import FORMAT_VERSION, SCHEMA_ID, WorkflowConfig

    body = TypeAdapter(WorkflowConfig).json_schema()
    props = {
        "$schema": {"type": "string", "description": "URI of this schema"},
        "format_version": {"const": FORMAT_VERSION, "description": "version of the document format"},
        **body["properties"],
    }
    return {
        "$schema": DRAFT,
        "$id": SCHEMA_ID,
        **{k: v for k, v in body.items() if k not in ("properties", "required")},
        "properties": props,
        "required": ["format_version", *body.get("required", [])],
    }


def write(name: str, schema: dict[str, Any]) -> None:
    (HERE / name).write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")


def main() -> None:
    write("workflow.schema.json", workflow_schema())


if __name__ == "__main__":
    main()
