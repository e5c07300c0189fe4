"""The rule editor's live panel (dsl.playground.play): the same diagnostics as `payroute check
--format json`, the same diagram as `payroute diagram --path`, the same routes and reasons as
`payroute simulate`, for whatever a user types."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dsl.playground import MAX_SAMPLES, play, suggestion
from tests.conftest import EXAMPLES, REFERENCE_FLOW

REFERENCE = REFERENCE_FLOW.read_text(encoding="utf-8")
SAMPLES = (EXAMPLES / "reference" / "disbursements.jsonl").read_text(encoding="utf-8").splitlines()
#: the reference workflow with the CFO step misspelt where the condition routes to it (line 17)
MISSPELT = REFERENCE.replace('-> "CFO Review"', '-> "CFO Reveiw"')


def _big_sample() -> str:
    """D-1005, $139,430.55 in all: over $100,000.00, so routed through the CFO."""
    return next(line for line in SAMPLES if json.loads(line)["id"] == "D-1005")


def test_diagnostics_are_check_json_with_the_suggestion_pulled_out(cli, tmp_path: Path) -> None:
    flow = tmp_path / "workflow.flow"
    flow.write_text(MISSPELT, encoding="utf-8")
    checked = json.loads(cli("check", str(flow), "--format", "json").out)
    shown = play(MISSPELT)
    assert shown.result == "error" == checked["result"] and not shown.ok
    for mine, theirs in zip(shown.diagnostics, checked["diagnostics"], strict=True):
        assert {k: v for k, v in mine.items() if k not in ("file", "suggestion")} == \
            {k: v for k, v in theirs.items() if k != "file"}
    (d,) = shown.diagnostics
    assert (d["code"], d["line"], d["column"], d["end_column"]) == ("name_unknown_step", 17, 51, 63)
    assert d["suggestion"] == "CFO Review" and d["hint"] == "did you mean `CFO Review`?"
    assert shown.summary == "1 error"


@pytest.mark.rule("WF-5")
def test_a_workflow_with_errors_is_not_drawn_nor_simulated() -> None:
    shown = play(MISSPELT, SAMPLES[0])
    assert shown.mermaid is None and shown.diagram_problem == "Fix the errors to see the diagram."
    assert shown.routes == () and shown.sample_problems == ()


def test_a_syntax_error_is_located_and_nothing_breaks() -> None:
    shown = play('workflow "x" {\n    start: \n')
    assert shown.result == "error" and shown.diagnostics[0]["code"] == "syntax_error"
    assert shown.diagnostics[0]["line"] is not None and shown.responses == ()


def test_the_diagram_is_payroute_diagram_and_highlights_the_route(cli, tmp_path: Path) -> None:
    flow = tmp_path / "workflow.flow"
    flow.write_text(REFERENCE, encoding="utf-8")
    plain = play(REFERENCE)
    assert plain.ok and plain.mermaid == cli("diagram", str(flow)).out and plain.routes == ()
    sample = _big_sample()
    shown = play(REFERENCE, sample)
    (route,) = shown.routes
    assert route.path == ("Controller Review", "> $100,000.00", "CFO Review", "Approved")
    assert shown.mermaid == cli("diagram", str(flow), "--path", ",".join(route.path)).out
    assert "linkStyle" in shown.mermaid and "linkStyle" not in plain.mermaid


@pytest.mark.rule("COND-13", "ROLL-6")
def test_routes_and_reasons_are_payroute_simulate_s(cli, tmp_path: Path) -> None:
    flow = tmp_path / "workflow.flow"
    flow.write_text(REFERENCE, encoding="utf-8")
    batch = tmp_path / "batch.jsonl"
    batch.write_text("\n".join(SAMPLES) + "\n", encoding="utf-8")
    shown = play(REFERENCE, "\n".join(SAMPLES), answers={"CFO Review": "Reject"})
    text = cli("simulate", str(flow), str(batch), "--answer", "CFO Review=Reject").out
    assert "\n\n".join("\n".join(r.lines) for r in shown.routes) + "\n\n" == text.rsplit("simulated", 1)[0]
    documents = json.loads(cli("simulate", str(flow), str(batch), "--answer", "CFO Review=Reject",
                               "--format", "json").out)["results"]
    for route, document in zip(shown.routes, documents, strict=True):
        assert (route.id, list(route.path), route.end, route.outcome, route.stopped, list(route.visits)) == \
            (document["id"], document["path"], document["end"], document["outcome"], document["stopped"],
             document["visits"])
    big = next(r for r in shown.routes if "CFO Review" in r.path)
    assert big.end == "Rejected" and big.outcome == "failure"
    assert any(line.strip().startswith("disbursement_amount $") and line.endswith("true → CFO Review")
               for line in big.lines)


def test_a_pretty_printed_sample_is_one_document() -> None:
    document = json.dumps(json.loads(SAMPLES[0]), indent=2)
    (route,) = play(REFERENCE, document).routes
    assert route.line is None and route.lines[0] == f"{route.id}: Approved (success)"


def test_a_bad_sample_or_answer_is_refused_in_words() -> None:
    broken = play(REFERENCE, '{"id": 7, "invoices": []}')
    assert broken.routes == () and broken.mermaid is not None
    assert any(p.startswith("line 1: id: ") for p in broken.sample_problems)
    assert play(REFERENCE, "not json at all").sample_problems
    wrong = play(REFERENCE, SAMPLES[0], answers={"Controller Review": "Aprove"})
    assert wrong.routes == ()
    assert wrong.sample_problems == ('answer for Controller Review: "Controller Review" offers "Approve", '
                                     '"Reject"; did you mean `Approve`?',)
    stale = play(REFERENCE, SAMPLES[0], answers={"Controler Review": "Reject"})
    assert stale.sample_problems == ('answer for Controler Review: no response step "Controler Review"; '
                                     'did you mean `Controller Review`?',)
    (kept,) = play(REFERENCE, SAMPLES[0], answers={"Controler Review": "Reject", "Controller Review": "Reject"},
                   known_steps_only=True).routes
    assert kept.end == "Rejected"
    assert play(REFERENCE, "   \n").sample_problems == () and play(REFERENCE, "").routes == ()


def test_at_most_max_samples_are_routed() -> None:
    many = "\n".join([SAMPLES[0]] * (MAX_SAMPLES + 5))
    shown = play(REFERENCE, many)
    assert len(shown.routes) == MAX_SAMPLES
    assert shown.sample_problems == (f"only the first {MAX_SAMPLES} disbursements are simulated here;"
                                     " use `payroute simulate` for more",)


def test_response_steps_and_their_answers_for_the_pickers() -> None:
    assert play(REFERENCE).responses == (("Controller Review", ("Approve", "Reject")),
                                         ("CFO Review", ("Approve", "Reject")))


def test_suggestion_reads_only_did_you_mean_hints() -> None:
    assert suggestion("did you mean `CFO Review`?") == "CFO Review"
    assert suggestion("add an `otherwise` line") is None and suggestion(None) is None


@pytest.mark.parametrize("text", ["", "\x00\ud800", "{" * 5000, 'workflow "' + "x" * 10_000, "\ufeff"])
def test_nothing_a_user_types_raises(text: str) -> None:
    shown = play(text, text)
    assert shown.result == "error" and shown.diagnostics


def test_a_stored_json_config_opens_as_its_flow_text(cli, tmp_path: Path) -> None:
    from dsl.playground import editable_text

    flow = tmp_path / "workflow.flow"
    flow.write_text(REFERENCE, encoding="utf-8")
    config = cli("compile", str(flow)).out
    text = editable_text(config, "json")
    assert text is not None and play(text).ok
    assert play(text).mermaid == play(REFERENCE).mermaid
    assert editable_text(REFERENCE, "flow") == REFERENCE
    assert editable_text("{not json", "json") is None
