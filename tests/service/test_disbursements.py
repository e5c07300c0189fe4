"""Creating, editing and canceling disbursements (ROLE-3, DSB-*, ROLL-1/2, AUTH-13/14, GEN-2/5)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from dsl.load import load_workflow
from engine.errors import DomainError
from engine.security.permissions import DISBURSEMENT_CONTRIBUTOR
from engine.service import audit, directory, disbursements, instances, templates
from engine.service.disbursements import PaymentLine
from engine.store.tables import AuditEntry, Disbursement, Invoice, OutboxEmail
from tests.roles import grant_role
from tests.world import REFERENCE, build_world


def counts(svc) -> tuple[int, int, int]:
    with svc.db.sessions() as s:
        return (s.scalar(select(func.count(Disbursement.id))), s.scalar(select(func.count(AuditEntry.id))),
                s.scalar(select(func.count(OutboxEmail.id))))


def create(w, *lines: PaymentLine, actor: str | None = None) -> str:
    return disbursements.create_disbursement(w.svc, actor or w.creator, w.company, project_id=w.project,
                                             funding_account=w.funding, payments=list(lines)).id


def refused(w, *lines: PaymentLine, actor: str | None = None) -> DomainError:
    before = counts(w.svc)
    with pytest.raises(DomainError) as e:
        create(w, *lines, actor=actor)
    assert counts(w.svc) == before  # refused means nothing changes
    return e.value


@pytest.mark.rule("ROLE-3", "ROLE-4")
def test_only_admins_and_disbursers_create(svc) -> None:
    """ROLE-3, ROLE-4: a Disbursement Contributor cannot create one."""
    w = build_world(svc)
    helper = directory.create_user(svc, "helper@gc.example", "Helper").id
    directory.add_member(svc, w.admin, w.company, "helper@gc.example")
    grant_role(svc, w.admin, w.company, helper, DISBURSEMENT_CONTRIBUTOR)
    inv = w.invoice("10.00")
    made, entries, emails = counts(svc)
    with pytest.raises(DomainError) as e:
        create(w, PaymentLine(inv), actor=helper)
    assert (e.value.code, e.value.rule) == ("permission_denied", "ROLE-3")
    assert counts(svc) == (made, entries + 1, emails)  # only the refusal's own audit entry (AUD-4)


@pytest.mark.rule("GEN-2", "DSB-2")
@pytest.mark.parametrize("amount,code,rule", [
    ("100.001", "invalid_amount", "GEN-2"),
    ("-5.00", "invalid_amount", "GEN-2"),
    ("0.00", "invalid_amount", "DSB-2"),
    ("1e3", "invalid_amount", "GEN-2"),
    ("500.01", "invalid_amount", "DSB-2"),
])
def test_bad_amounts_are_refused(svc, amount: str, code: str, rule: str) -> None:
    """GEN-2, DSB-2: three decimals, negative, zero, exponent, more than due."""
    w = build_world(svc)
    err = refused(w, PaymentLine(w.invoice("500.00"), amount=amount, note="partial"))
    assert (err.code, err.rule) == (code, rule)


@pytest.mark.rule("DSB-3", "ROLE-2")
def test_partial_payment_needs_a_note(svc) -> None:
    """DSB-3."""
    w = build_world(svc)
    inv = w.invoice("500.00")
    assert refused(w, PaymentLine(inv, amount="200.00")).rule == "DSB-3"
    create(w, PaymentLine(inv, amount="200.00", note="first draw"))


@pytest.mark.rule("DSB-1")
def test_one_to_a_hundred_invoices(svc) -> None:
    """DSB-1: a 101st invoice is refused."""
    w = build_world(svc)
    assert refused(w).rule == "DSB-1"
    invs = [w.invoice("1.00") for _ in range(101)]
    assert refused(w, *(PaymentLine(i) for i in invs)).rule == "DSB-1"
    create(w, *(PaymentLine(i) for i in invs[:100]))


@pytest.mark.rule("DSB-5")
def test_reserved_invoices_cannot_join_another_disbursement(svc) -> None:
    """DSB-5: reserved from joining until canceled."""
    w = build_world(svc)
    inv = w.invoice("10.00")
    d = create(w, PaymentLine(inv))
    assert refused(w, PaymentLine(inv)).rule == "DSB-5"
    disbursements.cancel(svc, w.creator, w.company, d, reason="wrong vendor")
    create(w, PaymentLine(inv))  # released by the cancel


@pytest.mark.rule("DSB-8")
def test_creating_starts_the_default_workflow(svc) -> None:
    """DSB-8: conditions decided at once, response steps wait."""
    w = build_world(svc)
    d = create(w, PaymentLine(w.invoice("10.00")))
    view = instances.view(svc, w.admin, w.company, d)
    assert (view.workflow_status, view.current_step) == ("Under Review", "Controller Review")


@pytest.mark.rule("DSB-9", "MGR-1", "MGR-4")
def test_no_configured_default_leaves_it_not_started_then_start(svc) -> None:
    """DSB-9, MGR-4, MGR-1: Not Started until the default's manager starts it."""
    w = build_world(svc, configure=False)
    d = create(w, PaymentLine(w.invoice("10.00")))
    assert instances.view(svc, w.admin, w.company, d) is None
    from engine.service import templates

    templates.configure(svc, w.admin, w.company, w.template, manager=w.manager,
                        roles={"Controller": [w.controller], "CFO": [w.cfo]})
    templates.set_default(svc, w.admin, w.company, w.template)
    with pytest.raises(DomainError) as e:
        instances.start(svc, w.creator, w.company, d)
    assert e.value.rule == "MGR-1"
    instances.start(svc, w.manager, w.company, d)
    assert instances.view(svc, w.admin, w.company, d).workflow_status == "Under Review"
    with pytest.raises(DomainError):
        instances.start(svc, w.manager, w.company, d)  # MGR-4: only from Not Started


