"""``payroute test``: pass/fail, diffs, coverage numbers, thresholds, located errors.

Rules: COND-2 (coverage counts which `when` line decided), COND-3 (`otherwise`
counted apart), STEP-4 (a `requires: all` answer is the step's answer), GEN-2
(money in cases stays a quoted string; a YAML number is refused with a hint),
ROLL-6 (running cases writes nothing: only the report).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

FLOW = '''\
workflow "Small" {
    tool: payments
    manager: role "Workflow Manager"
    start: "Review"

    response "Review" {
        assignees: role "Reviewer"
        on "Approve" -> "Check"
        on "Reject" -> "Rejected"
        on "Hold" -> "Rejected"
    }

    condition "Check" {
        when disbursement_amount > $1,000.00 -> "Big"
        when invoice_count >= 3 -> "Big"
        otherwise -> "Approved"
    }

    response "Big" {
        assignees: role "CFO", role "CEO"
        requires: all
        on "Approve" -> "Approved"
        on "Reject" -> "Rejected"
    }

    end "Approved" success {
        status: "Approved"
    }

    end "Rejected" failure {
        status: "Rejected"
    }
}
'''

HEADER = '''\
defaults:
  disbursement:
    project: {id: P-1, name: Small Job}
    created_by: pm@example.com
    funding_account: FA-1
  invoice: {vendor: V, status: Approved, approved_by: pm@example.com}
cases:
'''

SMALL_CASE = '''\
  - name: small goes straight through
    disbursement:
      invoices: ["500.00"]
    expect:
      path: [Review, Check, Approved]
'''

BIG_REJECT = '''\
  - name: big and rejected by an executive
    disbursement:
      invoices: ["2000.00"]
    answers: {Big: Reject}
    expect:
      path: [Review, Check, Big, Rejected]
      outcome: failure
'''


def make(tmp_path: Path, cases: str, flow: str = FLOW, name: str = "small") -> Path:
    folder = tmp_path / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "workflow.flow").write_text(flow)
    (folder / "cases.yaml").write_text(cases)
    return folder


def test_coverage_numbers_on_a_small_workflow(cli, tmp_path):
    """13 elements: 5 steps, 5 answers, 2 `when` lines, 1 `otherwise` (COND-2, COND-3)."""
    folder = make(tmp_path, HEADER + SMALL_CASE)
    res = cli("test", str(folder))
    assert res.code == 0, res.out + res.err
    assert ("coverage: steps 3/5 60.0% · answers 1/5 20.0% · when 0/2 0.0% · otherwise 1/1 100.0% "
            "· overall 5/13 38.4%") in res.out  # 38.46 rounds down

    folder = make(tmp_path, HEADER + SMALL_CASE + BIG_REJECT)
    res = cli("test", str(folder))
    assert res.code == 0, res.out + res.err
    assert ("coverage: steps 5/5 100.0% · answers 2/5 40.0% · when 1/2 50.0% · otherwise 1/1 100.0% "
            "· overall 9/13 69.2%") in res.out
    assert ('not covered: answer "Reject" of "Review"; answer "Hold" of "Review"; '
            'when #2 of "Check" (invoice_count >= 3); answer "Approve" of "Big"') in res.out


def test_coverage_in_json(cli, tmp_path):
    folder = make(tmp_path, HEADER + SMALL_CASE + BIG_REJECT)
    res = cli("test", str(folder), "--format", "json")
    assert res.code == 0, res.err
    body = json.loads(res.out)
    assert body["result"] == "pass"
    assert body["summary"] == {"cases": 2, "passed": 2, "failed": 0, "below_threshold": False}
    cov = body["workflows"][0]["coverage"]
    assert {k: (v["covered"], v["total"]) for k, v in cov.items() if k != "missed"} == {
        "steps": (5, 5), "answers": (2, 5), "when": (1, 2), "otherwise": (1, 1), "overall": (9, 13)}
    assert body["coverage"]["overall"] == {"covered": 9, "total": 13, "percent": 69.2}
    case = body["workflows"][0]["cases"][1]
    assert case["actual"] == {"path": ["Review", "Check", "Big", "Rejected"], "end": "Rejected",
                              "outcome": "failure", "stopped": None}


def test_second_when_line_counts_only_when_it_decides(cli, tmp_path):
    """COND-2: three invoices of $100.00 are not over $1,000.00, so line 2 decides."""
    case = '''\
  - name: many small invoices
    disbursement:
      invoices: ["100.00", "100.00", "100.00"]
    expect: {path: [Review, Check, Big, Approved]}
'''
    res = cli("test", str(make(tmp_path, HEADER + case)), "--format", "json")
    cov = json.loads(res.out)["workflows"][0]["coverage"]
    assert (cov["when"]["covered"], cov["otherwise"]["covered"]) == (1, 0)
    assert 'when #1 of "Check" (disbursement_amount > $1,000.00)' in cov["missed"]


@pytest.mark.parametrize("threshold, code", [
    ("69.2", 0), ("69.23", 0), ("69.2308", 1), ("70", 1), ("100", 1), ("0", 0),
])
def test_threshold_is_compared_exactly(cli, tmp_path, threshold, code):
    """9/13 = 69.2307...%: the threshold compares the exact ratio, not the rounded display."""
    folder = make(tmp_path, HEADER + SMALL_CASE + BIG_REJECT)
    res = cli("test", str(folder), "--threshold", threshold)
    assert res.code == code, res.out
    below = f"coverage 69.2% is below the threshold of {threshold}%"
    assert (below in res.out) == (code == 1)


def test_threshold_100_passes_at_exactly_full_coverage(cli, tmp_path):
    cases = HEADER + SMALL_CASE + BIG_REJECT + '''\
  - name: held
    disbursement: {invoices: ["1.00"]}
    answers: {Review: Hold}
    expect: {end: Rejected}
  - name: rejected at once
    disbursement: {invoices: ["1.00"]}
    answers: {Review: Reject}
    expect: {path: [Review, Rejected]}
  - name: three invoices need the executives, who all approve (STEP-4)
    disbursement: {invoices: ["1.00", "1.00", "1.00"]}
    expect: {path: [Review, Check, Big, Approved], outcome: success}
'''
    res = cli("test", str(make(tmp_path, cases)), "--threshold", "100")
    assert res.code == 0, res.out + res.err
    assert "overall 13/13 100.0%" in res.out and "not covered" not in res.out


def test_threshold_must_be_a_percentage(cli, tmp_path):
    folder = make(tmp_path, HEADER + SMALL_CASE)
    for bad in ("abc", "101", "-1", "nan"):
        res = cli("test", str(folder), "--threshold", bad)
        assert res.code == 2 and "--threshold must be a number from 0 to 100" in res.err


def test_a_failing_case_is_reported_with_a_diff_and_exit_1(cli, tmp_path):
    wrong = '''\
  - name: wrongly expects the executives
    disbursement:
      invoices: ["1000.00"]
    expect:
      path: [Review, Check, Big, Approved]
      end: Approved
      outcome: failure
'''
    folder = make(tmp_path, HEADER + SMALL_CASE + wrong)
    res = cli("test", str(folder))
    assert res.code == 1
    assert "  ok    small goes straight through" in res.out
    assert f"  FAIL  wrongly expects the executives  ({folder / 'cases.yaml'}:13)" in res.out
    assert "\n".join([
        "          path differs at step 3:",
        "            expected: Review → Check → Big → Approved",
        "            actual:   Review → Check → Approved",
        "          outcome: expected failure, got success",
        "          route taken:",
        "            Review: Approve → Check",
        "            Check:",
        "              disbursement_amount $1,000.00 > $1,000.00: false",
        "              invoice_count 1 >= 3: false",
        "              otherwise → Approved",
        "            Approved: end, success",
    ]) in res.out
    assert "end: expected" not in res.out  # the end matched
    assert "2 cases: 1 passed, 1 failed" in res.out

    body = json.loads(cli("test", str(folder), "--format", "json").out)
    assert body["result"] == "fail"
    failed = body["workflows"][0]["cases"][1]
    assert failed["result"] == "fail" and failed["line"] == 13
    assert failed["mismatches"][0] == "path differs at step 3:"


def test_a_route_that_stops_says_why(cli, tmp_path):
    case = '''\
  - name: everyone says Maybe
    default_answer: Maybe
    disbursement: {invoices: ["1.00"]}
    expect: {end: Approved}
'''
    res = cli("test", str(make(tmp_path, HEADER + case)))
    assert res.code == 1
    assert 'end: expected "Approved", got no end' in res.out
    assert 'the route stopped: step "Review" does not offer the answer "Maybe"' in res.out


def test_cases_file_may_be_a_bare_list(cli, tmp_path):
    cases = '''\
- name: full document, no defaults
  disbursement:
    id: D-9
    project: {id: P-9, name: Nine, office: Denver, start_date: 2024-07-01}
    created_by: ana@example.com
    funding_account: FA-9
    invoices:
      - {id: I-1, vendor: Acme, amount: "1500.00", retainage_released: "0.00",
         status: Approved, approved_by: ana@example.com}
  answers: {Review: Approve, Big: Approve}
  expect: {path: [Review, Check, Big, Approved]}
'''
    res = cli("test", str(make(tmp_path, cases)))
    assert res.code == 0, res.out + res.err


def test_default_discovery_under_the_current_directory(cli, tmp_path, monkeypatch):
    make(tmp_path / "templates_examples", HEADER + SMALL_CASE, name="b_second")
    make(tmp_path / "templates_examples", HEADER + BIG_REJECT, name="a_first")
    (tmp_path / "templates_examples" / "no_cases").mkdir()
    monkeypatch.chdir(tmp_path)
    res = cli("test")
    assert res.code == 0, res.out + res.err
    assert res.out.index("templates_examples/a_first — Small") < res.out.index("templates_examples/b_second")
    assert "2 cases: 2 passed, 0 failed" in res.out
    # a folder of folders works too
    assert cli("test", "templates_examples").out == res.out


def test_missing_directory_is_a_usage_error(cli, tmp_path, monkeypatch):
    res = cli("test", str(tmp_path / "nope"))
    assert res.code == 2 and "nope: no such file or directory" in res.err
    (tmp_path / "empty").mkdir()
    res = cli("test", str(tmp_path / "empty"))
    assert res.code == 2 and "no cases.yaml" in res.err
    monkeypatch.chdir(tmp_path)
    res = cli("test")
    assert res.code == 2 and "no templates_examples/*/cases.yaml" in res.err
    assert "Traceback" not in res.err


def test_malformed_yaml_is_located(cli, tmp_path):
    folder = make(tmp_path, HEADER + '''\
  - name: bad
    expect: {path: [Review, Check?, Approved]}
''')
    res = cli("test", str(folder))
    assert res.code == 2
    assert "error: invalid YAML: expected ',' or ']', but got '?'" in res.err
    assert f"--> {folder / 'cases.yaml'}:9:" in res.err
    assert "Traceback" not in res.err + res.out


def test_every_problem_in_a_cases_file_is_located(cli, tmp_path):
    folder = make(tmp_path, HEADER + '''\
  - name: money as a YAML number
    disbursement:
      invoices: [1500.00]
    expect: {end: Approved}
  - name: three decimals, unknown steps and answers
    disbursement:
      invoices:
        - {amount: "10.001", vendr: X}
    answers: {Reveiw: Approve, Big: Maybe, Check: Approve}
    expect: {path: [Review, Chek], end: Review, outcom: success}
  - name: money as a YAML number
    disbursement: {invoices: ["1.00"]}
    expect: {end: Approved}
''')
    res = cli("test", str(folder))
    assert res.code == 2 and res.out.endswith("those files were not run\n")
    err = res.err
    expected = [
        ('case "money as a YAML number": disbursement.invoices[0]: must be an object, not a number',
         ":10:18", 'quote it: "1500.00" (YAML reads an unquoted 1500.00 as a number)'),
        ('disbursement.invoices[0].amount: `10.001` has more than two decimals (GEN-2)', ":15:20", None),
        ("disbursement.invoices[0].vendr: unknown field (did you mean `vendor`?)", ":15:30", None),
        ("`answers` names unknown step `Reveiw`", ":16:15", "did you mean `Review`?"),
        ("`Big` does not offer the answer `Maybe`", ":16:37", "it offers Approve, Reject"),
        ("`Check` is a condition step; only response steps take answers", ":16:44", None),
        ("`expect.path` names unknown step `Chek`", ":17:29", "did you mean `Check`?"),
        ("`expect.end` must name an end step, not `Review`", ":17:41", "the end steps are Approved, Rejected"),
        ("unknown key `outcom` in `expect`", ":17:49", "did you mean `outcome`?"),
        ('two cases are named "money as a YAML number"', ":18:", None),
    ]
    for message, where, hint in expected:
        assert message in err, message
        block = err[err.index(message):].split("\n\n")[0]
        assert f"cases.yaml{where}" in block, (message, block)
        if hint:
            assert hint in block, (hint, block)


def test_json_format_lists_cases_file_problems(cli, tmp_path):
    folder = make(tmp_path, HEADER + '''\
  - name: x
    disbursement: {invoices: ["1.00"]}
    expect: {}
''')
    res = cli("test", str(folder), "--format", "json")
    assert res.code == 2
    body = json.loads(res.out)
    assert body["result"] == "error"
    assert body["errors"][0]["line"] == 10
    assert "`expect` must give `path`, `end` or `outcome`" in body["errors"][0]["message"]


def test_a_workflow_with_errors_is_reported_not_run(cli, tmp_path):
    broken = FLOW.replace('on "Reject" -> "Rejected"\n        on "Hold"', 'on "Reject" -> "Rejectd"\n        on "Hold"')
    folder = make(tmp_path, HEADER + SMALL_CASE, flow=broken)
    res = cli("test", str(folder))
    assert res.code == 1
    assert "error[name_unknown_step]" in res.err and "did you mean `Rejected`?" in res.err
    assert "its cases were not run" in res.err


def test_missing_workflow_file_is_located(cli, tmp_path):
    folder = tmp_path / "x"
    folder.mkdir()
    (folder / "cases.yaml").write_text("workflow: nope.flow\n" + HEADER + SMALL_CASE)
    res = cli("test", str(folder))
    assert res.code == 2 and "workflow file `nope.flow` not found next to cases.yaml" in res.err
    assert "cases.yaml:1:11" in res.err


@pytest.mark.rule("ROLL-6")
def test_running_cases_writes_nothing(cli, tmp_path):
    """ROLL-6: a test run leaves the folder exactly as it was."""
    folder = make(tmp_path, HEADER + SMALL_CASE + BIG_REJECT)
    before = {p: p.read_bytes() for p in folder.rglob("*")}
    assert cli("test", str(folder)).code == 0
    assert {p: p.read_bytes() for p in folder.rglob("*")} == before
