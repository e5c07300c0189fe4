"""The engine's service contract, the one the HTTP layer relies on.

- Every public command and query of engine/service, engine/payments and engine/security
  takes ``(svc, actor, company_id, ...)`` and checks its actor itself (GEN-4); the few
  exemptions (the bootstrap, operator tools) are listed here and say why in their docstrings.
- Every command returns a frozen view of what it created or changed — never a bare id, None
  or an ORM row; money in a view is an exact ``Decimal`` with two places (GEN-1).
- A replay of a command with the same idempotency key returns an equal object of the same
  view type, as it was the first time (GEN-8).
- ``instances.view`` and ``templates.is_configured``, which took no actor before, check theirs.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import types
import typing
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal

import pytest

import engine.payments
import engine.security
import engine.service
from engine.errors import DomainError
from engine.payments import bank_accounts
from engine.payments.bank_accounts import BankAccountView
from engine.security.permissions import (
    BENEFICIARY_APPROVER,
    CAN_BE_MANAGER,
    DISBURSEMENT_CONTRIBUTOR,
    EDIT_TEMPLATES,
    PAYMENTS_ADMIN,
    PAYMENTS_DISBURSER,
    VIEW_FULL_HISTORY,
    VIEW_TEMPLATES,
)
from engine.service import directory, disbursements, instances, templates
from engine.service.directory import (
    CompanyView,
    GroupView,
    InvoiceView,
    MemberView,
    ProjectInfo,
    ProjectView,
    UserView,
)
from engine.service.disbursements import DisbursementView, PaymentLine, PaymentView
from engine.service.idempotency import decode, encode
from engine.service.instances import Position
from engine.service.templates import TemplateView
from engine.services import Services
from engine.service.demo import seed_funding_account
from tests.payments.banking import ROUTING, numbers
from tests.roles import grant_role, revoke_role
from tests.world import REFERENCE, World, build_world

PACKAGES = (engine.service, engine.payments, engine.security)

#: public functions taking ``svc`` that are not ``(svc, actor, company_id, ...)``, and why
EXEMPT = {
    "engine.service.directory.create_user": "bootstrap: a person exists before any company has them",
    "engine.service.directory.create_company": "bootstrap: the company does not exist yet",
    "engine.service.demo.seed_company": "bootstrap: seeds a company from nothing",
    "engine.service.demo.seed_payee": "bootstrap: seeds a payee company from nothing",
    "engine.service.demo.seed_demo": "bootstrap: seeds (or finds) the demo company from nothing",
    "engine.service.demo.find_demo": "bootstrap: finds the demo company, before anyone acts in it",
    "engine.service.reminders.queue_reminders": "operator/worker tool: acts for no user",
    "engine.service.tokens.mint": "operator tool: `payroute tokens create` acts for no user (ROLE-12)",
    "engine.service.tokens.list_tokens": "operator tool: `payroute tokens list` acts for no user",
    "engine.service.tokens.revoke": "operator tool: `payroute tokens revoke` acts for no user",
    "engine.service.tokens.authenticate": "the HTTP layer's door: it finds the actor, so none exists yet",
    "engine.service.directory.account": "spans companies: the actor's own account and memberships (GET /v1/me)",
    "engine.service.templates.published_workflow": "the template's global id names its company (/v1/evaluate)",
    "engine.payments.dispatch.dispatch": "operator/worker tool: sends what commands queued, for no user",
    "engine.payments.dispatch.sender": "operator/worker tool: the bank channel's sender",
    "engine.payments.dispatch.move_money": "operator/worker tool: one round of the bank's work, for no user",
    "engine.payments.settlement.poll": "operator/worker tool: asks the bank, for no user",
    "engine.payments.settlement.open_instructions": "operator/worker tool: what the bank was asked",
    "engine.payments.settlement.apply_event": "the bank's answer: no user acts (FLOW-9)",
    "engine.payments.settlement.apply_test_result": "the bank's answer to a test drawdown: no user acts",
    "engine.security.sign_in.set_password": "operator tool: `payroute users set-password`, and the demo seed",
    "engine.security.sign_in.sign_in": "the sign-in door: it finds the actor, so none exists yet",
    "engine.security.sign_in.authenticate_session": "the web layer's door: it finds the actor from the session",
    "engine.security.sign_in.read_session": "the session's token names its holder, before a company is chosen",
    "engine.security.sign_in.sign_out": "the session's token names its holder, across their companies",
    "engine.security.sign_in.sign_out_everywhere": "a person's sessions span their companies",
}

#: every view a command returns, and the commands that return it
VIEWS = (UserView, CompanyView, MemberView, GroupView, ProjectView, InvoiceView, TemplateView,
         DisbursementView, PaymentView, BankAccountView, Position)


def _modules() -> list[types.ModuleType]:
    found = []
    for package in PACKAGES:
        for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            found.append(importlib.import_module(info.name))
    return found


def _public_functions() -> list[tuple[str, Callable[..., object]]]:
    out = []
    for module in _modules():
        for name, fn in sorted(vars(module).items()):
            if name.startswith("_") or not inspect.isfunction(fn) or fn.__module__ != module.__name__:
                continue
            out.append((f"{module.__name__}.{name}", fn))
    return out


def _services_functions() -> list[tuple[str, Callable[..., object]]]:
    """Public functions whose first parameter is the ``Services``: the commands and queries
    (a function taking a ``Session`` is a helper inside another command's transaction)."""
    return [(n, fn) for n, fn in _public_functions()
            if list(inspect.signature(fn).parameters)[:1] == ["svc"]]


def _commands() -> list[tuple[str, Callable[..., object]]]:
    return [(n, fn) for n, fn in _services_functions() if hasattr(fn, "idempotent_op")]


# ---------------------------------------------------------------- the shape of the contract


def test_every_command_and_query_takes_the_actor_and_the_company() -> None:
    functions = _services_functions()
    assert len(functions) >= 35, [n for n, _ in functions]
    wrong = [n for n, fn in functions if n not in EXEMPT
             and list(inspect.signature(fn).parameters)[:3] != ["svc", "actor", "company_id"]]
    assert wrong == []
    assert set(EXEMPT) <= {n for n, _ in functions}, "an exemption names a function that is gone"


def test_exempt_functions_say_why_in_their_docstrings() -> None:
    functions = dict(_public_functions())
    for name in EXEMPT:
        module = inspect.getmodule(functions[name])
        text = f"{functions[name].__doc__ or ''} {module.__doc__ or ''}".lower()
        assert "exempt" in text or "operator" in text, name


def _is_frozen_view(kind: object) -> bool:
    return dataclasses.is_dataclass(kind) and isinstance(kind, type) and kind.__dataclass_params__.frozen


def test_every_command_returns_a_frozen_view() -> None:
    commands = _commands()
    assert len(commands) >= 30, [n for n, _ in commands]
    returns = {n: typing.get_type_hints(fn)["return"] for n, fn in commands}
    assert {n: r for n, r in returns.items() if not _is_frozen_view(r)} == {}


_PLAIN = (str, int, bool, Decimal, date, datetime, type(None))


def _plain_field(kind: object) -> bool:
    """What a view may hold: text, numbers, flags, exact money, dates and moments, or tuples, optionals and
    text mappings of those, or another view — never a float, an ORM row or a free ``Any``."""
    if kind in _PLAIN:
        return True
    if _is_frozen_view(kind):
        return all(_plain_field(t) for t in typing.get_type_hints(kind).values())
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType, tuple):
        return all(a is Ellipsis or _plain_field(a) for a in args)
    if origin is dict:
        return args == (str, str)
    return False


