"""Seed a company that runs a workflow, through the engine's own public functions.

The tests, the benchmarks (and later the service's embedded defaults) all need
"a company whose default template runs this workflow, with these people in
these roles"; this is the one place that knows the order of the calls.
Nothing here bypasses a check: every step is an ordinary, audited operation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from . import directory, templates
from .permissions import CAN_BE_MANAGER, PAYMENTS_DISBURSER
from .services import Services


@dataclass(frozen=True)
class Seeded:
    company: str
    project: str
    template: str
    #: user id by the short name given in ``people`` (plus ``admin``)
    users: Mapping[str, str]

    def __getitem__(self, name: str) -> str:
        return self.users[name]


def seed_company(svc: Services, source: templates.WorkflowSource, *, people: Sequence[str],
                 roles: Mapping[str, Sequence[str]], manager: str, outsiders: Sequence[str] = (),
                 company_name: str = "GC Builders", domain: str = "gc.example",
                 project: directory.ProjectInfo | None = None, configure: bool = True) -> Seeded:
    """A company (its first Admin is ``admin``), ``people`` as Payments Disbursers, ``manager``
    also Can Be Workflow Manager, ``outsiders`` as members without any role, a project, and a
    template publishing ``source``. With ``configure``, ``roles`` (role → short names) are
    bound, ``manager`` is named and the template becomes the default (WF-6..WF-9)."""
    names = dict.fromkeys(("admin", *people, *outsiders))
    users = {n: directory.create_user(svc, f"{n}@{domain}", n.replace("_", " ").title()) for n in names}
    admin = users["admin"]
    company = directory.create_company(svc, company_name, first_admin=admin)
    for name in names:
        if name != "admin":
            directory.add_member(svc, admin, company, f"{name}@{domain}")  # GEN-5: members before grants
    for name in people:
        if name != "admin":
            directory.grant(svc, admin, company, users[name], PAYMENTS_DISBURSER)
    directory.grant(svc, admin, company, users[manager], CAN_BE_MANAGER)
    project_id = directory.create_project(svc, admin, company, project or directory.ProjectInfo(name="Tower A"))
    template = templates.create_template(svc, admin, company, "Payments")
    templates.publish(svc, admin, company, template, source)
    if configure:
        templates.configure(svc, admin, company, template, manager=users[manager],
                            roles={role: [users[n] for n in members] for role, members in roles.items()})
        templates.set_default(svc, admin, company, template)
    return Seeded(company, project_id, template, users)
