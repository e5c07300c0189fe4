"""``payroute simulate FLOW INPUT`` through the CLI (COND-2, COND-10, COND-13, GEN-2, ROLL-6)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.payroute_docs import REFERENCE_FLOW, disbursement, invoice

FLOW = str(REFERENCE_FLOW)
CFO = ["Controller Review", "> $100,000.00", "CFO Review", "Approved"]
NO_CFO = ["Controller Review", "> $100,000.00", "Approved"]


def jsonl(tmp_path: Path, *docs: object, name: str = "in.jsonl") -> str:
    path = tmp_path / name
    path.write_text("".join((d if isinstance(d, str) else json.dumps(d)) + "\n" for d in docs), encoding="utf-8")
    return str(path)


def doc(id_: str, *amounts: str) -> dict[str, object]:
    return disbursement(*[invoice(a, id=f"I-{k}") for k, a in enumerate(amounts)], id=id_)


def test_jsonl_has_one_stable_line_per_disbursement(cli, tmp_path: Path) -> None:
    """COND-10 at T-0.01, T, T+0.01 with `>`: the shape is exactly {id, path, end, outcome}."""
    src = jsonl(tmp_path, doc("low", "99999.99"), doc("at", "50000.00", "50000.00"), doc("high", "100000.01"))
    result = cli("simulate", FLOW, src, "--format", "jsonl")
    assert (result.code, result.err) == (0, "")
    lines = [json.loads(line) for line in result.out.splitlines()]
    assert lines == [
        {"id": "low", "path": NO_CFO, "end": "Approved", "outcome": "success"},
        {"id": "at", "path": NO_CFO, "end": "Approved", "outcome": "success"},
        {"id": "high", "path": CFO, "end": "Approved", "outcome": "success"},
    ]
    assert all(list(json.loads(line)) == ["id", "path", "end", "outcome"] for line in result.out.splitlines())
    assert result.out.splitlines()[0] == json.dumps(lines[0])  # byte for byte json.dumps


def test_text_explains_each_condition_with_the_values_compared(cli, tmp_path: Path) -> None:
    """COND-13: the deciding `when` with the fact value."""
    result = cli("simulate", FLOW, jsonl(tmp_path, doc("D-9", "120000.00")))
    assert result.code == 0
    assert result.out == (
        "D-9 (line 1): Approved (success)\n"
        "  Controller Review: Approve → > $100,000.00\n"
        "  > $100,000.00:\n"
        "    disbursement_amount $120,000.00 > $100,000.00: true → CFO Review\n"
        "  CFO Review: Approve → Approved\n"
        "  Approved: end, success\n"
        "\n"
        "simulated 1 disbursement: 1 success\n"
    )


def test_otherwise_is_shown_when_no_when_is_true(cli, tmp_path: Path) -> None:
    """COND-2."""
    result = cli("simulate", FLOW, jsonl(tmp_path, doc("D-1", "100000.00")))
    assert "disbursement_amount $100,000.00 > $100,000.00: false\n    otherwise → Approved\n" in result.out


def test_a_bad_line_is_located_and_the_others_still_run(cli, tmp_path: Path) -> None:
    """GEN-2 refusals per line; exit 1 at the end, every good line routed."""
    bad_amount = doc("bad", "1.00", "2.00", "1.234")
    negative = doc("neg", "-5.00")
    number = json.loads(json.dumps(doc("num", "1.00")))
    number["invoices"][0]["amount"] = 5
    missing = doc("miss", "1.00")
    del missing["funding_account"]
    src = jsonl(tmp_path, doc("ok-1", "5.00"), bad_amount, negative, number, missing, '{"id": "x",', "",
                doc("ok-2", "200000.00"))
    result = cli("simulate", FLOW, src, "--format", "jsonl")
    assert result.code == 1
    assert result.err.splitlines() == [
        "line 2: invoices[2].amount: `1.234` has more than two decimals (GEN-2)",
        "line 3: invoices[0].amount: `-5.00` is negative (GEN-2)",
        'line 4: invoices[0].amount: money must be a decimal string such as "100.00", not a JSON number (GEN-2)',
        "line 5: funding_account: required field is missing",
        "line 6: invalid JSON: Expecting property name enclosed in double quotes at column 12",
    ]
    assert [json.loads(line)["id"] for line in result.out.splitlines()] == ["ok-1", "ok-2"]


def test_stdin_and_a_single_pretty_printed_document(cli) -> None:
    text = json.dumps(doc("D-7", "100000.01"), indent=2)
    result = cli("simulate", FLOW, "-", "--format", "jsonl", stdin=text)
    assert result.code == 0
    assert json.loads(result.out) == {"id": "D-7", "path": CFO, "end": "Approved", "outcome": "success"}


def test_a_broken_single_document_is_located_by_line_and_column(cli) -> None:
    text = json.dumps(doc("D-7", "1.00"), indent=2)[:-2]
    result = cli("simulate", FLOW, "-", stdin=text)
    assert result.code == 1
    assert result.err.startswith("<stdin>: invalid JSON: ")
    assert " at line " in result.err


@pytest.mark.rule("STEP-6")
def test_answers_route_response_steps(cli, tmp_path: Path) -> None:
    """STEP-6: the answer decides; --default-answer for the rest."""
    src = jsonl(tmp_path, doc("D-1", "120000.00"))
    out = cli("simulate", FLOW, src, "--format", "jsonl", "--answer", "CFO Review=Reject").out
    assert json.loads(out)["path"][-2:] == ["CFO Review", "Rejected"]
    out = cli("simulate", FLOW, src, "--format", "jsonl", "--default-answer", "Reject").out
    assert json.loads(out) == {"id": "D-1", "path": ["Controller Review", "Rejected"], "end": "Rejected",
                               "outcome": "failure"}


def test_an_answer_no_step_offers_is_a_usage_error_with_a_hint(cli, tmp_path: Path) -> None:
    src = jsonl(tmp_path, doc("D-1", "1.00"))
    result = cli("simulate", FLOW, src, "--answer", "CFO Review=Aprove")
    assert result.code == 2
    assert 'offers "Approve", "Reject"; did you mean `Approve`?' in result.err
    result = cli("simulate", FLOW, src, "--answer", "CFO Reveiw=Approve")
    assert result.code == 2 and "did you mean `CFO Review`?" in result.err


def test_a_default_answer_a_step_does_not_offer_stops_that_route(cli, tmp_path: Path) -> None:
    result = cli("simulate", FLOW, jsonl(tmp_path, doc("D-1", "1.00")), "--format", "jsonl",
                 "--default-answer", "Return")
    assert result.code == 1
    assert json.loads(result.out) == {"id": "D-1", "path": ["Controller Review"], "end": None, "outcome": None}
    assert result.err == ('line 1: D-1: the route stopped: step "Controller Review" does not offer the answer '
                          '"Return" (it offers "Approve", "Reject")\n')


@pytest.mark.rule("COND-13")
def test_json_format_carries_the_reasons(cli, tmp_path: Path) -> None:
    """COND-13 in machine form: facts read with values, each when's result, the route."""
    result = cli("simulate", FLOW, jsonl(tmp_path, doc("D-1", "120000.00"), '{"id": 1}'), "--format", "json")
    assert result.code == 1
    body = json.loads(result.out)
    assert body["result"] == "error" and body["workflow"]["content_hash"].startswith("sha256:")
    decision = body["results"][0]["visits"][1]["decision"]
    assert decision["facts"] == [{"fact": "disbursement_amount", "value": "120000.00", "text": "$120,000.00"}]
    assert decision["text"] == ["disbursement_amount $120,000.00 > $100,000.00: true → CFO Review"]
    assert body["errors"][0]["line"] == 2