@pytest.mark.rule("ROLL-1", "ROLL-2", "DSB-10")
def test_project_enablement_decides_if_a_workflow_applies(svc) -> None:
    """ROLL-1, ROLL-2, DSB-10: disabling affects only later disbursements."""
    w = build_world(svc)
    running = create(w, PaymentLine(w.invoice("10.00")))
    directory.set_project_workflows(svc, w.admin, w.company, w.project, False)
    later = create(w, PaymentLine(w.invoice("10.00")))
    with svc.db.sessions() as s:
        assert s.get(Disbursement, later).workflow_applies is False
        assert s.get(Disbursement, later).workflow_status is None
    assert instances.view(svc, w.admin, w.company, running).workflow_status == "Under Review"
    view = instances.view(svc, w.admin, w.company, running)
    instances.respond(svc, w.controller, w.company, running, occurrence=view.current_occurrence, answer="Approve")
    assert instances.view(svc, w.admin, w.company, running).workflow_status == "Approved"


@pytest.mark.rule("ROLL-1", "ROLL-2")
def test_a_disbursement_is_made_only_on_a_project_with_payments_enabled(svc) -> None:
    """ROLL-1: not created, not drafted, not created from a draft saved before; ROLL-2: what
    already exists keeps going; enabling is an audited Admin action."""
    w = build_world(svc)
    helper = directory.create_user(svc, "helper@gc.example", "Helper").id
    directory.add_member(svc, w.admin, w.company, "helper@gc.example")
    grant_role(svc, w.admin, w.company, helper, DISBURSEMENT_CONTRIBUTOR)
    running = create(w, PaymentLine(w.invoice("10.00")))
    draft = disbursements.create_draft(svc, helper, w.company, project_id=w.project,
                                       payments=[PaymentLine(w.invoice("20.00"))]).id
    with pytest.raises(DomainError) as e:
        directory.set_project_payments(svc, w.creator, w.company, w.project, False)
    assert e.value.code == "permission_denied"
    directory.set_project_payments(svc, w.admin, w.company, w.project, False)
    before = counts(svc)
    attempts = [
        lambda: create(w, PaymentLine(w.invoice("30.00"))),
        lambda: disbursements.create_draft(svc, helper, w.company, project_id=w.project),
        lambda: disbursements.create_from_draft(svc, w.creator, w.company, draft, funding_account=w.funding),
    ]
    for attempt in attempts:
        with pytest.raises(DomainError) as e:
            attempt()
        assert (e.value.code, e.value.rule) == ("payments_not_enabled", "ROLL-1")
        assert "Tower A" in e.value.message
    assert counts(svc)[0] == before[0]
    assert instances.view(svc, w.admin, w.company, running).workflow_status == "Under Review"  # ROLL-2
    directory.set_project_payments(svc, w.admin, w.company, w.project, True)
    assert disbursements.create_from_draft(svc, w.creator, w.company, draft, funding_account=w.funding).id == draft
    with svc.db.sessions() as s:
        actions = [e.action for e in audit.entries(s, audit.company_chain(w.company))]
    assert actions.count("project_payments_changed") == 2


