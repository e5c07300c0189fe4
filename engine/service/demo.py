"""Seed a company that runs a workflow, through the engine's own public functions.

The tests, the benchmarks (and later the service's embedded defaults) all need
"a company whose default template runs this workflow, with these people in
these roles"; this is the one place that knows the order of the calls.
Nothing here bypasses a check but one: every step is an ordinary, audited operation, except
that the seeded payments roles and bank accounts skip their MFA challenges (MFA-8), since a
seeded user has not enrolled yet (:func:`seed_role`, :func:`seed_funding_account`,
:func:`seed_beneficiary_account` say so).

These are bootstrap helpers, exempt from ``(svc, actor, company_id)`` like
``directory.create_user`` and ``directory.create_company`` which they start with: the
company and its first Admin do not exist before they run, and every later step acts as
that Admin. They return the ids they made (:class:`Seeded`), what a test or a benchmark
needs to go on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from engine.payments import bank_accounts, stored_bank
from engine.security.permissions import (
    BENEFICIARY_APPROVER,
    CAN_BE_MANAGER,
    DISBURSEMENT_CONTRIBUTOR,
    PAYMENTS_DISBURSER,
)
from engine.service import directory, templates
from engine.services import Services


@dataclass(frozen=True)
class Seeded:
    company: str
    project: str
    template: str
    #: user id by the short name given in ``people`` (plus ``admin``)
    users: Mapping[str, str]
    #: the company's funding account, for disbursements to draw from (DSB-7)
    funding: str
    #: a payee company ("Acme Concrete") for invoices to pay
    payee: str

    def __getitem__(self, name: str) -> str:
        return self.users[name]


def seed_payee(svc: Services, name: str, *, domain: str = "payee.example") -> str:
    """A payee company called ``name`` (``is_payee``) with its Payee Admin (ROLE-6), whom invoices pay.

    The admin's email is derived from ``name`` under ``domain``, so one database can
    hold the same payee name for several payor domains."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "payee"
    admin = directory.create_user(svc, f"admin@{slug}.{domain}", f"{name} Admin").id
    return directory.create_company(svc, name, first_admin=admin, is_payee=True).id


def seed_role(svc: Services, actor: str, company_id: str, user_id: str, permission: str) -> None:
    """``user_id`` holds ``permission`` (a payments role or a workflow permission), granted by the
    Admin ``actor``.

    The bootstrap exemption of :func:`seed_funding_account`: :func:`directory.grant` asks the
    acting Admin for an MFA code to grant a payments role (ROLE-11, MFA-8), and a seeded Admin has
    not enrolled yet (they will at their first sign-in, ROLE-10), so this skips that challenge and
    nothing else: the Admin, the permission and the membership are checked as ``grant`` checks
    them, and the grant is audited (``role_seeded``). Holding it already changes nothing."""
    from sqlalchemy import select

    from engine.errors import DomainError
    from engine.security.permissions import ALL_PERMISSIONS, LABELS, PAYMENTS_ADMIN, require, require_member
    from engine.service import audit
    from engine.service.directory import get_company
    from engine.store.tables import Grant

    if permission not in ALL_PERMISSIONS:
        raise DomainError("invalid_permission", f"unknown permission `{permission}`", rule="ROLE-11")
    with svc.tx() as s:
        get_company(s, company_id, lock=True)
        require(s, company_id, actor, PAYMENTS_ADMIN, rule="ROLE-11", action="granting roles")
        require_member(s, company_id, user_id)
        if s.scalar(select(Grant.id).where(Grant.company_id == company_id, Grant.user_id == user_id,
                                           Grant.permission == permission)) is not None:
            return
        s.add(Grant(company_id=company_id, user_id=user_id, permission=permission))
        audit.append(s, chain=audit.company_chain(company_id), company_id=company_id, at=svc.now(),
                     actor_id=actor, action="role_seeded", object_type="user", object_id=user_id,
                     after={"permission": LABELS[permission]}, rules=("ROLE-11",))