def test_views_hold_plain_values_and_exact_money() -> None:
    for view in VIEWS:
        hints = typing.get_type_hints(view)
        # a payment line is one invoice's line (DSB-1: each invoice once per disbursement)
        assert list(hints)[0] in ("id", "instance_id", "invoice_id"), f"{view.__name__}: the id comes first"
        assert {f: t for f, t in hints.items() if not _plain_field(t)} == {}, view.__name__
        assert float not in hints.values()


def test_every_view_survives_the_replay_encoding() -> None:
    """GEN-8: what the idempotency record stores decodes back into an equal view, exact money included."""
    samples = [
        UserView("u1", "a@b.example", "Ada"),
        CompanyView("c1", "GC", False, True, "America/Chicago", (date(2026, 7, 3), date(2026, 12, 25)),
                    "strict", None),
        MemberView("u1", "a@b.example", "Ada", False, (PAYMENTS_DISBURSER, CAN_BE_MANAGER)),
        GroupView("g1", "Reviewers", ("u1", "u2")),
        ProjectView("p1", "Tower A", "Boston", None, date(2025, 1, 31), {"market": "health"}, True, False),
        InvoiceView("i1", "p1", "A-1", "c2", "Acme", Decimal("0.10"), "Unpaid", None),
        TemplateView("t1", "Payments", False, True, "u1", "2.0", False, ("it names no workflow manager",)),
        DisbursementView("d1", "p1", False, "Under Review", "Draft", "b1", "u1", None, Decimal("100.10"),
                         (PaymentView("i1", "A-1", Decimal("100.10"), Decimal("0.00"), None, "Not Initiated"),),
                         False, None),
        BankAccountView("b1", "funding", "Operating", "Pending Verification", True),
        Position("x1", "Not Started", None, None, False, "u1"),
    ]
    assert {type(v) for v in samples} == set(VIEWS) - {PaymentView}
    for view in samples:
        again = decode(type(view), encode(view))
        assert again == view and type(again) is type(view)
        for f in dataclasses.fields(view):
            assert type(getattr(again, f.name)) is type(getattr(view, f.name)), (type(view).__name__, f.name)
    assert encode(samples[5])["amount_due"] == "0.10"  # a decimal string, never a float (GEN-2)


