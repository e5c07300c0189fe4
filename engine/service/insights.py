"""Workflow insights for workflow managers: per response step of a template, how it performs.

The numbers are computed by the pure :func:`engine.runtime.step_insights.step_insights` from
the occurrences every instance of the template recorded (each transition, as the audit chain
has it: entered, due, answered, decided); this module is the query around it: who may ask, which
template, which instances, and the company calendar and clock the overdue test needs
(STEP-9, GEN-6).

Who may ask (GEN-4, checked here, never only by a page): an active member of the company who
is a Payments Admin (ROLE-1) or may be a workflow manager (Can Be Workflow Manager and
eligible, ROLE-7, ROLE-8). Anyone else in the company is ``permission_denied``; a stranger or a
deactivated member is ``not_found`` (GEN-5).

:func:`workflow_insights` is a query of the engine's contract ``(svc, actor, company_id, ...)``;
it changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from engine.errors import DomainError
from engine.runtime.step_insights import StepInsight, step_insights
from engine.security.permissions import CAN_BE_MANAGER, LABELS, PAYMENTS_ADMIN, held, manages, membership
from engine.service.directory import get_company
from engine.service.instance_store import calendar_of, state_of
from engine.service.templates import active_version, version_config
from engine.services import Services
from engine.spec.model import ResponseStep
from engine.store.tables import Instance, Template
from engine.text import is_id

__all__ = ["TemplateChoice", "WorkflowInsights", "workflow_insights"]


@dataclass(frozen=True)
class TemplateChoice:
    """A template the insights can be asked for (not archived)."""

    id: str
    name: str
    is_default: bool


@dataclass(frozen=True)
class WorkflowInsights:
    """One template's steps, over every instance of it (every version, every restart)."""

    #: None when the company has no template to show (no default and none asked for)
    template_id: str | None
    template_name: str | None
    #: a row per response step: the version in force's steps first, in its order
    steps: tuple[StepInsight, ...]
    #: how many instances were counted, and how many of them are still running
    instances: int
    active: int
    #: the other templates of the company, for a choice
    templates: tuple[TemplateChoice, ...]
    #: GEN-6: the company's time zone and its date today (what "overdue" was judged against)
    time_zone: str
    today: date


def workflow_insights(svc: Services, actor: str, company_id: str, template_id: str | None = None) -> WorkflowInsights:
    """Per response step of ``template_id`` (default: the company's default template), over every
    instance of it: visits, the median and 90th percentile time to respond, the overdue rate and
    the rejections. Only a Payments Admin or an eligible workflow manager may ask (ROLE-7, ROLE-8);
    an unknown template is ``not_found`` (GEN-5)."""
    with svc.db.sessions() as s:
        member = membership(s, company_id, actor)
        if member is None or not member.active:
            raise DomainError("not_found", "no such company", rule="GEN-5")
        perms = held(s, company_id, actor)
        if PAYMENTS_ADMIN not in perms and not manages(perms):
            raise DomainError("permission_denied", "workflow insights are for workflow managers: they need "
                              f"{LABELS[CAN_BE_MANAGER]} (with a payments role) or {LABELS[PAYMENTS_ADMIN]}",
                              rule="ROLE-7", missing=LABELS[CAN_BE_MANAGER])
        company = get_company(s, company_id)
        calendar = calendar_of(company)
        now = svc.now()
        rows = list(s.scalars(select(Template).where(Template.company_id == company_id)
                              .order_by(Template.created_at, Template.id)))
        choices = tuple(TemplateChoice(t.id, t.name, t.id == company.default_template_id)
                        for t in rows if not t.archived)
        wanted = template_id if template_id is not None else company.default_template_id
        if wanted is None:
            return WorkflowInsights(None, None, (), 0, 0, choices, calendar.time_zone, calendar.local_date(now))
        template = next((t for t in rows if t.id == wanted), None) if is_id(wanted) else None
        if template is None:
            raise DomainError("not_found", "no such template", rule="GEN-5")
        version = active_version(s, template.id)
        order = [st.name for st in version_config(version).steps if isinstance(st, ResponseStep)] if version else []
        found = s.execute(select(Instance.status, Instance.state, Instance.first_seq, Instance.end_step,
                                 Instance.outcome, Instance.blocked)
                          .where(Instance.company_id == company_id, Instance.template_id == template.id)).all()
        states = [state_of(*row) for row in found]
        return WorkflowInsights(template.id, template.name, step_insights(states, order, calendar, now),
                                len(states), sum(1 for st in states if st.status == "active"), choices,
                                calendar.time_zone, calendar.local_date(now))
