"""Issue 8: every value is bounded at check time, so a workflow that checks clean can run.

Numbers of any length (past Python's 4,300-digit ``int()`` limit too), due
periods, money literals and texts are judged by :mod:`engine.spec.checks.values`
for both front ends, located by line and column (and JSON Pointer), never a
traceback; the bounds are inclusive and a workflow at the bounds compiles,
hashes, formats and routes. Publishing runs the same checks (tests/store).
"""

from __future__ import annotations

import io
import json
import sys
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from dsl.formatter import format_loaded
from dsl.load import load_workflow
from engine.diagnostics import MAX_DUE_DAYS, MAX_TEXT_LENGTH
from engine.runtime.calendar import CompanyCalendar
from engine.spec.compiler import compile_expression, compile_workflow
from engine.spec.export import content_hash, document_text

ROOT = Path(__file__).resolve().parents[3]
REFERENCE = (ROOT / "templates_examples" / "reference" / "workflow.flow").read_text(encoding="utf-8")
WHEN = "when disbursement_amount > $100,000.00 ->"
HUGE = "9" * 5000  # past Python's int() limit of 4,300 digits


def flow(*, due: str = "5", when: str = "disbursement_amount > $100,000.00", status: str = "Under Review") -> str:
    text = REFERENCE.replace("due: 5 calendar days", f"due: {due} calendar days", 1)
    return text.replace(WHEN, f"when {when} ->").replace('status: "Under Review"', f'status: "{status}"', 1)


def as_json(text: str) -> dict:
    loaded = load_workflow(text, "w.flow")
    assert loaded.ok, loaded.diagnostics
    return json.loads(document_text(loaded.config))


def errors(text: str, filename: str) -> list[tuple[str, int | None, str | None]]:
    loaded = load_workflow(text, filename)
    return [(d.code, d.span.line if d.span else None, d.pointer) for d in loaded.errors()]


def assert_located(text: str, filename: str, code: str, line: int, pointer: str | None, cli, tmp_path) -> None:
    """The loader reports exactly one ``code`` error at ``line`` (and ``pointer``), and ``payroute check``
    prints it located, exit status 1, with nothing on stderr."""
    assert errors(text, filename) == [(code, line, pointer)]
    path = tmp_path / filename
    path.write_text(text, encoding="utf-8")
    result = cli("check", str(path))
    assert result.code == 1 and result.err == ""
    assert f"error[{code}]" in result.out and f"--> {path}:{line}:" in result.out
    if pointer is not None:
        assert f"(at {pointer})" in result.out


@pytest.mark.rule("STEP-8", "GEN-3", "WF-5")
@pytest.mark.parametrize("case, code", [
    (flow(due=HUGE), "due_days_too_large"),
    (flow(due="-" + HUGE), "due_days_invalid"),
    (flow(when=f"invoice_count > {HUGE}"), "number_too_large"),
    (flow(when=f"disbursement_amount > ${HUGE}.00"), "number_too_large"),
], ids=["due", "negative-due", "integer", "money"])
def test_a_number_past_the_int_limit_is_a_located_diagnostic_in_a_flow_file(case: str, code: str, cli, tmp_path) -> None:
    line = next(i for i, t in enumerate(case.split("\n"), 1) if HUGE in t)
    assert_located(case, "w.flow", code, line, None, cli, tmp_path)


@pytest.mark.rule("STEP-8", "GEN-3", "WF-5")
@pytest.mark.parametrize("key, value, code, pointer", [
    ("days", HUGE, "due_days_too_large", "/steps/0/due/days"),
    ("days", "1e300", "due_days_too_large", "/steps/0/due/days"),
    ("days", "-" + HUGE, "due_days_invalid", "/steps/0/due/days"),
    ("integer", HUGE, "number_too_large", "/steps/1/branches/0/when/right/integer"),
], ids=["due", "due-float", "negative-due", "integer"])
def test_a_number_past_the_int_limit_is_a_located_diagnostic_in_a_json_config(
        key: str, value: str, code: str, pointer: str, cli, tmp_path) -> None:
    doc = as_json(flow(when="invoice_count > 7"))
    if key == "days":
        doc["steps"][0]["due"]["days"] = 424242
    else:
        doc["steps"][1]["branches"][0]["when"]["right"] = {"integer": 424242}
    text = json.dumps(doc, indent=2).replace("424242", value)
    line = next(i for i, t in enumerate(text.split("\n"), 1) if value in t)
    assert_located(text, "w.json", code, line, pointer, cli, tmp_path)


@pytest.mark.rule("STEP-8", "GEN-3", "WF-5")
@pytest.mark.parametrize("text, code", [
    (flow(due="3000000"), "due_days_too_large"),
    (flow(due=str(MAX_DUE_DAYS + 1)), "due_days_too_large"),
    (flow(when="disbursement_amount > $" + "9" * 27), "number_too_large"),
    (flow(when="disbursement_amount > $1,000,000,000,000,000.00"), "number_too_large"),
    (flow(when="invoice_count > 1000000000000000"), "number_too_large"),
    (flow(status="Under\rReview"), "text_invalid"),
    (flow(status="Under \x1b[2J Review"), "text_invalid"),
    (flow(status="Under \u202e Review"), "text_invalid"),
    (flow(status="x" * (MAX_TEXT_LENGTH + 1)), "text_too_long"),
], ids=["due-3M", "due-bound", "money-27", "money-16", "integer-16", "cr", "escape", "bidi", "long"])
def test_values_that_could_not_run_fail_check_in_both_front_ends(text: str, code: str) -> None:
    """What passed check before issue 8 and then broke the calendar, simulate or an email."""
    assert [c for c, _line, _ptr in errors(text, "w.flow")] == [code]
    # The same model as a JSON config: the checks are shared.
    config = load_workflow(text, "w.flow").config
    from engine.spec.model import to_data

    doc = {"$schema": "https://payroute.dev/schemas/workflow.schema.json", "format_version": 1, **to_data(config)}
    assert [c for c, _line, _ptr in errors(json.dumps(doc), "w.json")] == [code]


