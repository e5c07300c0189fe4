"""Issue 8: publish refuses what could not run (WF-5), as `payroute check` does.

Before, a due period of 3,000,000 days, a 27-digit amount or a step name
with a carriage return passed both check and publish and failed later: in the
calendar, in simulate, in an email subject.
"""

from __future__ import annotations

import pytest

from dsl.load import load_workflow
from engine.service import templates
from engine.service.templates import PublishRefused
from tests.world import REFERENCE, build_world

CASES = {
    "due_days_too_large": REFERENCE.replace("due: 5 calendar days", "due: 3000000 calendar days", 1),
    "number_too_large": REFERENCE.replace("when disbursement_amount > $100,000.00",
                                          "when disbursement_amount > $" + "9" * 27),
    "text_invalid": REFERENCE.replace('"CFO Review"', '"CFO\rReview"'),
}


@pytest.mark.rule("WF-5", "STEP-8", "GEN-3")
@pytest.mark.parametrize("code", sorted(CASES))
def test_publish_refuses_values_that_could_not_run(svc, code: str) -> None:
    w = build_world(svc, configure=False)
    with pytest.raises(PublishRefused) as e:
        templates.publish(svc, w.admin, w.company, w.template, load_workflow(CASES[code], "workflow.flow"))
    assert {d.code for d in e.value.diagnostics} == {code}
    assert [v.label for v in templates.list_versions(svc, w.admin, w.company, w.template)] == ["1.0"]