#: a routing number with a valid ABA checksum (BANK-8), for seeded accounts
SEED_ROUTING = "021000021"


def seed_funding_account(svc: Services, actor: str, company_id: str, nickname: str, *,
                         account_number: str = "000123456789", sandbox: bool = False, tested: bool = True) -> str:
    """A funding account ``nickname`` (Pending Verification, not default) mapped to the company's
    first active deposit account of the same mode, made first ("Transaction") when there is none.

    The one bootstrap exemption from MFA-8: a seeded company's Admin has not enrolled in MFA yet
    (they will at their first sign-in, ROLE-10), so this skips the challenge of
    :func:`engine.payments.bank_accounts.add_funding_account` and nothing else: the Admin is
    checked, the nickname is unique, the numbers are sealed and both accounts are audited
    (``*_seeded``). Tests use it to give disbursements an account to draw from.

    ``tested``: a production account is seeded with its ROLL-5 test drawdown recorded as
    completed (``test_drawdown_seeded``, audited), as an onboarded account would have it; pass
    False for an account that must still prove itself."""
    from sqlalchemy import select

    from engine.errors import DomainError
    from engine.service.directory import get_company
    from engine.store.tables import BankAccount

    name = bank_accounts.checked_nickname(nickname)
    with svc.tx() as s:
        get_company(s, company_id, lock=True)
        bank_accounts.require_admin(s, company_id, actor, action="adding a funding account")
        if s.scalar(select(BankAccount.id).where(BankAccount.company_id == company_id,
                                                 BankAccount.kind == bank_accounts.FUNDING,
                                                 BankAccount.nickname_key == name.casefold())) is not None:
            raise DomainError("duplicate_nickname", f"a funding account named `{name}` exists in this company",
                              rule="BANK-7")
        deposit = s.scalars(select(BankAccount).where(
            BankAccount.company_id == company_id, BankAccount.kind == bank_accounts.DEPOSIT,
            BankAccount.active.is_(True), BankAccount.sandbox.is_(sandbox)).order_by(BankAccount.created_at)).first()
        if deposit is None:
            deposit = bank_accounts.new_account(svc.now(), company_id, bank_accounts.DEPOSIT, nickname="Transaction",
                                                bank_name="Partner Bank", holder_name="Payments transaction account",
                                                routing=SEED_ROUTING, number="000987654321", sandbox=sandbox)
            s.add(deposit)
            s.flush()
            bank_accounts.write_audit(s, svc, deposit, actor, "deposit_account_seeded", before=None,
                                      rules=("BANK-1", "BANK-5"))
        account = bank_accounts.new_account(svc.now(), company_id, bank_accounts.FUNDING, nickname=name,
                                            bank_name="Operating Bank", holder_name=name, routing=SEED_ROUTING,
                                            number=account_number, sandbox=sandbox, deposit_account_id=deposit.id,
                                            bank_id_prefix="", next_check_number=1)
        s.add(account)
        s.flush()
        bank_accounts.write_audit(s, svc, account, actor, "funding_account_seeded", before=None,
                                  rules=("BANK-1", "BANK-6", "BANK-7"))
        if tested and not sandbox:
            from engine.payments.test_drawdowns import TEST_AMOUNT
            from engine.payments.bank_calendar import request_date
            from engine.store.tables import TestDrawdown

            now = svc.now()
            s.add(TestDrawdown(company_id=company_id, funding_account_id=account.id, deposit_account_id=deposit.id,
                               amount=TEST_AMOUNT, status="Funding Completed", reason=None, requested_by=actor,
                               request_date=request_date(now), created_at=now, settled_at=now))
            account.tested_at = now
            s.flush()
            bank_accounts.write_audit(s, svc, account, actor, "test_drawdown_seeded", before=None, rules=("ROLL-5",),
                                      details={"amount": f"{TEST_AMOUNT:.2f}"})
        return account.id