# ---------------------------------------------------------------- what the views say


def _member(svc: Services, w: World, name: str, *grants: str) -> str:
    user = directory.create_user(svc, f"{name}@gc.example", name.title()).id
    directory.add_member(svc, w.admin, w.company, f"{name}@gc.example")
    for permission in grants:
        grant_role(svc, w.admin, w.company, user, permission)
    return user


def _cents(value: Decimal) -> bool:
    return isinstance(value, Decimal) and value.as_tuple().exponent == -2


@pytest.mark.rule("GEN-5")
def test_people_commands_return_the_member_as_the_company_sees_them(svc) -> None:
    w = build_world(svc)
    user = directory.create_user(svc, "Nina@GC.example", "Nina")
    assert user == UserView(user.id, "nina@gc.example", "Nina")
    added = directory.add_member(svc, w.admin, w.company, "nina@gc.example")
    assert added == MemberView(user.id, "nina@gc.example", "Nina", True, ())
    assert directory.add_member(svc, w.admin, w.company, "nina@gc.example") == added  # again: nothing changes
    granted = grant_role(svc, w.admin, w.company, user.id, CAN_BE_MANAGER)
    assert granted.permissions == (CAN_BE_MANAGER,)
    granted = grant_role(svc, w.admin, w.company, user.id, PAYMENTS_DISBURSER)
    assert granted.permissions == (PAYMENTS_DISBURSER, CAN_BE_MANAGER)  # ALL_PERMISSIONS order
    assert revoke_role(svc, w.admin, w.company, user.id, CAN_BE_MANAGER).permissions == (PAYMENTS_DISBURSER,)
    off = directory.set_user_active(svc, w.admin, w.company, user.id, False)
    assert (off.id, off.active, off.permissions) == (user.id, False, (PAYMENTS_DISBURSER,))
    assert directory.set_user_active(svc, w.admin, w.company, user.id, True).active is True


@pytest.mark.rule("GEN-6")
def test_company_views_carry_the_settings_in_their_stored_form(svc) -> None:
    w = build_world(svc)
    changed = directory.update_settings(svc, w.admin, w.company, time_zone="America/Chicago",
                                        holidays=["2026-12-25", date(2026, 7, 3)], segregation="strict")
    assert changed == CompanyView(w.company, "GC Builders", False, True, "America/Chicago",
                                  (date(2026, 7, 3), date(2026, 12, 25)), "strict", changed.default_template_id)
    assert changed.default_template_id == w.template
    boss = directory.create_user(svc, "boss@sub.example", "Boss").id
    payee = directory.create_company(svc, "Sub Co", first_admin=boss, is_payee=True)
    assert payee == CompanyView(payee.id, "Sub Co", True, True, "America/New_York", (), "invoice_approver", None)


