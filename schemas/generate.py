"""Regenerate the published JSON Schemas from the pydantic models.

    python -m schemas.generate        # rewrite schemas/*.schema.json

A test fails when the committed files drift from what this prints.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent


def workflow_schema() -> dict[str, Any]:
    from engine.model import SCHEMA_ID, WorkflowConfig

    body = WorkflowConfig.model_json_schema(by_alias=True)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **body}


def main() -> None:
    (HERE / "workflow.schema.json").write_text(json.dumps(workflow_schema(), indent=2) + "\n")


if __name__ == "__main__":
    main()