def seed_beneficiary_account(svc: Services, actor: str, company_id: str, payee_company_id: str, *,
                             approver: str, account_number: str, sandbox: bool = False) -> str:
    """A payee's beneficiary account on the payor's list, designated (the payee's only active
    account, BANK-12) and approved by ``approver`` (BANK-14), still Pending Verification.

    The bootstrap exemption of :func:`seed_funding_account`: the MFA challenges of adding and
    approving (MFA-8) are skipped because the seeded users have not enrolled; the payor Admin
    and the approver's role are checked and every step is audited (``*_seeded``)."""
    from engine.payments import beneficiaries
    from engine.security.permissions import require
    from engine.service.directory import get_company

    with svc.tx() as s:
        get_company(s, company_id, lock=True)
        bank_accounts.require_admin(s, company_id, actor, action="adding a beneficiary account")
        require(s, company_id, approver, BENEFICIARY_APPROVER, rule="BANK-14", action="approving a beneficiary account")
        account = bank_accounts.new_account(svc.now(), company_id, bank_accounts.BENEFICIARY,
                                            nickname=f"Payee Bank {account_number[-4:]}", bank_name="Payee Bank",
                                            holder_name="Payee operating account", routing=SEED_ROUTING,
                                            number=account_number, sandbox=sandbox, payee_company_id=payee_company_id)
        account.approved_by, account.approved_at = approver, svc.now()
        s.add(account)
        s.flush()
        bank_accounts.write_audit(s, svc, account, actor, "beneficiary_account_seeded", before=None,
                                  rules=("BANK-1", "BANK-14"), details={"approved_by": approver})
        beneficiaries.designate_only_active(s, svc, company_id, payee_company_id, actor)
        return account.id


def seed_company(svc: Services, source: templates.WorkflowSource, *, people: Sequence[str],
                 roles: Mapping[str, Sequence[str]], manager: str, outsiders: Sequence[str] = (),
                 company_name: str = "GC Builders", domain: str = "gc.example",
                 project: directory.ProjectInfo | None = None, configure: bool = True) -> Seeded:
    """A company (its first Admin is ``admin``), ``people`` as Payments Disbursers, ``manager``
    also Can Be Workflow Manager, ``outsiders`` as members without any role, a project, a funding
    account "Operating", a payee company "Acme Concrete" (its admin under ``payees.<domain>``)
    and a template publishing ``source``. With ``configure``, ``roles`` (role → short names) are
    bound, ``manager`` is named and the template becomes the default (WF-6..WF-9)."""
    names = dict.fromkeys(("admin", *people, *outsiders))
    users = {n: directory.create_user(svc, f"{n}@{domain}", n.replace("_", " ").title()).id for n in names}
    admin = users["admin"]
    company = directory.create_company(svc, company_name, first_admin=admin).id
    for name in names:
        if name != "admin":
            directory.add_member(svc, admin, company, f"{name}@{domain}")  # GEN-5: members before grants
    for name in people:
        if name != "admin":
            seed_role(svc, admin, company, users[name], PAYMENTS_DISBURSER)
    directory.grant(svc, admin, company, users[manager], CAN_BE_MANAGER)  # a workflow permission: no code
    project_id = directory.create_project(svc, admin, company, project or directory.ProjectInfo(name="Tower A")).id
    funding = seed_funding_account(svc, admin, company, "Operating")
    payee = seed_payee(svc, "Acme Concrete", domain=f"payees.{domain}")
    template = templates.create_template(svc, admin, company, "Payments").id
    templates.publish(svc, admin, company, template, source)
    if configure:
        templates.configure(svc, admin, company, template, manager=users[manager],
                            roles={role: [users[n] for n in members] for role, members in roles.items()})
        templates.set_default(svc, admin, company, template)
    return Seeded(company, project_id, template, users, funding, payee)


