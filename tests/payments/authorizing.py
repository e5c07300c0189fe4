"""A company ready to authorize: accounts Verified, a payee's account approved and designated,
an Admin and a second Disburser enrolled in MFA, and disbursements the workflow approved."""

from __future__ import annotations

from dataclasses import dataclass

from engine.payments import account_lifecycle, bank_accounts
from engine.security.permissions import BENEFICIARY_APPROVER
from engine.service import directory, disbursements, instances
from engine.service.demo import seed_beneficiary_account
from engine.service.disbursements import PaymentLine
from tests.payments.banking import Authenticator
from tests.roles import grant_role
from tests.world import World, build_world


@dataclass
class Ready:
    w: World
    #: the company's Admin (who registered the invoices, approving none of them)
    admin: Authenticator
    #: the Controller, a Disburser who answers the workflow's first step
    controller: Authenticator
    beneficiary: dict[str, str]
    _accounts: int = 0

    @property
    def svc(self):
        return self.w.svc

    def payee_account(self, vendor: str) -> str:
        """``vendor``'s approved, designated, Verified beneficiary account (BANK-12, BANK-14)."""
        if vendor not in self.beneficiary:
            self._accounts += 1
            account = seed_beneficiary_account(self.svc, self.w.admin, self.w.company, self.w.payee(vendor),
                                               approver=self.w.admin, account_number=f"44{self._accounts:04d}0009876")
            account_lifecycle.verify(self.svc, self.w.admin, self.w.company, account)
            self.beneficiary[vendor] = account
        return self.beneficiary[vendor]

    def disbursement(self, *lines: tuple[str, str | None], vendor: str = "Acme Concrete",
                     approve: bool = True, approved_by: str | None = None) -> str:
        """A disbursement paying invoices of ``(amount due, amount paid or None)``, approved by the
        Controller in the reference workflow (at most $100,000: no CFO step)."""
        self.payee_account(vendor)
        payments = []
        for due, paid in lines or (("5000.00", None),):
            self.w._invoices += 1
            inv = directory.create_invoice(self.svc, self.w.admin, self.w.company, self.w.project,
                                           payee=self.w.payee(vendor), number=f"INV-{self.w._invoices:04d}",
                                           amount_due=due, approved_by=approved_by).id
            payments.append(PaymentLine(inv, paid, note="part now" if paid else None))
        d = disbursements.create_disbursement(self.svc, self.w.creator, self.w.company, project_id=self.w.project,
                                              funding_account=self.w.funding, payments=payments).id
        if approve:
            view = instances.view(self.svc, self.w.admin, self.w.company, d)
            instances.respond(self.svc, self.w.controller, self.w.company, d, occurrence=view.current_occurrence,
                              answer="Approve")
            assert instances.view(self.svc, self.w.admin, self.w.company, d).workflow_status == "Approved"
        return d


def make_ready(svc, clock, w: World | None = None) -> Ready:
    """``w`` (GC Builders, built here when None) ready to authorize."""
    w = w or build_world(svc)
    grant_role(svc, w.admin, w.company, w.admin, BENEFICIARY_APPROVER)
    deposit = bank_accounts.read_bank_account(svc, w.admin, w.company, w.funding).deposit_account_id
    account_lifecycle.verify(svc, w.admin, w.company, deposit)
    account_lifecycle.verify(svc, w.admin, w.company, w.funding)
    ready = Ready(w, Authenticator(svc, clock, w.company, w.admin), Authenticator(svc, clock, w.company, w.controller),
                  {})
    ready.payee_account("Acme Concrete")
    return ready
