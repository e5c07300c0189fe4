"""Companies, people, groups, projects and invoices: the objects workflows act on.

Company-level changes are audited on the company's chain. Role grants are an
Admin action and can never remove the company's last Admin (ROLE-11); the
MFA challenge ROLE-11 also asks for arrives with the security milestone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import audit
from .errors import DomainError
from .money import MoneyError, parse_money
from .permissions import (
    ALL_PERMISSIONS, PAYMENTS_ADMIN, LABELS, require,
)
from .services import Services
from .store.tables import Company, Grant, Group, GroupMember, Invoice, Project, User


def get_company(session: Session, company_id: str, *, lock: bool = False) -> Company:
    """The company, or ``not_found`` (GEN-5); ``lock`` takes its row lock for company-level changes."""
    q = select(Company).where(Company.id == company_id)
    if lock:
        q = q.with_for_update()
    company = session.scalars(q).first()
    if company is None:
        raise DomainError("not_found", "no such company", rule="GEN-5")
    return company


def _audit(session: Session, svc: Services, company_id: str, actor: str | None, action: str,
           object_type: str, object_id: str, **kwargs: Any) -> None:
    audit.append(session, chain=audit.company_chain(company_id), company_id=company_id,
                 at=svc.now(), actor_id=actor, action=action, object_type=object_type,
                 object_id=object_id, **kwargs)


def _recheck_workflows(session: Session, svc: Services, company_id: str, user_id: str, actor: str) -> None:
    """STEP-2: a user who lost eligibility may have been the last one a step waits for."""
    from .workflows import recheck_eligibility  # lazily: engine.workflows imports this module

    recheck_eligibility(session, svc, company_id, [user_id], actor)


def create_user(svc: Services, email: str, name: str) -> str:
    email = email.strip().lower()
    if "@" not in email or email.startswith("@") or email.endswith("@"):
        raise DomainError("invalid_email", f"`{email}` is not an email address")
    with svc.tx() as s:
        if s.scalar(select(func.count(User.id)).where(User.email == email)):
            raise DomainError("duplicate_user", f"a user with email `{email}` exists")
        user = User(email=email, name=name)
        s.add(user)
        s.flush()
        return user.id


def create_company(svc: Services, name: str, *, first_admin: str, time_zone: str = "America/New_York",
                   holidays: Iterable[date] = (), workflows_enabled: bool = True,
                   segregation: str = "invoice_approver", is_payee: bool = False) -> str:
    """Create a company with its first Payments Admin (the bootstrap; no actor yet).

    A payee company (``is_payee``: a subcontractor receiving payments) is a
    company like any other; its first Payments Admin is its Payee Admin (ROLE-6).
    """
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise DomainError("invalid_time_zone", f"`{time_zone}` is not an IANA time zone", rule="GEN-6") from None
    if segregation not in ("invoice_approver", "strict"):
        raise DomainError("invalid_setting", "segregation is `invoice_approver` or `strict`", rule="AUTH-6")
    with svc.tx() as s:
        if s.get(User, first_admin) is None:
            raise DomainError("not_found", "no such user")
        company = Company(name=name, time_zone=time_zone,
                          holidays=sorted(d.isoformat() for d in holidays),
                          workflows_enabled=workflows_enabled, segregation=segregation, is_payee=is_payee)
        s.add(company)
        s.flush()
        s.add(Grant(company_id=company.id, user_id=first_admin, permission=PAYMENTS_ADMIN))
        _audit(s, svc, company.id, None, "company_created", "company", company.id,
               after={"name": name, "first_admin": first_admin, "payee": is_payee}, rules=("ROLE-1",))
        return company.id


def update_settings(svc: Services, actor: str, company_id: str, **settings: Any) -> None:
    """Admin: ``workflows_enabled`` (WF-10), ``time_zone``/``holidays`` (GEN-6), ``segregation``."""
    allowed = {"workflows_enabled", "time_zone", "holidays", "segregation"}
    unknown = set(settings) - allowed
    if unknown:
        raise DomainError("invalid_setting", "unknown setting: " + ", ".join(sorted(unknown)))
    with svc.tx() as s:
        company = get_company(s, company_id, lock=True)
        require(s, company_id, actor, PAYMENTS_ADMIN, rule="ROLE-1", action="changing payment settings")
        before = {k: getattr(company, k) for k in settings}
        if "holidays" in settings:
            settings["holidays"] = sorted(d.isoformat() if isinstance(d, date) else str(d)
                                          for d in settings["holidays"])
        for key, value in settings.items():
            setattr(company, key, value)
        _audit(s, svc, company_id, actor, "settings_changed", "company", company_id,
               before=before, after=settings, rules=("WF-10", "GEN-6"))


def grant(svc: Services, actor: str, company_id: str, user_id: str, permission: str) -> None:
    """ROLE-11: an Admin grants a role or workflow permission (idempotent)."""
    if permission not in ALL_PERMISSIONS:
        raise DomainError("invalid_permission", f"unknown permission `{permission}`")
    with svc.tx() as s:
        get_company(s, company_id, lock=True)
        require(s, company_id, actor, PAYMENTS_ADMIN, rule="ROLE-11", action="granting roles")
        if s.get(User, user_id) is None:
            raise DomainError("not_found", "no such user")
        exists = s.scalar(select(Grant.id).where(Grant.company_id == company_id,
                                                 Grant.user_id == user_id, Grant.permission == permission))
        if exists:
            return
        s.add(Grant(company_id=company_id, user_id=user_id, permission=permission))
        _audit(s, svc, company_id, actor, "role_granted", "user", user_id,
               after={"permission": LABELS[permission]}, rules=("ROLE-11",))


def revoke(svc: Services, actor: str, company_id: str, user_id: str, permission: str) -> None:
    """ROLE-11: revoking never removes the company's last Admin."""
    with svc.tx() as s:
        get_company(s, company_id, lock=True)
        require(s, company_id, actor, PAYMENTS_ADMIN, rule="ROLE-11", action="revoking roles")
        row = s.scalars(select(Grant).where(Grant.company_id == company_id, Grant.user_id == user_id,
                                            Grant.permission == permission)).first()
        if row is None:
            return
        if permission == PAYMENTS_ADMIN:
            n = s.scalar(select(func.count(Grant.id)).where(Grant.company_id == company_id,
                                                             Grant.permission == PAYMENTS_ADMIN))
            if n <= 1:
                raise DomainError("last_admin", "a company always keeps at least one Payments Admin",
                                  rule="ROLE-11")
        s.delete(row)
        _audit(s, svc, company_id, actor, "role_revoked", "user", user_id,
               before={"permission": LABELS[permission]}, rules=("ROLE-11",))
        _recheck_workflows(s, svc, company_id, user_id, actor)


