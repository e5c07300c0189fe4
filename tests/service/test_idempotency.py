"""GEN-8: every state-changing command takes an idempotency key.

A retry with the same key and body returns the first result without a second
effect — also after the object has moved on; the same key with another body is
refused; and a retry is judged on the actor's standing *now*, so a user who has
lost the role cannot obtain the result again by replaying a key.
"""

from __future__ import annotations

import inspect

import pytest
from sqlalchemy import func, select

from engine.errors import DomainError
from engine.payments import bank_accounts
from engine.security.permissions import PAYMENTS_DISBURSER
from engine.service import directory, disbursements, instances, templates
from engine.service.disbursements import PaymentLine
from engine.store.tables import AuditEntry, Instance, OutboxEmail, TemplateVersion
from tests.roles import grant_role
from tests.world import REFERENCE, build_world

#: modules whose public ``f(svc, actor, company_id, ...)`` functions are the engine's commands
COMMAND_MODULES = (directory, templates, disbursements, instances, bank_accounts)
#: functions of that shape that only read
QUERIES = {"list_versions", "is_configured", "view",
           "read_company", "list_members", "read_member", "list_groups", "read_group", "list_projects",
           "read_project", "list_invoices", "read_invoice", "list_templates", "read_template",
           "list_bank_accounts", "read_bank_account", "member_names", "read_source"}


def _commands() -> list[tuple[str, object]]:
    found = []
    for module in COMMAND_MODULES:
        for name, fn in sorted(vars(module).items()):
            if name.startswith("_") or not inspect.isfunction(fn) or fn.__module__ != module.__name__:
                continue
            if list(inspect.signature(fn).parameters)[:3] == ["svc", "actor", "company_id"] and name not in QUERIES:
                found.append((f"{module.__name__}.{name}", fn))
    return found


def effects(svc) -> tuple[int, int, int]:
    """Audit entries, emails and instances: what a second effect would add to."""
    with svc.db.sessions() as s:
        return (s.scalar(select(func.count(AuditEntry.id))), s.scalar(select(func.count(OutboxEmail.id))),
                s.scalar(select(func.count(Instance.id))))


@pytest.mark.rule("GEN-8")
def test_every_state_changing_command_takes_a_key() -> None:
    commands = _commands()
    assert len(commands) >= 25, [n for n, _ in commands]
    assert [n for n, fn in commands if not hasattr(fn, "idempotent_op")] == []
    assert [n for n, fn in commands if "idempotency_key" not in inspect.signature(fn).parameters] == []


def _create(w, inv: str, key: str | None = None) -> str:
    return disbursements.create_disbursement(w.svc, w.creator, w.company, project_id=w.project,
                                             funding_account=w.funding, payments=[PaymentLine(inv)],
                                             idempotency_key=key).id


def _approve_controller(w, d: str):
    occ = instances.view(w.svc, w.admin, w.company, d).current_occurrence
    return instances.respond(w.svc, w.controller, w.company, d, occurrence=occ, answer="Approve")


@pytest.mark.rule("GEN-8", "MGR-5")
def test_a_retried_restart_runs_once(svc) -> None:
    w = build_world(svc)
    d = _create(w, w.invoice("10.00"))
    first = instances.restart(svc, w.manager, w.company, d, reason="new facts", idempotency_key="rs-1")
    before = effects(svc)
    again = instances.restart(svc, w.manager, w.company, d, reason="new facts", idempotency_key="rs-1")
    assert again == first and effects(svc) == before
    with svc.db.sessions() as s:
        assert s.scalar(select(func.count(Instance.id)).where(Instance.disbursement_id == d)) == 2
    with pytest.raises(DomainError) as e:
        instances.restart(svc, w.manager, w.company, d, reason="other facts", idempotency_key="rs-1")
    assert (e.value.code, e.value.rule) == ("idempotency_conflict", "GEN-8")


