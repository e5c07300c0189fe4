"""A small company set up through the engine's public functions, shared by store tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dsl.load import load_workflow
from engine import directory
from engine.demo import seed_company
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
    _invoices: int = 0

    def invoice(self, amount_due: str, vendor: str = "Acme Concrete") -> str:
        self._invoices += 1
        return directory.create_invoice(self.svc, self.admin, self.company, self.project, vendor=vendor,
                                        number=f"INV-{self._invoices:04d}", amount_due=amount_due)


def build_world(svc: Services, source: str = REFERENCE, *, configure: bool = True) -> World:
    """GC Builders running ``source`` (the reference workflow by default)."""
    seeded = seed_company(svc, load_workflow(source, "workflow.flow"),
                          people=("creator", "manager", "controller", "cfo"),
                          roles={"Controller": ["controller"], "CFO": ["cfo"], "Workflow Manager": ["manager"]},
                          manager="manager", project=directory.ProjectInfo(name="Tower A", office="Boston"),
                          configure=configure)
    u = seeded.users
    return World(svc, seeded.company, u["admin"], u["creator"], u["manager"], u["controller"], u["cfo"],
                 seeded.project, seeded.template)
