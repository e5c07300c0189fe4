"""An invoice's `status` and `approved_by` are optional: routing reads neither (COND-5).

`approved_by`, when given, is what segregation of duties will read, so a value
that is present is still validated — by the simulator's fast path and by the
model alike.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dsl.simulate_input import FastReader, full_facts
from engine.spec.disbursement import DisbursementError, parse_disbursement_json
from engine.spec.facts import FACTS
from tests.payroute_docs import REFERENCE_FLOW, disbursement, invoice

FLOW = str(REFERENCE_FLOW)
CFO = ["Controller Review", "> $100,000.00", "CFO Review", "Approved"]


def bare_invoice(amount: str, **extra: object) -> dict[str, object]:
    inv = invoice(amount, id=extra.pop("id", "INV-1"))
    del inv["status"], inv["approved_by"]
    return {**inv, **extra}


@pytest.mark.rule("COND-5")
def test_simulate_routes_invoices_without_status_or_approver(cli, tmp_path: Path) -> None:
    bare = disbursement(bare_invoice("60000.00", id="I-1"), bare_invoice("60000.00", id="I-2"), id="bare")
    nulls = disbursement(invoice("120000.00", status=None, approved_by=None), id="nulls")
    bad_email = disbursement(bare_invoice("5.00", approved_by="not-an-email"), id="bad-email")
    empty_status = disbursement(bare_invoice("5.00", status=""), id="empty-status")
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in (bare, nulls, bad_email, empty_status)), encoding="utf-8")
    result = cli("simulate", FLOW, str(path), "--format", "jsonl")
    assert [json.loads(line) for line in result.out.splitlines()] == [
        {"id": "bare", "path": CFO, "end": "Approved", "outcome": "success"},
        {"id": "nulls", "path": CFO, "end": "Approved", "outcome": "success"},
    ]
    assert result.code == 1
    assert result.err.splitlines() == [
        'line 3: invoices[0].approved_by: `not-an-email` is not an email address such as "ana@example.com"',
        "line 4: invoices[0].status: must not be empty",
    ]


@pytest.mark.rule("COND-5")
def test_both_readers_agree_on_absent_and_present_fields() -> None:
    """The fast path and the model accept the same documents with the same facts (and the model keeps
    `approved_by` for segregation of duties)."""
    names = frozenset(FACTS)
    fast = FastReader(names)
    bare = json.dumps(disbursement(bare_invoice("10.00"))).encode()
    assert fast.read(bare) == full_facts(bare, names)
    given = json.dumps(disbursement(invoice("10.00", approved_by="pm@example.com"))).encode()
    assert fast.read(given) == full_facts(given, names)
    assert parse_disbursement_json(given).invoices[0].approved_by == "pm@example.com"
    assert parse_disbursement_json(bare).invoices[0].approved_by is None
    wrong = json.dumps(disbursement(bare_invoice("10.00", approved_by=7))).encode()
    assert fast.read(wrong) is None
    with pytest.raises(DisbursementError) as e:
        full_facts(wrong, names)
    assert e.value.lines() == ["invoices[0].approved_by: must be an email address in a string, not a number"]
