"""The workflow insights page in a browser: for a workflow manager, per step, the time to respond
(median and 90th percentile), the overdue rate and the rejections as server-drawn SVG charts with
their numbers as tables, from weeks of history made through the engine; anyone else is refused
with a page that says why (ROLE-7). Screenshots and axe-core on both."""

from __future__ import annotations

import re
from typing import Any, Iterator

import pytest

from tests.browser.conftest import Live
from tests.browser.helpers import assert_accessible, shoot, sign_in, sign_out, totp_for
from tests.browser.workflow_history import make_history


@pytest.fixture(scope="module")
def history(live: Live) -> Iterator[None]:
    make_history(live.database_url)
    yield None


def _report(live: Live) -> Any:
    """The same numbers as the engine computes them, for the page to be checked against."""
    from engine.service.demo import find_demo
    from engine.service.insights import workflow_insights
    from engine.services import Services
    from engine.store.db import Database

    svc = Services(Database(live.database_url))
    try:
        demo = find_demo(svc)
        assert demo is not None
        return workflow_insights(svc, demo.users["admin@demo.example"], demo.company)
    finally:
        svc.db.dispose()


@pytest.mark.rule("ROLE-7")
def test_a_workflow_manager_sees_each_steps_charts_and_numbers(page, live, history) -> None:
    from web.pages.insights import duration_words, percent_words

    sign_in(page, live, "admin@demo.example", totp_for(live, "admin@demo.example")())
    page.get_by_role("link", name="Insights").click()
    page.wait_for_url(re.compile(r".*/insights$"))
    charts = page.locator("svg.chart[role='img']")
    assert charts.count() == 3
    titles = [charts.nth(i).locator("title").first.text_content() for i in range(3)]
    assert titles == ["Time to respond", "Overdue rate", "Visits and rejections"]
    for i in range(3):  # each image is named by its title and described by its desc
        ids = (charts.nth(i).get_attribute("aria-labelledby") or "").split()
        assert len(ids) == 2 and page.locator(f"#{ids[1]}").text_content()

    report = _report(live)
    table = page.locator("table.insights-table tbody tr")
    assert table.count() == len(report.steps) == 2
    for row, step in zip(table.all(), report.steps):
        cells = [c.inner_text().strip() for c in row.locator("th, td").all()]
        assert cells[0] == step.step
        assert cells[1:4] == [str(step.visits), str(step.answered), str(step.open)]
        assert cells[4:6] == [duration_words(step.median), duration_words(step.p90)]
        assert cells[6].startswith(percent_words(step.overdue_rate)) and cells[7] == str(step.rejections)
    assert report.steps[0].rejections >= 3 and report.steps[0].overdue >= 1
    shoot(page, "insights")
    assert_accessible(page)

    # a chart's numbers open from the keyboard
    summary = page.locator("#chart-time-table").locator("xpath=ancestor::details/summary")
    summary.focus()
    page.keyboard.press("Enter")
    assert page.locator("#chart-time-table").is_visible()
    assert page.locator("#chart-time-table tbody tr").first.locator("th").inner_text() == "Controller Review"

    # whatever is typed into the address bar, a page that says so, never a traceback
    for bad in ("<script>alert(1)</script>", "0" * 32, "x" * 1000):
        response = page.goto(f"{live.url}/insights?template={bad}")
        assert response is not None and response.status == 404
        assert page.get_by_role("alert").inner_text() == "No such template"
        assert page.locator("script:not([src])").count() == 0
    sign_out(page)


@pytest.mark.rule("ROLE-7")
def test_a_reviewer_who_manages_no_workflow_is_refused_with_the_reason(page, live, history) -> None:
    sign_in(page, live, "controller@demo.example", totp_for(live, "controller@demo.example")())
    response = page.goto(f"{live.url}/insights")
    assert response is not None and response.status == 403
    assert page.get_by_role("heading", name="You cannot see workflow insights").is_visible()
    assert "Can Be Workflow Manager" in page.get_by_role("alert").inner_text()
    assert page.locator("svg.chart").count() == 0
    shoot(page, "insights-refused")
    assert_accessible(page)