@pytest.mark.rule("ROLL-1", "GEN-1")
def test_project_group_invoice_and_account_views(svc) -> None:
    w = build_world(svc)
    project = directory.create_project(svc, w.admin, w.company, ProjectInfo(
        name="Tower B", office="Austin", start_date=date(2026, 1, 5), attributes={"market": "health"},
        payment_workflows_enabled=False))
    assert project == ProjectView(project.id, "Tower B", "Austin", None, date(2026, 1, 5), {"market": "health"},
                                  True, False)
    assert directory.set_project_workflows(svc, w.admin, w.company, project.id, True).payment_workflows_enabled
    off = directory.set_project_payments(svc, w.admin, w.company, project.id, False)
    assert (off.payments_enabled, off.payment_workflows_enabled) == (False, True)
    assert directory.set_project_payments(svc, w.admin, w.company, project.id, False) == off  # no-op

    group = directory.create_group(svc, w.admin, w.company, "Reviewers", [w.cfo, w.controller, w.cfo])
    assert group == GroupView(group.id, "Reviewers", (w.cfo, w.controller))

    payee = w.payee("Acme Concrete")
    invoice = directory.create_invoice(svc, w.admin, w.company, w.project, payee=payee, number="A-7",
                                       amount_due="1250", approved_by=w.cfo)
    assert invoice == InvoiceView(invoice.id, w.project, "A-7", payee, "Acme Concrete", Decimal("1250.00"),
                                  "Unpaid", w.cfo)
    assert _cents(invoice.amount_due)

    account = bank_accounts.add_deposit_account(svc, w.admin, w.company, "  Payroll ", bank_name="Partner Bank",
                                                holder_name="GC Builders", numbers=numbers("000111222333"))
    assert account == BankAccountView(account.id, "deposit", "Payroll", "Pending Verification", True,
                                      bank_name="Partner Bank", holder_name="GC Builders",
                                      routing_number=ROUTING, last4="2333")


@pytest.mark.rule("WF-7", "WF-9")
def test_template_commands_return_the_template_with_its_configured_status(svc) -> None:
    from dsl.load import load_workflow

    w = build_world(svc)
    created = templates.create_template(svc, w.admin, w.company, "Capital Projects")
    assert created == TemplateView(created.id, "Capital Projects", False, False, None, None, False,
                                   ("it has no published version",))
    templates.publish(svc, w.admin, w.company, created.id, load_workflow(REFERENCE, "workflow.flow"))
    configured = templates.configure(svc, w.admin, w.company, created.id, manager=w.manager,
                                     roles={"Controller": [w.controller], "CFO": [w.cfo]})
    assert (configured.manager_id, configured.active_version, configured.configured, configured.problems) == (
        w.manager, "1.0", True, ())
    assert configured.is_default is False
    renamed = templates.rename(svc, w.admin, w.company, created.id, " Capital ")
    assert (renamed.name, renamed.configured) == ("Capital", True)
    default = templates.set_default(svc, w.admin, w.company, created.id)
    assert (default.id, default.is_default) == (created.id, True)
    archived = templates.archive(svc, w.admin, w.company, w.template)  # the old default
    assert (archived.id, archived.archived, archived.is_default, archived.configured) == (
        w.template, True, False, False)
    assert "it is archived" in archived.problems