@pytest.mark.rule("WF-10", "ROLL-1")
def test_company_setting_turns_workflows_off(svc) -> None:
    """WF-10; ROLL-1: a workflow applies only when the company setting is on, whatever the project says."""
    w = build_world(svc)
    directory.update_settings(svc, w.admin, w.company, workflows_enabled=False)
    d = create(w, PaymentLine(w.invoice("10.00")))
    assert instances.view(svc, w.admin, w.company, d) is None
    with svc.db.sessions() as s:
        assert s.get(Disbursement, d).workflow_applies is False  # the project still has workflows enabled


@pytest.mark.rule("AUTH-13", "AUTH-14", "ROLE-2", "DSB-5", "AUD-6")
def test_cancel_terminates_releases_and_emails(svc) -> None:
    """AUTH-13, AUTH-14: reason required, status Canceled, invoices released, second cancel a no-op."""
    w = build_world(svc)
    inv = w.invoice("10.00")
    d = create(w, PaymentLine(inv))
    with pytest.raises(DomainError) as e:
        disbursements.cancel(svc, w.creator, w.company, d, reason="  ")
    assert e.value.rule == "AUTH-13"
    disbursements.cancel(svc, w.creator, w.company, d, reason="duplicate")
    with svc.db.sessions() as s:
        row = s.get(Disbursement, d)
        assert (row.workflow_status, row.cancel_reason) == ("Canceled", "duplicate")
        assert s.get(Invoice, inv).reserved_by is None
        canceled_to = {r.recipients[0] for r in s.scalars(select(OutboxEmail).where(OutboxEmail.event == "canceled"))}
    assert canceled_to == {"manager@gc.example", "creator@gc.example", "controller@gc.example"}
    before = counts(svc)
    disbursements.cancel(svc, w.creator, w.company, d, reason="again")
    assert counts(svc) == before
    with pytest.raises(DomainError) as e:
        instances.respond(svc, w.controller, w.company, d, occurrence=1, answer="Approve")
    assert e.value.code == "disbursement_canceled"


@pytest.mark.rule("DSB-12", "ROLE-2")
def test_edit_after_start_needs_a_reason_and_restarts(svc) -> None:
    """DSB-12: facts changed, so earlier approvals no longer count."""
    w = build_world(svc)
    inv = w.invoice("150000.00")
    d = create(w, PaymentLine(inv, amount="90000.00", note="first half"))
    view = instances.view(svc, w.admin, w.company, d)
    instances.respond(svc, w.controller, w.company, d, occurrence=view.current_occurrence, answer="Approve")
    assert instances.view(svc, w.admin, w.company, d).workflow_status == "Approved"
    with pytest.raises(DomainError) as e:
        disbursements.edit_payments(svc, w.creator, w.company, d,
                                    amounts={inv: PaymentLine(inv, amount="150000.00")})
    assert (e.value.code, e.value.rule) == ("reason_required", "DSB-12")
    disbursements.edit_payments(svc, w.creator, w.company, d, amounts={inv: PaymentLine(inv, amount="150000.00")},
                                reason="pay in full")
    view = instances.view(svc, w.admin, w.company, d)
    assert (view.workflow_status, view.current_step, view.path) == ("Under Review", "Controller Review",
                                                                    ("Controller Review",))
    instances.respond(svc, w.controller, w.company, d, occurrence=view.current_occurrence, answer="Approve")
    assert instances.view(svc, w.admin, w.company, d).current_step == "CFO Review"  # now above the threshold
    with pytest.raises(DomainError) as e:
        disbursements.edit_payments(svc, w.creator, w.company, d, remove=[inv], reason="x")
    assert (e.value.code, e.value.rule) == ("invalid_disbursement", "DSB-12")  # the last invoice: cancel instead
    assert "cancel instead" in e.value.message
    with svc.db.sessions() as s:
        assert audit.verify(s) == []