@pytest.mark.rule("WF-5")
def test_a_lone_surrogate_in_a_json_config_is_refused_not_crashing(cli, tmp_path) -> None:
    doc = as_json(REFERENCE)
    doc["steps"][0]["name"] = doc["start"] = "Controller \ud800 Review"
    for step in doc["steps"]:
        for answer in step.get("answers", ()):
            if answer["target"] == "Controller Review":
                answer["target"] = doc["start"]
    path = tmp_path / "w.json"
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")  # written as the escape \ud800
    for verb in ("check", "fmt", "compile"):
        result = cli(verb, str(path))
        assert result.code == 1, verb
        assert "error[text_invalid]: step name `Controller \\ud800 Review` holds a lone surrogate" in \
            result.out + result.err, verb
    assert cli("check", "--format", "json", str(path)).code == 1


@pytest.mark.rule("STEP-8", "STEP-9", "GEN-3")
def test_a_workflow_at_every_bound_checks_clean_and_runs() -> None:
    biggest = "$999,999,999,999,999.99"
    text = flow(due=str(MAX_DUE_DAYS), when=f"disbursement_amount > {biggest}",
                status="S" * MAX_TEXT_LENGTH).replace("calendar days", "business days", 1)
    for loaded in (load_workflow(text, "w.flow"), load_workflow(document_text(load_workflow(text, "w.flow").config), "w.json")):
        assert loaded.ok and not loaded.front_end_failed, loaded.diagnostics
        compiled = compile_workflow(loaded.config)
        assert compiled.content_hash.startswith("sha256:") and content_hash(loaded.config)
        format_loaded(loaded)
        due = loaded.config.steps[0].due
        entered = datetime(2025, 1, 31, 15, tzinfo=timezone.utc)
        assert CompanyCalendar().due_date(entered, due.days, due.unit).year == 2039
        when = compile_expression(loaded.config.steps[1].branches[0].when)
        # 100 invoices at the largest amount: the sum is still exact (GEN-3).
        assert when.test({"disbursement_amount": Decimal("999999999999999.99") * 100}) is True


@pytest.mark.rule("WF-5")
def test_a_byte_order_mark_is_accepted_for_flow_and_json(cli, tmp_path) -> None:
    """Editors write a BOM; it is not part of the text (issue 8)."""
    flow_file, json_file = tmp_path / "w.flow", tmp_path / "w.json"
    flow_file.write_bytes(b"\xef\xbb\xbf" + REFERENCE.encode())
    json_file.write_bytes(b"\xef\xbb\xbf" + document_text(load_workflow(REFERENCE, "w.flow").config).encode())
    result = cli("check", str(flow_file), str(json_file))
    assert (result.code, result.out) == (0, "checked 2 files: no problems\n")
    assert cli("fmt", "--check", str(flow_file)).code == 0
    assert cli("compile", str(json_file)).code == 0
    assert load_workflow("\ufeff" + REFERENCE, "w.flow").ok  # the Python API too


@pytest.mark.rule("WF-5")
def test_invalid_utf8_is_refused_alike_from_a_file_and_from_stdin(cli, tmp_path, monkeypatch) -> None:
    data = b'workflow "Pay\xffments" {\n'
    path = tmp_path / "w.flow"
    path.write_bytes(data)
    from_file = cli("check", str(path))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
    from_stdin = cli("check", "-")
    reason = "not a UTF-8 text file (invalid start byte 0xff at line 1, column 14)"
    assert (from_file.code, from_file.err) == (2, f"payroute check: {path}: {reason}\n")
    assert (from_stdin.code, from_stdin.err) == (2, f"payroute check: <stdin>: {reason}\n")


@pytest.mark.rule("WF-5", "STEP-11")
def test_a_json_config_listing_a_recipient_twice_gets_the_flow_files_error() -> None:
    """Found by the fuzzer: the `.flow` front end refused `notify: creator, creator`, a JSON
    config passed, and its `payroute fmt` output then failed to check."""
    doc = as_json(REFERENCE)
    doc["steps"][0]["notify"] = ["creator", "assignees", "creator"]
    assert errors(json.dumps(doc, indent=2), "w.json") == [("field_duplicate", 26, "/steps/0/notify/2")]
    flow_text = REFERENCE.replace("notify: assignees, manager, creator", "notify: creator, assignees, creator", 1)
    assert [code for code, _l, _p in errors(flow_text, "w.flow")] == ["field_duplicate"]


def test_the_money_bound_is_the_engines() -> None:
    from engine.spec.checks import values
    from engine.spec.disbursement_rules import MAX_MONEY_DIGITS

    assert values.MAX_MONEY_DIGITS == MAX_MONEY_DIGITS