@pytest.mark.rule("DSB-6", "DSB-8", "DSB-11", "GEN-3", "AUTH-13", "AUTH-14")
def test_disbursement_commands_return_the_disbursement_with_exact_amounts(svc) -> None:
    w = build_world(svc)
    first, second = w.invoice("100.10"), w.invoice("50.00")
    d = disbursements.create_disbursement(svc, w.creator, w.company, project_id=w.project, funding_account=w.funding,
                                          payments=[PaymentLine(first), PaymentLine(second, "20.05", "half now")])
    assert (d.project_id, d.is_draft, d.workflow_status, d.drawdown_status, d.funding_account_id) == (
        w.project, False, "Under Review", "Draft", w.funding)
    assert (d.created_by, d.drafted_by, d.canceled, d.cancel_reason) == (w.creator, None, False, None)
    assert d.payments == (
        PaymentView(first, "INV-0001", Decimal("100.10"), Decimal("0.00"), None, "Not Initiated"),
        PaymentView(second, "INV-0002", Decimal("20.05"), Decimal("0.00"), "half now", "Not Initiated"))
    assert d.total == Decimal("120.15") and _cents(d.total) and all(_cents(p.amount) for p in d.payments)

    edited = disbursements.edit_payments(svc, w.creator, w.company, d.id, remove=[second], reason="later")
    assert ([p.invoice_id for p in edited.payments], edited.total) == ([first], Decimal("100.10"))
    assert edited.workflow_status == "Under Review"  # restarted (DSB-12)
    other = seed_funding_account(svc, w.admin, w.company, "Reserve")
    moved = disbursements.change_funding_account(svc, w.creator, w.company, d.id, funding_account=other,
                                                 reason="reserve pays")
    assert moved.funding_account_id == other
    canceled = disbursements.cancel(svc, w.creator, w.company, d.id, reason="duplicate")
    assert (canceled.id, canceled.workflow_status, canceled.canceled, canceled.cancel_reason) == (
        d.id, "Canceled", True, "duplicate")
    assert disbursements.cancel(svc, w.creator, w.company, d.id, reason="again") == canceled  # AUTH-14: no-op

    helper = _member(svc, w, "helper", DISBURSEMENT_CONTRIBUTOR)
    draft = disbursements.create_draft(svc, helper, w.company, project_id=w.project,
                                       payments=[PaymentLine(w.invoice("30.00"))])
    assert (draft.is_draft, draft.workflow_status, draft.funding_account_id, draft.created_by, draft.drafted_by) == (
        True, None, None, None, helper)
    assert draft.total == Decimal("30.00")
    made = disbursements.create_from_draft(svc, w.creator, w.company, draft.id, funding_account=w.funding)
    assert (made.id, made.is_draft, made.created_by, made.drafted_by, made.workflow_status) == (
        draft.id, False, w.creator, helper, "Under Review")


@pytest.mark.rule("MGR-2", "MGR-4", "MGR-5", "MGR-9", "RESP-2")
def test_instance_commands_return_where_the_instance_stands(svc) -> None:
    w = build_world(svc)
    d = disbursements.create_disbursement(svc, w.creator, w.company, project_id=w.project, funding_account=w.funding,
                                          payments=[PaymentLine(w.invoice("10.00"))]).id
    first = instances.view(svc, w.admin, w.company, d)
    ended = instances.terminate(svc, w.manager, w.company, d, reason="wrong payee")
    assert ended == Position(first.instance_id, "Not Started", None, None, False, w.manager)
    started = instances.start(svc, w.manager, w.company, d)
    assert started.instance_id != first.instance_id
    assert (started.workflow_status, started.current_step, started.blocked, started.manager) == (
        "Under Review", "Controller Review", False, w.manager)
    restarted = instances.restart(svc, w.manager, w.company, d, reason="new facts")
    assert restarted.instance_id not in (first.instance_id, started.instance_id)
    assert restarted.current_occurrence > started.current_occurrence  # RESP-2: numbers go on
    assert instances.view(svc, w.admin, w.company, d).instance_id == restarted.instance_id
    grant_role(svc, w.admin, w.company, w.cfo, CAN_BE_MANAGER)
    directory.set_user_active(svc, w.admin, w.company, w.manager, False)
    handed = instances.reassign_manager(svc, w.admin, w.company, d, manager=w.cfo, reason="left the company")
    assert handed == Position(restarted.instance_id, "Under Review", "Controller Review",
                              restarted.current_occurrence, False, w.cfo)


# ---------------------------------------------------------------- replays


