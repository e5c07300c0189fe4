"""A small company set up through the engine's public functions, shared by store tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dsl.load import load_workflow
from engine.service import directory
from engine.service.demo import seed_company, seed_payee
from engine.services import Services

ROOT = Path(__file__).resolve().parents[1]
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
    #: the company's funding account (DSB-7)
    funding: str
    #: payee company id by name; ``invoice`` adds a payee the first time it names one
    payees: dict[str, str] = field(default_factory=dict)
    _invoices: int = 0

    def payee(self, name: str) -> str:
        if name not in self.payees:
            self.payees[name] = seed_payee(self.svc, name, domain="payees.gc.example")
        return self.payees[name]

    def invoice(self, amount_due: str, vendor: str = "Acme Concrete") -> str:
        """An Unpaid invoice of Tower A paying the payee company called ``vendor``."""
        self._invoices += 1
        return directory.create_invoice(self.svc, self.admin, self.company, self.project, payee=self.payee(vendor),
                                        number=f"INV-{self._invoices:04d}", amount_due=amount_due).id


def build_world(svc: Services, source: str = REFERENCE, *, configure: bool = True) -> World:
    """GC Builders running ``source`` (the reference workflow by default)."""
    seeded = seed_company(svc, load_workflow(source, "workflow.flow"),
                          people=("creator", "manager", "controller", "cfo"),
                          roles={"Controller": ["controller"], "CFO": ["cfo"], "Workflow Manager": ["manager"]},
                          manager="manager", project=directory.ProjectInfo(name="Tower A", office="Boston"),
                          configure=configure)
    u = seeded.users
    return World(svc, seeded.company, u["admin"], u["creator"], u["manager"], u["controller"], u["cfo"],
                 seeded.project, seeded.template, seeded.funding, {"Acme Concrete": seeded.payee})
