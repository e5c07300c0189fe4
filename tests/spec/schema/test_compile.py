"""``payroute compile``: the canonical JSON config, refused when the workflow has errors."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from jsonschema import Draft202012Validator

from schemas import WORKFLOW, load_schema
from tests.conftest import REFERENCE_FLOW

ROOT = Path(__file__).resolve().parents[3]
REFERENCE = REFERENCE_FLOW


def test_reference_compiles_to_the_golden_document(cli, golden) -> None:
    """COND-10: the reference's boundary is written `>`, and the document says `>` (GEN-2: money as a string)."""
    result = cli("compile", str(REFERENCE))
    assert (result.code, result.err) == (0, "")
    golden.check("compile/reference.json", result.out)
    doc = json.loads(result.out, parse_float=Decimal)
    when = doc["steps"][1]["branches"][0]["when"]
    assert when == {"op": ">", "left": {"fact": "disbursement_amount"}, "right": {"money": "100000.00"}}
    Draft202012Validator(load_schema(WORKFLOW)).validate(doc)


def test_output_file(cli, tmp_path: Path) -> None:
    out = tmp_path / "reference.json"
    result = cli("compile", str(REFERENCE), "-o", str(out))
    assert (result.code, result.out, result.err) == (0, "", "")
    assert out.read_text(encoding="utf-8") == cli("compile", str(REFERENCE)).out


def test_a_json_config_compiles_to_its_canonical_form(cli, tmp_path: Path) -> None:
    """Money as written by hand ("100000", "0.5") comes out with two decimals (GEN-2)."""
    canonical = cli("compile", str(REFERENCE)).out
    doc = json.loads(canonical)
    doc["steps"][1]["branches"][0]["when"]["right"]["money"] = "100000"
    del doc["$schema"]
    hand = tmp_path / "hand.json"
    hand.write_text(json.dumps(doc), encoding="utf-8")
    result = cli("compile", str(hand))
    assert (result.code, result.out) == (0, canonical)



def test_a_syntax_error_is_refused_with_json_diagnostics(cli, tmp_path: Path) -> None:
    path = tmp_path / "broken.flow"
    path.write_text('workflow "W" {\n    tool payments\n}\n', encoding="utf-8")
    result = cli("compile", "--format", "json", str(path))
    assert (result.code, result.out) == (1, "")
    report = json.loads(result.err)
    assert report["result"] == "error"
    assert [(d["code"], d["line"]) for d in report["diagnostics"]] == [("syntax_error", 2)]