@pytest.mark.rule("GEN-8")
def test_a_replay_returns_an_equal_view_of_the_same_type_as_it_was_first(svc) -> None:
    """Every kind of view a command returns, replayed with its key after the object moved on."""
    from dsl.load import load_workflow

    w = build_world(svc)
    directory.create_user(svc, "zed@gc.example", "Zed")
    inv = w.invoice("10.00")

    def twice(call: Callable[..., object], *args: object, **kwargs: object) -> object:
        key = f"k-{call.__name__}-{len(seen)}"
        result = call(*args, **kwargs, idempotency_key=key)
        seen.append(result)
        return lambda: call(*args, **kwargs, idempotency_key=key)

    seen: list[object] = []
    replays = [
        twice(directory.update_settings, svc, w.admin, w.company, time_zone="America/Denver",
              holidays=["2026-12-25"]),
        twice(directory.add_member, svc, w.admin, w.company, "zed@gc.example"),
        twice(directory.create_group, svc, w.admin, w.company, "Panel", [w.cfo]),
        twice(directory.create_project, svc, w.admin, w.company, ProjectInfo(name="Tower C",
                                                                             start_date=date(2026, 2, 2))),
        twice(directory.create_invoice, svc, w.admin, w.company, w.project, payee=w.payee("Acme Concrete"),
              number="R-1", amount_due="99.90"),
        twice(bank_accounts.add_deposit_account, svc, w.admin, w.company, "Reserve", bank_name="Partner Bank",
              holder_name="GC", numbers=numbers()),
        twice(templates.create_template, svc, w.admin, w.company, "Other"),
        twice(disbursements.create_disbursement, svc, w.creator, w.company, project_id=w.project,
              funding_account=w.funding, payments=[PaymentLine(inv, "5.50", "part")]),
    ]
    d = seen[-1].id
    replays.append(twice(instances.terminate, svc, w.manager, w.company, d, reason="wrong payee"))
    replays.append(twice(instances.start, svc, w.manager, w.company, d))
    replays.append(twice(instances.restart, svc, w.manager, w.company, d, reason="again"))
    replays.append(twice(templates.publish, svc, w.admin, w.company, w.template, load_workflow(REFERENCE, "x.flow")))
    replays.append(twice(disbursements.cancel, svc, w.creator, w.company, d, reason="duplicate"))
    # the objects moved on since (a rename, another grant, the disbursement canceled), yet each
    # replay is the first result, decoded into its own view type
    grant_role(svc, w.admin, w.company, seen[1].id, VIEW_TEMPLATES)
    templates.rename(svc, w.admin, w.company, seen[6].id, "Renamed")
    kinds = set()
    for replay, first in zip(replays, seen, strict=True):
        again = replay()
        assert again == first and type(again) is type(first), type(first).__name__
        kinds.add(type(first))
    assert kinds >= {CompanyView, MemberView, GroupView, ProjectView, InvoiceView, BankAccountView, TemplateView,
                     DisbursementView, Position}
    assert seen[-1].workflow_status == "Canceled" and seen[7].workflow_status == "Under Review"
    assert _cents(replays[7]().total) and replays[7]().payments[0].amount == Decimal("5.50")


# ---------------------------------------------------------------- who may view an instance


def _view_refused(svc: Services, actor: str, company: str, d: str) -> DomainError:
    with pytest.raises(DomainError) as e:
        instances.view(svc, actor, company, d)
    return e.value


@pytest.mark.rule("GEN-5")
def test_a_stranger_or_a_deactivated_member_does_not_find_the_disbursement(svc) -> None:
    w = build_world(svc)
    d = disbursements.create_disbursement(svc, w.creator, w.company, project_id=w.project, funding_account=w.funding,
                                          payments=[PaymentLine(w.invoice("10.00"))]).id
    stranger = directory.create_user(svc, "stranger@else.example", "Stranger").id
    boss = directory.create_user(svc, "boss@other.example", "Boss").id
    other = directory.create_company(svc, "Other GC", first_admin=boss).id
    missing = _view_refused(svc, w.admin, w.company, "f" * 32)
    assert (missing.code, missing.rule) == ("not_found", "GEN-5")
    for actor, company in ((stranger, w.company), (boss, w.company), (boss, other), ("not an id", w.company)):
        e = _view_refused(svc, actor, company, d)
        assert (e.code, e.rule, e.message) == ("not_found", "GEN-5", missing.message), actor
    # the creator is a participant, yet deactivated here they are a stranger to the company (GEN-5)
    directory.set_user_active(svc, w.admin, w.company, w.creator, False)
    e = _view_refused(svc, w.creator, w.company, d)
    assert (e.code, e.rule) == ("not_found", "GEN-5")
    directory.set_user_active(svc, w.admin, w.company, w.creator, True)
    assert instances.view(svc, w.creator, w.company, d).current_step == "Controller Review"