@pytest.mark.rule("GEN-8")
def test_a_replayed_respond_returns_the_first_result_not_the_current_state(svc) -> None:
    w = build_world(svc)
    d = _create(w, w.invoice("150000.00"))
    occ = instances.view(svc, w.admin, w.company, d).current_occurrence
    first = instances.respond(svc, w.controller, w.company, d, occurrence=occ, answer="Approve",
                              idempotency_key="r-1")
    assert first.workflow_status == "Under Review"
    cfo = instances.view(svc, w.admin, w.company, d)
    instances.respond(svc, w.cfo, w.company, d, occurrence=cfo.current_occurrence, answer="Approve")
    assert instances.view(svc, w.admin, w.company, d).workflow_status == "Approved"
    before = effects(svc)
    again = instances.respond(svc, w.controller, w.company, d, occurrence=occ, answer="Approve",
                              idempotency_key="r-1")
    assert again == first and effects(svc) == before


@pytest.mark.rule("GEN-8", "ROLE-8")
def test_a_replay_is_judged_on_the_actors_standing_now(svc) -> None:
    """The stored result is not handed to a user who has lost the right to the command."""
    w = build_world(svc)
    inv = w.invoice("10.00")
    d = _create(w, inv, key="c-1")
    assert _create(w, inv, key="c-1") == d
    directory.set_user_active(svc, w.admin, w.company, w.creator, False)
    with pytest.raises(DomainError) as e:
        _create(w, inv, key="c-1")
    assert e.value.code == "permission_denied"


@pytest.mark.rule("GEN-8")
def test_keys_belong_to_their_actor(svc) -> None:
    w = build_world(svc)
    grant_role(svc, w.admin, w.company, w.controller, PAYMENTS_DISBURSER)  # already one: a no-op
    a = _create(w, w.invoice("10.00"), key="same")
    b = disbursements.create_disbursement(svc, w.admin, w.company, project_id=w.project, funding_account=w.funding,
                                          payments=[PaymentLine(w.invoice("20.00"))], idempotency_key="same").id
    assert a != b


@pytest.mark.rule("GEN-8")
def test_retried_manager_admin_and_template_commands_change_nothing_more(svc) -> None:
    w = build_world(svc)
    d = _create(w, w.invoice("10.00"))
    instances.terminate(svc, w.manager, w.company, d, reason="wrong payee", idempotency_key="t-1")
    before = effects(svc)
    # without the key the second terminate is refused (nothing is active); with it, it is the first result
    instances.terminate(svc, w.manager, w.company, d, reason="wrong payee", idempotency_key="t-1")
    assert effects(svc) == before

    version = templates.publish(svc, w.admin, w.company, w.template, _source(), idempotency_key="p-1")
    again = templates.publish(svc, w.admin, w.company, w.template, _source(), idempotency_key="p-1")
    assert again == version
    with svc.db.sessions() as s:
        assert s.scalar(select(func.count(TemplateVersion.id)).where(TemplateVersion.template_id == w.template)) == 2

    directory.update_settings(svc, w.admin, w.company, time_zone="America/Chicago", idempotency_key="s-1")
    before = effects(svc)
    directory.update_settings(svc, w.admin, w.company, time_zone="America/Chicago", idempotency_key="s-1")
    assert effects(svc) == before
    with pytest.raises(DomainError) as e:
        directory.update_settings(svc, w.admin, w.company, time_zone="America/Denver", idempotency_key="s-1")
    assert e.value.code == "idempotency_conflict"


@pytest.mark.rule("GEN-8")
def test_a_key_is_one_to_two_hundred_characters(svc) -> None:
    w = build_world(svc)
    for bad in ("", "   ", "k" * 201):
        with pytest.raises(DomainError) as e:
            instances.restart(svc, w.manager, w.company, "nope", reason="r", idempotency_key=bad)
        assert (e.value.code, e.value.rule) == ("invalid_idempotency_key", "GEN-8")


def _source():
    from dsl.load import load_workflow

    return load_workflow(REFERENCE, "workflow.flow")
