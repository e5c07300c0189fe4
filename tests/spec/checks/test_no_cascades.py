"""One mistake, one diagnostic: follow-on problems are not reported (issue 3).

Each case makes one mistake in an otherwise sound workflow and lists every
code `load_workflow` reports. The policy is documented in docs/diagnostics.md.
"""

from __future__ import annotations

import pytest

from dsl.load import load_workflow

HEAD = '''workflow "Cascades" {
    tool: payments
    manager: role "Workflow Manager"
    start: "Review"
'''
ENDS = '''
    end "Approved" success { }
    end "Rejected" failure { }
}
'''


def codes(body: str, *, head: str = HEAD) -> list[str]:
    loaded = load_workflow(head + body + ENDS, "cascade.flow")
    return [d.code for d in loaded.diagnostics]


REVIEW = '''
    response "Review" {
        assignees: role "Controller"
        on "Approve" -> "Amount"
        on "Reject" -> "Rejected"
    }
'''
AMOUNT = '''
    condition "Amount" {
        when disbursement_amount > $100,000.00 -> "CFO Review"
        otherwise -> "Approved"
    }
'''
CFO = '''
    response "CFO Review" {
        assignees: role "CFO"
        on "Approve" -> "Approved"
        on "Reject" -> "Rejected"
    }
'''


def test_the_base_workflow_is_clean() -> None:
    assert codes(REVIEW + AMOUNT + CFO) == []


def test_misspelled_target_does_not_make_its_step_unreachable() -> None:
    assert codes(REVIEW + AMOUNT.replace('-> "CFO Review"', '-> "CFO Reveiw"') + CFO) == \
        ["name_unknown_step"]


def test_unknown_target_without_a_match_silences_reachability() -> None:
    assert codes(REVIEW.replace('-> "Amount"', '-> "Board Vote"') + AMOUNT + CFO) == ["name_unknown_step"]


def test_unknown_start_with_a_match_is_followed() -> None:
    head = HEAD.replace('start: "Review"', 'start: "review"')
    assert codes(REVIEW + AMOUNT + CFO, head=head) == ["name_unknown_step"]


def test_missing_start_silences_reachability() -> None:
    head = HEAD.replace('    start: "Review"\n', "")
    assert codes(REVIEW + AMOUNT + CFO, head=head) == ["workflow_missing_start"]


def test_response_without_answers_is_not_also_a_dead_end() -> None:
    """STEP-4's check also stays quiet: the step has no answers at all."""
    cfo = CFO.replace('        on "Approve" -> "Approved"\n        on "Reject" -> "Rejected"\n',
                      "        requires: all\n")
    assert codes(REVIEW + AMOUNT + cfo) == ["response_no_answers"]


def test_condition_without_otherwise_is_not_also_a_dead_end() -> None:
    amount = AMOUNT.replace('        otherwise -> "Approved"\n', "")
    assert codes(REVIEW + amount + CFO) == ["condition_missing_otherwise"]


def test_condition_loop_is_not_also_a_dead_end() -> None:
    amount = AMOUNT.replace('otherwise -> "Approved"', 'otherwise -> "Count"')
    count = '''
    condition "Count" {
        when invoice_count > 10 -> "Amount"
        otherwise -> "Amount"
    }
'''
    assert codes(REVIEW + amount + count + CFO) == ["graph_condition_loop"]


def test_dead_end_is_reported_once_where_the_route_enters_it() -> None:
    cfo = CFO.replace('on "Approve" -> "Approved"', 'on "Approve" -> "Rework"') \
             .replace('on "Reject" -> "Rejected"', 'on "Reject" -> "Rework"')
    rework = '''
    response "Rework" {
        assignees: role "Project Manager"
        on "Resubmit" -> "CFO Review"
    }
'''
    loaded = load_workflow(HEAD + REVIEW + AMOUNT + cfo + rework + ENDS, "x.flow")
    assert [(d.code, d.message) for d in loaded.diagnostics] == \
        [("graph_no_end_reachable", "no end step can be reached from `CFO Review`")]


def test_duplicate_step_is_not_also_unreachable() -> None:
    assert codes(REVIEW + AMOUNT + CFO + CFO) == ["name_duplicate_step"]


def test_unknown_fact_is_not_also_a_type_error_or_shadowing() -> None:
    amount = AMOUNT.replace("when disbursement_amount > $100,000.00 -> \"CFO Review\"",
                            'when disbursment_amount > "big" -> "CFO Review"\n'
                            '        when disbursment_amount > "big" -> "Approved"')
    assert codes(REVIEW + amount + CFO) == ["name_unknown_fact", "name_unknown_fact"]


@pytest.mark.parametrize("fact", ["project.region", "project.delivery_method"])
def test_undocumented_project_field_far_from_any_is_a_plain_string(fact: str) -> None:
    amount = AMOUNT.replace("disbursement_amount > $100,000.00", f'{fact} == "West"')
    assert codes(REVIEW + amount + CFO) == []


def test_close_project_field_is_only_a_warning() -> None:
    amount = AMOUNT.replace("disbursement_amount > $100,000.00", 'project.sectr == "Healthcare"')
    loaded = load_workflow(HEAD + REVIEW + amount + CFO + ENDS, "x.flow")
    assert [(d.code, d.severity, d.hint) for d in loaded.diagnostics] == [(
        "name_unknown_project_field", "warning",
        "did you mean `project.sector`? (an undocumented field is read as a string, "
        "empty when the project has no such field)",
    )]
    assert loaded.ok