@pytest.mark.rule("GEN-5")
def test_other_companies_objects_are_not_found(svc) -> None:
    """GEN-5."""
    w = build_world(svc)
    boss = directory.create_user(svc, "boss@other.example", "Boss").id
    other = directory.create_company(svc, "Other GC", first_admin=boss).id
    with pytest.raises(DomainError) as e:
        disbursements.create_disbursement(svc, boss, other, project_id=w.project, funding_account=w.funding,
                                          payments=[PaymentLine(w.invoice("1.00"))])
    assert e.value.code == "not_found"


@pytest.mark.rule("DSB-5", "DSB-6", "DSB-11", "ROLE-2", "ROLE-3", "ROLE-4")
def test_drafts_contributors_and_creating_from_a_draft(svc) -> None:
    """DSB-6, ROLE-4, DSB-5, DSB-11: Contributors edit Drafts; a Disburser creates it with a funding account."""
    w = build_world(svc)
    helper = directory.create_user(svc, "helper@gc.example", "Helper").id
    directory.add_member(svc, w.admin, w.company, "helper@gc.example")
    grant_role(svc, w.admin, w.company, helper, DISBURSEMENT_CONTRIBUTOR)
    a, b = w.invoice("10.00"), w.invoice("20.00")
    draft = disbursements.create_draft(svc, helper, w.company, project_id=w.project, payments=[PaymentLine(a)]).id
    assert refused(w, PaymentLine(a)).rule == "DSB-5"  # reserved by the Draft
    disbursements.edit_payments(svc, helper, w.company, draft, add=[PaymentLine(b)], remove=[a])
    with pytest.raises(DomainError) as e:  # amounts are a Disburser power (ROLE-2)
        disbursements.edit_payments(svc, helper, w.company, draft, amounts={b: PaymentLine(b, "5.00", "part")})
    assert e.value.code == "permission_denied"
    with pytest.raises(DomainError) as e:
        disbursements.create_from_draft(svc, helper, w.company, draft, funding_account=w.funding)
    assert e.value.rule == "ROLE-3"
    assert instances.view(svc, w.admin, w.company, draft) is None  # a Draft has no workflow
    d = disbursements.create_from_draft(svc, w.creator, w.company, draft, funding_account=w.funding).id
    assert d == draft
    with svc.db.sessions() as s:
        row = s.get(Disbursement, d)
        assert (row.is_draft, row.created_by, row.funding_account_id) == (False, w.creator, w.funding)
    assert instances.view(svc, w.admin, w.company, d).workflow_status == "Under Review"
    with pytest.raises(DomainError) as e:
        disbursements.create_from_draft(svc, w.creator, w.company, draft, funding_account=w.funding)
    assert e.value.code == "invalid_state"


@pytest.mark.rule("GEN-8")
def test_idempotency_keys(svc) -> None:
    """GEN-8: same key and body → first result, no second effect; same key, other body → refused."""
    w = build_world(svc)
    inv, other = w.invoice("10.00"), w.invoice("20.00")
    first = disbursements.create_disbursement(
        svc, w.creator, w.company, project_id=w.project, funding_account=w.funding,
        payments=[PaymentLine(inv)], idempotency_key="k-1").id
    n = counts(svc)
    again = disbursements.create_disbursement(svc, w.creator, w.company, project_id=w.project,
                                              funding_account=w.funding, payments=[PaymentLine(inv)],
                                              idempotency_key="k-1").id
    assert again == first and counts(svc) == n
    with pytest.raises(DomainError) as e:
        disbursements.create_disbursement(svc, w.creator, w.company, project_id=w.project,
                                          funding_account=w.funding, payments=[PaymentLine(other)],
                                          idempotency_key="k-1")
    assert (e.value.code, e.value.rule) == ("idempotency_conflict", "GEN-8")
    occ = instances.view(svc, w.admin, w.company, first).current_occurrence
    instances.respond(svc, w.controller, w.company, first, occurrence=occ, answer="Approve", idempotency_key="r-1")
    n = counts(svc)
    instances.respond(svc, w.controller, w.company, first, occurrence=occ, answer="Approve", idempotency_key="r-1")
    assert counts(svc) == n
    with pytest.raises(DomainError) as e:
        instances.respond(svc, w.controller, w.company, first, occurrence=occ, answer="Reject",
                          idempotency_key="r-1")
    assert e.value.code == "idempotency_conflict"


