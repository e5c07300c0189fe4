"""Seed a company that runs a workflow, through the engine's own public functions.

The tests, the benchmarks (and later the service's embedded defaults) all need
"a company whose default template runs this workflow, with these people in
these roles"; this is the one place that knows the order of the calls.
Nothing here bypasses a check: every step is an ordinary, audited operation.

These are bootstrap helpers, exempt from ``(svc, actor, company_id)`` like
``directory.create_user`` and ``directory.create_company`` which they start with: the
company and its first Admin do not exist before they run, and every later step acts as
that Admin. They return the ids they made (:class:`Seeded`), what a test or a benchmark
needs to go on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from engine.payments import bank_accounts
from engine.security.permissions import CAN_BE_MANAGER, PAYMENTS_DISBURSER
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
            directory.grant(svc, admin, company, users[name], PAYMENTS_DISBURSER)
    directory.grant(svc, admin, company, users[manager], CAN_BE_MANAGER)
    project_id = directory.create_project(svc, admin, company, project or directory.ProjectInfo(name="Tower A")).id
    funding = bank_accounts.add_funding_account(svc, admin, company, "Operating").id
    payee = seed_payee(svc, "Acme Concrete", domain=f"payees.{domain}")
    template = templates.create_template(svc, admin, company, "Payments").id
    templates.publish(svc, admin, company, template, source)
    if configure:
        templates.configure(svc, admin, company, template, manager=users[manager],
                            roles={role: [users[n] for n in members] for role, members in roles.items()})
        templates.set_default(svc, admin, company, template)
    return Seeded(company, project_id, template, users, funding, payee)