# ---------------------------------------------------------------- the demo company of `payroute serve --demo`

#: the demo company's name and its people's email domain
DEMO_COMPANY = "Demo Builders"
DEMO_DOMAIN = "demo.example"
#: the Payments Admin who is also the workflow manager: the user a demo token acts as
DEMO_ADMIN = f"admin@{DEMO_DOMAIN}"
#: every demo user's sign-in password (README's demo section says it): public, so a demo only, never
#: set outside :func:`seed_demo`
DEMO_PASSWORD = "insecure-demo-password"
#: the people seed_company makes Payments Disbursers (the Controller and CFO must hold a payments role
#: to be eligible assignees, as in every company), and the members given one other role each
_DISBURSERS = ("disburser", "controller", "cfo")
_OTHER_ROLES = {"contributor": DISBURSEMENT_CONTRIBUTOR, "approver": BENEFICIARY_APPROVER}
_PROJECTS = (directory.ProjectInfo(name="Riverside Tower", office="Denver", sector="Commercial"),
             directory.ProjectInfo(name="Harbor Point Offices", office="Boston", sector="Commercial"))


@dataclass(frozen=True)
class _Planned:
    """One demo disbursement: its label, project (index into ``_PROJECTS``), invoices (number, payee,
    amount due) and the answers that bring it to its state (``None``: leave it where creation left it)."""

    label: str
    project: int
    invoices: tuple[tuple[str, str, str], ...]
    answers: tuple[tuple[str, str], ...] = ()


#: The demo's disbursements, in the order they are made, each identified later by its first invoice's number.
#: ``not_started`` is made before the template becomes the default (DSB-9), ``draft`` by the Contributor.
_PLAN = (
    _Planned("not_started", 0, (("DEMO-1001", "Acme Concrete", "18400.00"),)),
    _Planned("draft", 1, (("DEMO-1002", "Steelworks LLC", "9750.00"),)),
    _Planned("controller_review", 0, (("DEMO-1003", "Acme Concrete", "48250.00"),
                                      ("DEMO-1004", "Steelworks LLC", "12000.00"))),
    _Planned("cfo_review", 0, (("DEMO-1005", "Acme Concrete", "120000.00"),), (("controller", "Approve"),)),
    _Planned("approved", 1, (("DEMO-1006", "Steelworks LLC", "35000.00"),), (("controller", "Approve"),)),
    _Planned("rejected", 1, (("DEMO-1007", "Acme Concrete", "72500.00"),), (("controller", "Reject"),)),
)


class DemoIncomplete(RuntimeError):
    """The database holds part of the demo (an earlier seed stopped half-way): it is neither seeded
    again on top (that would duplicate it) nor taken as the demo (it lacks some of its states)."""


@dataclass(frozen=True)
class Demo:
    """The demo company, as :func:`seed_demo` made it or found it."""

    company: str
    template: str
    #: project ids, in the order of ``_PROJECTS``
    projects: tuple[str, ...]
    #: user id by email: every member of the company
    users: Mapping[str, str]
    #: disbursement id by label: not_started, draft, controller_review, cfo_review, approved, rejected
    disbursements: Mapping[str, str]
    #: True when this call seeded it, False when it was already there
    created: bool


