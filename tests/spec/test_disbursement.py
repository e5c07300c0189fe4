"""The disbursement document: located refusals, and the model and the schema agree (GEN-2, DSB-1, DSB-2)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from jsonschema import Draft202012Validator, FormatChecker

from engine.spec.disbursement import (
    Disbursement,
    DisbursementError,
    parse_disbursement,
    parse_disbursement_json,
)
from engine.spec.published_schemas import disbursement_schema, schema_text
from tests.payroute_docs import disbursement, documents, invoice

ROOT = Path(__file__).resolve().parents[2]


def problems(doc: object) -> list[str]:
    with pytest.raises(DisbursementError) as info:
        parse_disbursement(doc)
    return info.value.lines()


@pytest.mark.rule("GEN-1")
def test_a_valid_document_becomes_exact_decimals() -> None:
    """GEN-1: money is Decimal from the string; retainage defaults to $0.00."""
    d = parse_disbursement(disbursement(invoice("120000.10"), invoice("0.05", retainage_released="12.50")))
    assert isinstance(d, Disbursement)
    assert [i.amount for i in d.invoices] == [Decimal("120000.10"), Decimal("0.05")]
    assert [i.retainage_released for i in d.invoices] == [Decimal("0.00"), Decimal("12.50")]
    assert d.project.field_value("office") == "Denver"


@pytest.mark.rule("GEN-2")
def test_three_decimals_is_refused_at_its_location() -> None:
    doc = disbursement(invoice(), invoice(), invoice("1.234"))
    assert problems(doc) == ["invoices[2].amount: `1.234` has more than two decimals (GEN-2)"]


def test_a_negative_amount_is_refused() -> None:
    assert problems(disbursement(invoice("-5.00"))) == ["invoices[0].amount: `-5.00` is negative (GEN-2)"]


@pytest.mark.rule("DSB-2")
def test_a_zero_payment_is_refused() -> None:
    """DSB-2: each payment amount is greater than $0.00."""
    assert problems(disbursement(invoice("0.00"))) == [
        "invoices[0].amount: a payment amount must be more than $0.00 (DSB-2)"]


def test_negative_retainage_is_refused() -> None:
    doc = disbursement(invoice(retainage_released="-1.00"))
    assert problems(doc) == ["invoices[0].retainage_released: `-1.00` is negative (GEN-2)"]


@pytest.mark.rule("GEN-2")
@pytest.mark.parametrize("number", [120000, 120000.5])
def test_a_json_number_for_money_is_refused_with_a_clear_message(number: object) -> None:
    """GEN-2: a JSON number may have been through a float already; it is never converted."""
    doc = json.loads(json.dumps(disbursement(invoice(number))))  # type: ignore[arg-type]
    assert problems(doc) == [
        'invoices[0].amount: money must be a decimal string such as "100.00", not a JSON number (GEN-2)']


@pytest.mark.rule("DSB-1")
def test_101_invoices_are_refused() -> None:
    """DSB-1: 1 to 100 invoice payments."""
    doc = disbursement(*[invoice(id=f"I-{k}") for k in range(101)])
    assert problems(doc) == ["invoices: a disbursement holds at most 100 invoice payments, this one has 101 (DSB-1)"]
    parse_disbursement(disbursement(*[invoice(id=f"I-{k}") for k in range(100)]))


@pytest.mark.rule("DSB-1")
def test_no_invoices_is_refused() -> None:
    assert problems(disbursement(invoices=[])) == [
        "invoices: a disbursement needs at least one invoice payment (DSB-1)"]


def test_an_unknown_top_level_field_is_refused_with_a_hint() -> None:
    doc = disbursement(invoice(), created_byy="x@example.com")
    assert problems(doc) == [
        "created_byy: unknown field (did you mean `created_by`?); "
        "the fields are id, project, created_by, funding_account, invoices"]


def test_an_unknown_invoice_field_is_refused_so_a_typo_never_defaults_silently() -> None:
    doc = disbursement(invoice(retainage_release="5.00"))
    assert problems(doc)[0].startswith("invoices[0].retainage_release: unknown field (did you mean `retainage_released`?)")


def test_missing_fields_and_wrong_types_are_each_located() -> None:
    doc = disbursement(invoice())
    del doc["invoices"][0]["vendor"]
    doc["created_by"] = "not-an-email"
    doc["project"]["office"] = 7
    assert problems(doc) == [
        "project.office: must be a string, not a number",
        "created_by: `not-an-email` is not an email address such as \"ana@example.com\"",
        "invoices[0].vendor: required field is missing",
    ]


def test_project_extra_fields_are_strings_and_start_date_a_real_date() -> None:
    ok = parse_disbursement(disbursement(project={"market": "West", "start_date": "2024-02-29"}))
    assert ok.project.field_value("market") == "West"
    assert str(ok.project.start_date) == "2024-02-29"
    assert problems(disbursement(project={"start_date": "2023-02-29"})) == [
        "project.start_date: `2023-02-29` is not a real calendar date"]
    assert problems(disbursement(project={"market": 3})) == ["project.market: must be a string, not a number"]


def test_not_an_object() -> None:
    assert problems([1, 2]) == ["a disbursement must be a JSON object, not an array"]


def test_invalid_json_is_a_disbursement_error_too() -> None:
    with pytest.raises(DisbursementError) as info:
        parse_disbursement_json('{"id": "D-1",')
    assert info.value.lines()[0].startswith("invalid JSON: ")


@pytest.mark.rule("GEN-3")
def test_amounts_beyond_15_digits_are_refused_so_sums_stay_exact() -> None:
    """GEN-3: with at most 15 digits and 100 invoices, Decimal's 28 digits add exactly."""
    parse_disbursement(disbursement(invoice("999999999999999.99")))
    assert problems(disbursement(invoice("1000000000000000.00"))) == [
        "invoices[0].amount: `1000000000000000.00` is too large: at most 15 digits before the decimal point"]


# ---------------------------------------------------------------- the schema file


def test_the_schema_file_is_generated_from_the_model() -> None:
    committed = (ROOT / "schemas" / "disbursement.schema.json").read_text(encoding="utf-8")
    assert committed == schema_text(disbursement_schema()), "run `python -m engine.spec.published_schemas`"


def test_the_schema_is_2020_12_with_an_absolute_id() -> None:
    schema = disbursement_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == "https://payroute.dev/schemas/disbursement.schema.json"


_VALIDATOR = Draft202012Validator(disbursement_schema(), format_checker=FormatChecker())

@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_the_schema_and_the_model_accept_exactly_the_same_documents(doc: object) -> None:
    """What a validator in a user's pipeline accepts, payroute accepts, and the other way round."""
    schema_ok = _VALIDATOR.is_valid(doc)
    try:
        parse_disbursement(doc)
        model_ok = True
    except DisbursementError:
        model_ok = False
    assert schema_ok == model_ok, list(_VALIDATOR.iter_errors(doc))[:3]
