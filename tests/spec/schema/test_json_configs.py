"""The published workflow schema and the model agree, and a broken JSON config is explained.

Every compiled example validates against ``schemas/workflow.schema.json``;
documents that break it are refused by the schema (what a user's own
validator sees) *and* by the model (what payroute loads), and ``payroute
check`` names the JSON Pointer and the reason in words, never a traceback.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Callable

import pytest
from jsonschema import Draft202012Validator
from pydantic import TypeAdapter, ValidationError

from dsl.load import load_workflow
from engine.spec.export import config_to_document
from engine.spec.model import WorkflowConfig
from schemas import WORKFLOW, load_schema
from tests.conftest import REFERENCE_FLOW

ROOT = Path(__file__).resolve().parents[3]
FLOWS = sorted((ROOT / "templates_examples").glob("*/*.flow"))  # the reference workflow among them
VALIDATOR = Draft202012Validator(load_schema(WORKFLOW))


def compiled(path: Path) -> dict[str, Any]:
    loaded = load_workflow(path.read_text(encoding="utf-8"), str(path))
    assert loaded.ok, [d.message for d in loaded.errors()]
    return config_to_document(loaded.config)


REFERENCE_DOC = compiled(REFERENCE_FLOW)


@pytest.mark.parametrize("path", FLOWS, ids=lambda p: p.parent.name if p.name == "workflow.flow" else p.stem)
def test_every_compiled_example_validates(path: Path) -> None:
    VALIDATOR.validate(compiled(path))


def _model_refuses(doc: dict[str, Any]) -> bool:
    body = {k: v for k, v in doc.items() if k not in ("$schema", "format_version")}
    try:
        TypeAdapter(WorkflowConfig).validate_python(body, strict=False)
    except ValidationError:
        return True
    return False


def _when(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["steps"][1]["branches"][0]["when"]


BROKEN: dict[str, tuple[Callable[[dict[str, Any]], None], str, str, str | None]] = {
    # name: (mutation, pointer, message fragment, hint fragment)
    "missing-name": (lambda d: d.pop("name"), "", "missing required key `name`", None),
    "unknown-key": (lambda d: d["steps"][0].update(statsu="x"), "/steps/0/statsu",
                    "unknown key `statsu`", "did you mean `status`?"),
    "bad-step-kind": (lambda d: d["steps"][0].update(kind="reponse"), "/steps/0/kind",
                      "`reponse` is not a step kind", "did you mean `response`?"),
    "money-as-number": (lambda d: _when(d)["right"].update(money=100000),
                        "/steps/1/branches/0/when/right/money",
                        "money must be a decimal string such as \"100000.00\", not a JSON number", "quotes"),
    "money-with-exponent": (lambda d: _when(d)["right"].update(money="1e5"),
                            "/steps/1/branches/0/when/right/money", "`1e5` is not an amount", None),
    "bad-enum": (lambda d: d["steps"][0]["due"].update(unit="bussiness"), "/steps/0/due/unit",
                 "`bussiness` is not allowed here: use `calendar` or `business`", "did you mean `business`?"),
    "not-an-expression": (lambda d: d["steps"][1]["branches"][0].update(when={"fcat": "x"}),
                          "/steps/1/branches/0/when", "not an expression", "did you mean `fact`?"),
    "wrong-type": (lambda d: d.update(steps={}), "/steps", "expected an array, found an object", None),
    "and-with-one-operand": (lambda d: d["steps"][1]["branches"][0].update(
        when={"op": "and", "args": [_when(d)]}), "/steps/1/branches/0/when/args", "at least two operands", None),
}

# The model (pydantic over the dataclasses) cannot see these; the schema adds them.
SCHEMA_ONLY = {"money-with-exponent", "and-with-one-operand"}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_documents_are_refused_by_schema_and_model(case: str) -> None:
    """GEN-2: money as a JSON number is refused, never converted."""
    mutate = BROKEN[case][0]
    doc = copy.deepcopy(REFERENCE_DOC)
    mutate(doc)
    assert not VALIDATOR.is_valid(doc)
    if case not in SCHEMA_ONLY:
        assert _model_refuses(doc)


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_check_names_the_pointer_and_the_reason(cli, tmp_path: Path, case: str) -> None:
    mutate, pointer, message, hint = BROKEN[case]
    doc = copy.deepcopy(REFERENCE_DOC)
    mutate(doc)
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    result = cli("check", "--format", "json", str(path))
    assert result.code == 1
    assert "Traceback" not in result.out + result.err
    diags = json.loads(result.out)["diagnostics"]
    assert len(diags) == 1, diags
    (diag,) = diags
    assert (diag["code"], diag["pointer"]) == ("schema_violation", pointer)
    assert message in diag["message"]
    if hint is not None:
        assert hint in (diag["hint"] or "")
    assert diag["line"] is not None  # located in the text as well as by pointer


def test_format_version_must_be_1(cli, tmp_path: Path) -> None:
    doc = dict(REFERENCE_DOC, format_version=2)
    path = tmp_path / "v2.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    result = cli("check", str(path))
    assert result.code == 1
    assert "error[schema_violation]: `format_version` 2 is not supported" in result.out
    assert "(at /format_version)" in result.out


def test_a_schema_uri_is_allowed_and_may_be_left_out() -> None:
    """`$schema` is optional (hand-written documents may point at a local copy)."""
    doc = dict(REFERENCE_DOC, **{"$schema": "./workflow.schema.json"})
    assert VALIDATOR.is_valid(doc)
    del doc["$schema"]
    assert VALIDATOR.is_valid(doc)
    assert load_workflow(json.dumps(doc), "x.json").ok


def test_money_precision_is_left_to_the_checker_so_json_and_flow_agree() -> None:
    """GEN-2: three decimals are refused by `money_precision`, the same code a `.flow` file gets."""
    doc = copy.deepcopy(REFERENCE_DOC)
    _when(doc)["right"]["money"] = "100000.005"
    assert VALIDATOR.is_valid(doc)
    loaded = load_workflow(json.dumps(doc), "x.json")
    assert [(d.code, d.pointer) for d in loaded.errors()] == [
        ("money_precision", "/steps/1/branches/0/when/right/money")]


def test_invalid_json_is_located(cli, tmp_path: Path) -> None:
    path = tmp_path / "cut.json"
    path.write_text('{"name": "x",', encoding="utf-8")
    result = cli("check", str(path))
    assert result.code == 1
    assert "error[json_invalid]: not valid JSON" in result.out
    assert f"--> {path}:1:" in result.out