def seed_demo(svc: Services, source: templates.WorkflowSource | None = None) -> Demo:
    """The demo company "Demo Builders", seeded once per database: found when it exists, else made.

    Why through the commands: the demo shows what the service does, so everything in it got there
    the way a user's data would (audited, checked, workflows started and answered by the engine),
    never by writing rows. The company runs ``source`` (the reference workflow, which the caller
    loads: the engine does not read ``.flow`` text) as its configured default template, with a
    user for every role: ``admin@demo.example`` (Payments Admin and workflow manager),
    ``controller@``, ``cfo@``, ``disburser@`` (Payments Disbursers), ``contributor@`` (Disbursement
    Contributor), ``approver@`` (Payments Beneficiary Approver), and a Payee Admin for each payee.
    Its disbursements stand Not Started, as a Draft, at Controller Review, at CFO Review (over
    $100,000), Approved and Rejected.

    Every demo user, the payee admins included, signs in with :data:`DEMO_PASSWORD`; none has
    enrolled in MFA, so a payments-role holder's first sign-in may only enroll (ROLE-10), while
    ``contributor@`` (no payments role) signs in with the password alone.

    Each command is its own transaction, so a seed interrupted half-way leaves part of a demo:
    the next call raises :class:`DemoIncomplete` instead of guessing. ``source`` is needed only
    to seed (a call that finds the demo may pass None).
    """
    found = find_demo(svc)
    if found is not None:
        return found
    if source is None:
        raise ValueError("seed_demo: no demo in this database, and no workflow source to seed one with")
    _seed(svc, source)
    made = find_demo(svc)
    assert made is not None, "the demo just seeded must be found"
    return Demo(made.company, made.template, made.projects, made.users, made.disbursements, created=True)


def find_demo(svc: Services) -> Demo | None:
    """The demo company of this database (``created`` False), None when there is none at all; an
    incomplete one is :class:`DemoIncomplete`."""
    from sqlalchemy import select

    from engine.store.tables import Company, DisbursementItem, Invoice, Membership, Project, User

    with svc.db.sessions() as s:
        admin = s.scalars(select(User.id).where(User.email == DEMO_ADMIN)).first()
        if admin is None:
            return None
        company = s.scalars(select(Company).join(Membership, Membership.company_id == Company.id)
                            .where(Membership.user_id == admin, Company.name == DEMO_COMPANY,
                                   Company.is_payee.is_(False))).first()
        if company is None or company.default_template_id is None:
            raise DemoIncomplete(f"the database holds {DEMO_ADMIN} but not a configured {DEMO_COMPANY}: "
                                 "an earlier demo seed stopped half-way; start on a new database")
        names = [p.name for p in _PROJECTS]
        projects = dict(s.execute(select(Project.name, Project.id).where(Project.company_id == company.id,
                                                                          Project.name.in_(names))).all())
        users = dict(s.execute(select(User.email, User.id).join(Membership, Membership.user_id == User.id)
                               .where(Membership.company_id == company.id)).all())
        first = {plan.invoices[0][0]: plan.label for plan in _PLAN}
        held = s.execute(select(Invoice.number, DisbursementItem.disbursement_id)
                         .join(DisbursementItem, DisbursementItem.invoice_id == Invoice.id)
                         .where(Invoice.company_id == company.id, Invoice.number.in_(first))).all()
        disbursements = {first[number]: d for number, d in held}
        if len(projects) != len(names) or len(disbursements) != len(_PLAN):
            raise DemoIncomplete(f"{DEMO_COMPANY} lacks some of the demo's projects or disbursements: an earlier "
                                 "demo seed stopped half-way; start on a new database")
        return Demo(company.id, company.default_template_id, tuple(projects[n] for n in names), users,
                    {plan.label: disbursements[plan.label] for plan in _PLAN}, created=False)


#: the demo funding account's balance at the simulated bank, and how soon that bank settles
DEMO_FUNDS = "2500000.00"
DEMO_SETTLE_SECONDS = 10


