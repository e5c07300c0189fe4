"""The committed JSON Schema is exactly what ``engine/spec/published_schemas.py`` produces from the model.

A reader of ``schemas/workflow.schema.json`` (an editor, another program's
validator) must see the rules payroute applies; the file is generated, so it
drifts only when someone changes the model and forgets to regenerate.
"""

from __future__ import annotations

from pathlib import Path

from jsonschema import Draft202012Validator

from engine.spec.published_schemas import schema_text, workflow_schema

ROOT = Path(__file__).resolve().parents[3]
REGENERATE = "python -m engine.spec.published_schemas"


def test_workflow_schema_file_matches_the_model() -> None:
    committed = (ROOT / "schemas" / "workflow.schema.json").read_text(encoding="utf-8")
    assert committed == schema_text(workflow_schema()), (
        f"schemas/workflow.schema.json is out of date with engine/spec/model.py; run `{REGENERATE}`"
    )


def test_workflow_schema_is_a_valid_2020_12_schema_with_an_absolute_id() -> None:
    schema = workflow_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].startswith("https://")


def test_every_field_is_described() -> None:
    """Editors show these descriptions while a workflow manager writes JSON by hand."""
    schema = workflow_schema()
    missing = [name for name in schema["properties"] if "description" not in schema["properties"][name]
               and "$ref" not in schema["properties"][name] and name != "steps"]
    for def_name, body in schema["$defs"].items():
        for prop, spec in body.get("properties", {}).items():
            if prop in ("kind", "op", "left", "right", "arg", "due", "string", "integer"):
                continue  # self-explanatory tags and operands
            if "description" not in spec:
                missing.append(f"{def_name}.{prop}")
    assert missing == []
