"""A small company set up through the engine's public functions, shared by store tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dsl.load import load_workflow
from engine import directory, templates
from engine.permissions import CAN_BE_MANAGER, PAYMENTS_DISBURSER
from engine.services import Services

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = (ROOT / "templates_examples" / "reference" / "workflow.flow").read_text()


@dataclass
class World:
    svc: Services
    company: str
    admin: str
    creator: str
    manager: str
    controller: str
    cfo: str
    project: str
    template: str
    users: dict[str, str] = field(default_factory=dict)

    def invoice(self, amount_due: str, vendor: str = "Acme Concrete") -> str:
        n = len(self.users)
        self.users[f"inv{n}"] = ""
        return directory.create_invoice(self.svc, self.admin, self.company, self.project, vendor=vendor,
                                        number=f"INV-{n:04d}", amount_due=amount_due)


def build_world(svc: Services, source: str = REFERENCE, *, configure: bool = True) -> World:
    uid = {name: directory.create_user(svc, f"{name}@gc.example", name.title())
           for name in ("admin", "creator", "manager", "controller", "cfo")}
    company = directory.create_company(svc, "GC Builders", first_admin=uid["admin"])
    for name in ("creator", "manager", "controller", "cfo"):
        directory.grant(svc, uid["admin"], company, uid[name], PAYMENTS_DISBURSER)
    directory.grant(svc, uid["admin"], company, uid["manager"], CAN_BE_MANAGER)
    project = directory.create_project(svc, uid["admin"], company,
                                       directory.ProjectInfo(name="Tower A", office="Boston"))
    template = templates.create_template(svc, uid["admin"], company, "Payments")
    templates.publish(svc, uid["admin"], company, template, load_workflow(source, "workflow.flow"))
    if configure:
        templates.configure(svc, uid["admin"], company, template, manager=uid["manager"],
                            roles={"Controller": [uid["controller"]], "CFO": [uid["cfo"]],
                                   "Workflow Manager": [uid["manager"]]})
        templates.set_default(svc, uid["admin"], company, template)
    return World(svc, company, uid["admin"], uid["creator"], uid["manager"], uid["controller"], uid["cfo"],
                 project, template)