def set_user_active(svc: Services, actor: str, company_id: str, user_id: str, active: bool) -> None:
    with svc.tx() as s:
        get_company(s, company_id, lock=True)
        require(s, company_id, actor, PAYMENTS_ADMIN, rule="ROLE-1", action="deactivating users")
        user = s.get(User, user_id)
        if user is None:
            raise DomainError("not_found", "no such user")
        before = user.active
        user.active = active
        _audit(s, svc, company_id, actor, "user_activated" if active else "user_deactivated",
               "user", user_id, before={"active": before}, after={"active": active}, rules=("ROLE-8",))
        _recheck_workflows(s, svc, company_id, user_id, actor)


def create_group(svc: Services, actor: str, company_id: str, name: str, members: Iterable[str] = ()) -> str:
    with svc.tx() as s:
        get_company(s, company_id, lock=True)
        require(s, company_id, actor, PAYMENTS_ADMIN, rule="ROLE-1", action="managing groups")
        group = Group(company_id=company_id, name=name)
        s.add(group)
        s.flush()
        for uid in dict.fromkeys(members):
            s.add(GroupMember(group_id=group.id, user_id=uid))
        _audit(s, svc, company_id, actor, "group_created", "group", group.id,
               after={"name": name, "members": list(members)})
        return group.id


@dataclass(frozen=True)
class ProjectInfo:
    name: str
    office: str | None = None
    sector: str | None = None
    start_date: date | None = None
    attributes: dict[str, str] | None = None
    payment_workflows_enabled: bool = True


def create_project(svc: Services, actor: str, company_id: str, info: ProjectInfo) -> str:
    with svc.tx() as s:
        get_company(s, company_id, lock=True)
        require(s, company_id, actor, PAYMENTS_ADMIN, rule="ROLL-1", action="creating projects")
        project = Project(company_id=company_id, name=info.name, office=info.office, sector=info.sector,
                          start_date=info.start_date, attributes=dict(info.attributes or {}),
                          payment_workflows_enabled=info.payment_workflows_enabled)
        s.add(project)
        s.flush()
        _audit(s, svc, company_id, actor, "project_created", "project", project.id,
               after={"name": info.name, "payment_workflows_enabled": info.payment_workflows_enabled})
        return project.id


def set_project_workflows(svc: Services, actor: str, company_id: str, project_id: str, enabled: bool) -> None:
    """ROLL-1/ROLL-2: affects disbursements created afterwards only."""
    with svc.tx() as s:
        get_company(s, company_id, lock=True)
        require(s, company_id, actor, PAYMENTS_ADMIN, rule="ROLL-1", action="enabling payment workflows")
        project = s.get(Project, project_id)
        if project is None or project.company_id != company_id:
            raise DomainError("not_found", "no such project", rule="GEN-5")
        before = project.payment_workflows_enabled
        project.payment_workflows_enabled = enabled
        _audit(s, svc, company_id, actor, "project_workflows_changed", "project", project_id,
               before={"enabled": before}, after={"enabled": enabled}, rules=("ROLL-1", "ROLL-2"))


def create_invoice(svc: Services, actor: str, company_id: str, project_id: str, *, vendor: str,
                   number: str, amount_due: str, approved_by: str | None = None) -> str:
    """Register an Unpaid invoice (the Invoicing tool's side, reduced to what payments need)."""
    try:
        due: Decimal = parse_money(amount_due)
    except MoneyError as exc:
        raise DomainError("invalid_amount", f"amount_due: {exc}", rule="GEN-2") from None
    if due <= 0:
        raise DomainError("invalid_amount", "amount_due must be greater than $0.00", rule="DSB-2")
    with svc.tx() as s:
        get_company(s, company_id, lock=True)
        require(s, company_id, actor, PAYMENTS_ADMIN, rule="ROLE-1", action="registering invoices")
        project = s.get(Project, project_id)
        if project is None or project.company_id != company_id:
            raise DomainError("not_found", "no such project", rule="GEN-5")
        invoice = Invoice(company_id=company_id, project_id=project_id, vendor=vendor, number=number,
                          amount_due=due, approved_by=approved_by)
        s.add(invoice)
        s.flush()
        _audit(s, svc, company_id, actor, "invoice_registered", "invoice", invoice.id,
               after={"vendor": vendor, "number": number, "amount_due": due})
        return invoice.id