@pytest.mark.rule("ROLE-7")
def test_view_needs_a_payments_role_a_workflow_permission_or_a_part_in_the_workflow(svc) -> None:
    w = build_world(svc)
    d = disbursements.create_disbursement(svc, w.creator, w.company, project_id=w.project, funding_account=w.funding,
                                          payments=[PaymentLine(w.invoice("10.00"))]).id
    expected = instances.view(svc, w.admin, w.company, d)
    nobody = _member(svc, w, "nobody")
    approver = _member(svc, w, "approver", BENEFICIARY_APPROVER)
    for actor in (nobody, approver):
        e = _view_refused(svc, actor, w.company, d)
        assert (e.code, e.rule, e.kind) == ("permission_denied", "ROLE-7", "forbidden")
        assert "Payments Disburser" in e.missing and "View Workflow Templates" in e.missing
    allowed = [w.admin, w.creator, w.manager, w.controller, _member(svc, w, "helper", DISBURSEMENT_CONTRIBUTOR),
               _member(svc, w, "reader", VIEW_TEMPLATES), _member(svc, w, "auditor", VIEW_FULL_HISTORY),
               _member(svc, w, "editor", EDIT_TEMPLATES)]
    for actor in allowed:
        assert instances.view(svc, actor, w.company, d) == expected, actor
    # participants keep their view once they hold no role: the controller is an assignee,
    # the creator made it, the manager runs it (their roles revoked, still active members)
    grant_role(svc, w.admin, w.company, w.cfo, CAN_BE_MANAGER)
    grant_role(svc, w.admin, w.company, w.cfo, PAYMENTS_ADMIN)
    for user, roles in ((w.controller, (PAYMENTS_DISBURSER,)), (w.creator, (PAYMENTS_DISBURSER,)),
                        (w.manager, (PAYMENTS_DISBURSER, CAN_BE_MANAGER))):
        for role in roles:
            revoke_role(svc, w.admin, w.company, user, role)
        assert instances.view(svc, user, w.company, d).instance_id == expected.instance_id, user
    # a disbursement they had no part in is refused to a member without a role
    d2 = disbursements.create_disbursement(svc, w.cfo, w.company, project_id=w.project, funding_account=w.funding,
                                           payments=[PaymentLine(w.invoice("20.00"))]).id
    e = _view_refused(svc, w.creator, w.company, d2)
    assert (e.code, e.rule) == ("permission_denied", "ROLE-7")


@pytest.mark.rule("ROLE-7", "WF-7", "GEN-5")
def test_is_configured_needs_a_template_permission(svc) -> None:
    w = build_world(svc)
    boss = directory.create_user(svc, "boss@other.example", "Boss").id
    other = directory.create_company(svc, "Other GC", first_admin=boss).id
    for actor in (w.admin, _member(svc, w, "reader", VIEW_TEMPLATES), _member(svc, w, "editor", EDIT_TEMPLATES)):
        assert templates.is_configured(svc, actor, w.company, w.template) == (True, []), actor
    for actor in (w.creator, _member(svc, w, "nobody"), boss):  # a Disburser, a bare member, a stranger
        with pytest.raises(DomainError) as e:
            templates.is_configured(svc, actor, w.company, w.template)
        assert (e.value.code, e.value.rule) == ("permission_denied", "ROLE-7"), actor
        assert "View Workflow Templates" in e.value.missing
    with pytest.raises(DomainError) as e:
        templates.is_configured(svc, boss, other, w.template)  # another company's template
    assert (e.value.code, e.value.rule) == ("not_found", "GEN-5")
