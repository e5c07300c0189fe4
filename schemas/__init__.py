"""Published JSON Schemas (2020-12), shipped as package data so an installed
payroute validates with exactly the files in this folder."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

WORKFLOW = "workflow.schema.json"
DISBURSEMENT = "disbursement.schema.json"


@lru_cache(maxsize=None)
def load_schema(name: str) -> dict[str, Any]:
    """The parsed schema document ``name`` (e.g. ``"workflow.schema.json"``)."""
    schema: dict[str, Any] = json.loads(resources.files("schemas").joinpath(name).read_text(encoding="utf-8"))
    return schema
