"""A company's Admin verifies the company's audit chains (AUD-3) — the query behind ``GET /v1/audit/verify``.

The operator's ``payroute audit verify`` walks every chain of the database with the
audit key and needs no user. A company's own people may want the same assurance about
their company without operator access, so :func:`verify_company` runs the very same walk
(:func:`engine.service.audit.verify` with ``company_id``), narrowed to the company's chains:
its own chain (company-level actions and audited refusals, AUD-4) and each of its
disbursements' chains, plus a check that none of its disbursements lost its chain whole.

Who may: an active Payments Admin of the company (ROLE-1: the Admin manages the company's
payment settings, bank accounts and role grants, and the audit log records exactly those and
every money action). A Disburser or any other member is ``permission_denied``; a non-member
or a deactivated member gets ``not_found`` (GEN-5). It reads in a snapshot
(:func:`engine.service.audit.snapshot`), so live writes beside it never show as a break.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.errors import DomainError
from engine.security import keys
from engine.security.permissions import PAYMENTS_ADMIN, membership, require_any
from engine.service import audit
from engine.service.audit import Break
from engine.service.directory import get_company
from engine.services import Services


@dataclass(frozen=True)
class AuditReport:
    """What verifying a company's chains found: ``ok`` is true when no chain is broken; each
    broken chain reports its first broken entry (AUD-3), as ``payroute audit verify`` does."""

    company_id: str
    ok: bool
    #: entries in the company's chains
    entries: int
    breaks: tuple[Break, ...]
    #: the log was written with the INSECURE built-in development key: anyone can forge it
    development_key: bool


def verify_company(svc: Services, actor: str, company_id: str) -> AuditReport:
    """Verify ``company_id``'s audit chains (hashes, links, MACs, heads, missing chains) for one
    of its Payments Admins."""
    key = keys.audit_key()
    with audit.snapshot(svc.db) as s:
        get_company(s, company_id)
        member = membership(s, company_id, actor)
        if member is None or not member.active:
            raise DomainError("not_found", "no such company", rule="GEN-5")
        require_any(s, company_id, actor, (PAYMENTS_ADMIN,), rule="ROLE-1",
                    action="verifying the company's audit log")
        breaks = audit.verify(s, key=key, company_id=company_id)
        total = audit.count(s, company_id=company_id)
    return AuditReport(company_id, not breaks, total, tuple(breaks), key.development)