def _seed_bank_accounts(svc: Services, company: str, admin: str, funding: str, approver: str,
                        payees: Iterable[str]) -> None:
    """The demo's money side, ready to authorize: the funding account and its deposit account
    Verified (the funding account, first to be Verified, becomes default, BANK-9), and each payee
    with an approved, designated, Verified beneficiary account (BANK-12, BANK-14)."""
    from engine.payments import account_lifecycle

    deposit = bank_accounts.read_bank_account(svc, admin, company, funding).deposit_account_id
    assert deposit is not None
    account_lifecycle.verify(svc, admin, company, deposit)
    account_lifecycle.verify(svc, admin, company, funding)
    # The simulated bank (the only one shipped) holds the funding account's money, and settles a
    # demo's instructions seconds after taking them rather than at 18:00 New York.
    stored_bank.credit(svc.db, stored_bank.PRODUCTION, funding, DEMO_FUNDS, now=svc.now())
    stored_bank.set_settle_after(svc.db, stored_bank.PRODUCTION, DEMO_SETTLE_SECONDS, now=svc.now())
    for n, payee in enumerate(payees, start=1):
        account = seed_beneficiary_account(svc, admin, company, payee, approver=approver,
                                           account_number=f"{n:04d}00{n:06d}")
        account_lifecycle.verify(svc, admin, company, account)


def _seed_passwords(svc: Services) -> None:
    """:data:`DEMO_PASSWORD` for every user of the demo's domain (its people and its payees' admins),
    each through the ordinary, audited ``set_password``."""
    from sqlalchemy import or_, select

    from engine.security import sign_in
    from engine.store.tables import User

    with svc.db.sessions() as s:
        addresses = s.scalars(select(User.email).where(or_(User.email.like(f"%@{DEMO_DOMAIN}"),
                                                           User.email.like(f"%.{DEMO_DOMAIN}")))
                              .order_by(User.email)).all()
    for address in addresses:
        sign_in.set_password(svc, address, DEMO_PASSWORD)


def _seed(svc: Services, source: templates.WorkflowSource) -> None:
    """Every step of the demo, in order, each an ordinary command."""
    from engine.service import disbursements, instances
    from engine.service.disbursements import PaymentLine

    seeded = seed_company(svc, source, people=_DISBURSERS, outsiders=tuple(_OTHER_ROLES),
                          roles={"Controller": ["controller"], "CFO": ["cfo"], "Workflow Manager": ["admin"]},
                          manager="admin", company_name=DEMO_COMPANY, domain=DEMO_DOMAIN, project=_PROJECTS[0],
                          configure=False)
    u, company = seeded.users, seeded.company
    admin = u["admin"]
    for name, permission in _OTHER_ROLES.items():
        seed_role(svc, admin, company, u[name], permission)
    projects = [seeded.project] + [directory.create_project(svc, admin, company, info).id for info in _PROJECTS[1:]]
    payees = {"Acme Concrete": seeded.payee,
              "Steelworks LLC": seed_payee(svc, "Steelworks LLC", domain=f"payees.{DEMO_DOMAIN}")}
    _seed_bank_accounts(svc, company, admin, seeded.funding, u["approver"], payees.values())
    _seed_passwords(svc)  # before the disbursements: a seed stopped before them is an incomplete demo
    for plan in _PLAN:
        lines = [PaymentLine(directory.create_invoice(svc, admin, company, projects[plan.project], payee=payees[payee],
                                                      number=number, amount_due=amount).id)
                 for number, payee, amount in plan.invoices]
        if plan.label == "draft":  # DSB-6: the Contributor's draft, no funding account yet
            disbursements.create_draft(svc, u["contributor"], company, project_id=projects[plan.project],
                                       payments=lines)
            continue
        made = disbursements.create_disbursement(svc, u["disburser"], company, project_id=projects[plan.project],
                                                 funding_account=seeded.funding, payments=lines)
        if plan.label == "not_started":
            # DSB-9: made while no default template exists, it waits for the manager to start it (MGR-4)
            templates.configure(svc, admin, company, seeded.template, manager=admin,
                                roles={"Controller": [u["controller"]], "CFO": [u["cfo"]],
                                       "Workflow Manager": [admin]})
            templates.set_default(svc, admin, company, seeded.template)
            continue
        for who, answer in plan.answers:
            where = instances.view(svc, admin, company, made.id)
            assert where is not None and where.current_occurrence is not None
            instances.respond(svc, u[who], company, made.id, occurrence=where.current_occurrence, answer=answer)
