"""The workflow insights page (GET /insights): how each step of a workflow performs, as charts.

For workflow managers: who may look is :func:`engine.service.insights.workflow_insights`'s
check (a Payments Admin, or an eligible holder of Can Be Workflow Manager, ROLE-7/ROLE-8), and
a refusal is drawn as a page that says why (403). The numbers are the engine's; this module only
words them (durations, percentages) and hands them to :mod:`web.pages.charts`.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from flask import Blueprint, render_template, request
from markupsafe import Markup

from engine.errors import DomainError
from engine.runtime.step_insights import StepInsight
from engine.service.insights import WorkflowInsights, workflow_insights
from web.pages.charts import Series, bar_chart
from web.errors import status_for
from web.pages.context import current, engine_error, services, signed_in

#: the top bar links to ``insights.insights``
bp = Blueprint("insights", __name__)


def duration_words(value: timedelta | None) -> str:
    """``3 d 4 h``, ``5 h 20 min``, ``12 min``, ``under 1 min``; an em dash when nothing was timed."""
    if value is None:
        return "—"
    minutes = int(value.total_seconds() // 60)
    if minutes < 1:
        return "under 1 min"
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min"


def percent_words(rate: Decimal | None) -> str:
    """``0.3333`` → ``33%``; an em dash when no occurrence had a due date."""
    if rate is None:
        return "—"
    return f"{(rate * 100).quantize(Decimal('1'))}%"


def _hours(value: timedelta | None) -> Decimal | None:
    return None if value is None else Decimal(int(value.total_seconds())) / 3600


def charts(report: WorkflowInsights) -> list[Markup]:
    """The three charts of a report: time to respond, overdue rate, visits and rejections."""
    steps: list[StepInsight] = list(report.steps)
    names = [s.step for s in steps]
    slowest = max(steps, key=lambda s: s.p90 or timedelta(0), default=None)
    latest = max(steps, key=lambda s: s.overdue_rate or Decimal(0), default=None)
    return [
        bar_chart(
            chart_id="chart-time", title="Time to respond",
            desc=("Median and 90th percentile time from a step being entered to its deciding answer, per step."
                  + (f" The slowest 90th percentile is {duration_words(slowest.p90)} at {slowest.step}."
                     if slowest is not None and slowest.p90 is not None else " No step has been answered yet.")),
            categories=names,
            series=[Series("Median", "primary", tuple(_hours(s.median) for s in steps),
                           tuple(duration_words(s.median) for s in steps)),
                    Series("90th percentile", "secondary", tuple(_hours(s.p90) for s in steps),
                           tuple(duration_words(s.p90) for s in steps))]),
        bar_chart(
            chart_id="chart-overdue", title="Overdue rate",
            desc=("Share of the visits with a due date that were answered after it or are open and overdue now."
                  + (f" The highest is {percent_words(latest.overdue_rate)} at {latest.step}."
                     if latest is not None and latest.overdue_rate is not None else "")),
            categories=names, scale_max=100, value_heading="Overdue",
            series=[Series("Overdue", "warn",
                           tuple(None if s.overdue_rate is None else s.overdue_rate * 100 for s in steps),
                           tuple(f"{percent_words(s.overdue_rate)} ({s.overdue} of {s.overdue_base})"
                                 if s.overdue_base else "—" for s in steps))]),
        bar_chart(
            chart_id="chart-rejections", title="Visits and rejections",
            desc="How many times each step was visited, and how many of those visits were decided Reject.",
            categories=names,
            series=[Series("Visits", "secondary", tuple(s.visits for s in steps),
                           tuple(str(s.visits) for s in steps)),
                    Series("Rejections", "bad", tuple(s.rejections for s in steps),
                           tuple(str(s.rejections) for s in steps))]),
    ]


@bp.get("/insights")
@signed_in
def insights() -> tuple[str, int] | str:
    """The insights of the template chosen (``?template=<id>``), else the company's default."""
    user = current()
    chosen = request.args.get("template") or None
    try:
        report = workflow_insights(services(), user.user_id, user.company_id, template_id=chosen)
    except DomainError as exc:
        status = status_for(exc)
        return render_template("insights_refused.html", message=engine_error(exc), status=status), status
    return render_template("insights.html", report=report, charts=charts(report) if report.steps else [],
                           duration_words=duration_words, percent_words=percent_words)