@pytest.mark.rule("DSB-12", "GEN-5")
def test_an_edit_naming_invoices_the_disbursement_does_not_hold_is_invalid_not_missing(svc) -> None:
    """DSB-12: the disbursement exists, the edit is wrong: `invalid_disbursement` naming the
    invoices (422), not `not_found`; an invoice id unknown to the company is still not found
    (GEN-5) when an edit adds it. Nothing changes either way."""
    w = build_world(svc)
    held, elsewhere = w.invoice("500.00"), w.invoice("700.00")
    d = create(w, PaymentLine(held))
    before = counts(svc)
    for edit in ({"remove": [elsewhere]},
                 {"amounts": {elsewhere: PaymentLine(elsewhere, amount="100.00", note="part")}}):
        with pytest.raises(DomainError) as e:
            disbursements.edit_payments(svc, w.creator, w.company, d, reason="wrong invoice", **edit)
        assert (e.value.code, e.value.rule, e.value.kind) == ("invalid_disbursement", "DSB-12", "invalid")
        assert e.value.details == {"invoices": [elsewhere]} and elsewhere in e.value.message
    with pytest.raises(DomainError) as e:
        disbursements.edit_payments(svc, w.creator, w.company, d, reason="add one", add=[PaymentLine("0" * 32)])
    assert (e.value.code, e.value.rule) == ("not_found", "GEN-5")
    assert counts(svc) == before


@pytest.mark.rule("MGR-4", "DSB-6", "GEN-7")
def test_a_command_the_objects_state_refuses_is_invalid_state_never_a_retryable_race(svc) -> None:
    """MGR-4: starting a workflow that is no longer Not Started, and DSB-6: creating from a draft
    that was already created, are refused as `invalid_state` (409, but not the GEN-7
    `state_conflict` a client may retry: sending it again never helps)."""
    w = build_world(svc, configure=False)
    d = create(w, PaymentLine(w.invoice("10.00")))
    from engine.service import templates

    templates.configure(svc, w.admin, w.company, w.template, manager=w.manager,
                        roles={"Controller": [w.controller], "CFO": [w.cfo]})
    templates.set_default(svc, w.admin, w.company, w.template)
    instances.start(svc, w.manager, w.company, d)
    before = counts(svc)
    with pytest.raises(DomainError) as e:
        instances.start(svc, w.manager, w.company, d)
    assert (e.value.code, e.value.rule, e.value.kind) == ("invalid_state", "MGR-4", "conflict")
    assert "not Not Started" in e.value.message and counts(svc) == before
    draft = disbursements.create_draft(svc, w.creator, w.company, project_id=w.project,
                                       payments=[PaymentLine(w.invoice("20.00"))]).id
    disbursements.create_from_draft(svc, w.creator, w.company, draft, funding_account=w.funding)
    before = counts(svc)
    with pytest.raises(DomainError) as e:
        disbursements.create_from_draft(svc, w.creator, w.company, draft, funding_account=w.funding)
    assert (e.value.code, e.value.rule) == ("invalid_state", "DSB-6")
    assert counts(svc) == before


@pytest.mark.rule("DSB-12")
def test_an_edit_after_start_restarts_on_the_current_default_version(svc) -> None:
    """DSB-12: the restart is in `defaults` mode, so a version published since the start applies."""
    w = build_world(svc)
    inv = w.invoice("150000.00")
    d = create(w, PaymentLine(inv, amount="50000.00", note="a third"))
    lower = REFERENCE.replace("when disbursement_amount > $100,000.00", "when disbursement_amount > $10,000.00")
    templates.publish(svc, w.admin, w.company, w.template, load_workflow(lower, "w.flow"))
    disbursements.edit_payments(svc, w.creator, w.company, d, amounts={inv: PaymentLine(inv, amount="60000.00",
                                                                                         note="more")},
                                reason="pay more")
    view = instances.view(svc, w.admin, w.company, d)
    instances.respond(svc, w.controller, w.company, d, occurrence=view.current_occurrence, answer="Approve")
    assert instances.view(svc, w.admin, w.company, d).current_step == "CFO Review"  # the pinned version would approve