def test_a_flow_with_errors_is_not_simulated(cli, tmp_path: Path) -> None:
    flow = tmp_path / "typo.flow"
    flow.write_text(REFERENCE_FLOW.read_text(encoding="utf-8").replace('-> "CFO Review"', '-> "CFO Reveiw"'),
                    encoding="utf-8")
    result = cli("simulate", str(flow), jsonl(tmp_path, doc("D-1", "1.00")))
    assert (result.code, result.out) == (1, "")
    assert "error[name_unknown_step]" in result.err and "^" in result.err
    assert "nothing simulated" in result.err


def test_a_missing_input_is_a_usage_error(cli, tmp_path: Path) -> None:
    result = cli("simulate", FLOW, str(tmp_path / "nope.jsonl"))
    assert result.code == 2 and "nope.jsonl" in result.err


def test_an_empty_input_says_so(cli, tmp_path: Path) -> None:
    result = cli("simulate", FLOW, jsonl(tmp_path, ""))
    assert result.code == 1 and "no disbursement found" in result.err


@pytest.mark.rule("ROLL-6")
def test_simulating_writes_nothing(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ROLL-6: no file appears or changes anywhere under the working directory."""
    src = jsonl(tmp_path, doc("D-1", "120000.00"), doc("D-2", "1.234"))
    monkeypatch.chdir(tmp_path)

    def snapshot() -> dict[str, tuple[int, int]]:
        return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in tmp_path.rglob("*")}

    before = snapshot()
    for fmt in ("text", "json", "jsonl"):
        cli("simulate", FLOW, src, "--format", fmt)
    assert snapshot() == before
    assert os.listdir(tmp_path) == ["in.jsonl"]
