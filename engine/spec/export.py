"""The compiled JSON document: the canonical, schema-valid form of a workflow.

Canonical means: ``$schema`` and ``format_version`` first, money literals
without leading zeros and with two decimals (more only when written so,
which the checker refuses), ``None`` fields left out. The content hash of a
published version (WF-4) is the SHA-256 of this document's canonical bytes.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from engine.spec.model import FORMAT_VERSION, SCHEMA_ID, WorkflowConfig, to_data


def _canonical_money(node: Any) -> Any:
    if isinstance(node, dict):
        if set(node) == {"money"} and isinstance(node["money"], str):
            # No leading zeros, at least two decimals. More than two are kept
            # as written (never rounded, GEN-2): the checker refuses them.
            whole, _, frac = node["money"].partition(".")
            return {"money": f"{whole.lstrip('0') or '0'}.{frac.ljust(2, '0')}"}
        return {k: _canonical_money(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_canonical_money(v) for v in node]
    return node


def config_to_document(config: WorkflowConfig) -> dict[str, Any]:
    """The compiled JSON document (a dict ready for ``json.dumps``)."""
    body = to_data(config)
    return {"$schema": SCHEMA_ID, "format_version": FORMAT_VERSION, **_canonical_money(body)}


def document_text(config: WorkflowConfig) -> str:
    """Pretty, stable JSON text of :func:`config_to_document` (what ``payroute compile`` writes)."""
    return json.dumps(config_to_document(config), indent=2, ensure_ascii=False) + "\n"


def content_hash(config: WorkflowConfig) -> str:
    """``sha256:<hex>`` over the canonical compact JSON (key order as emitted)."""
    raw = json.dumps(config_to_document(config), separators=(",", ":"), ensure_ascii=False, sort_keys=True)
    return "sha256:" + hashlib.sha256(raw.encode("utf-8")).hexdigest()
