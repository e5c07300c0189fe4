"""Companies, people, groups, projects and invoices: the objects workflows act on.

Company-level changes are audited on the company's chain. Role grants are an
Admin action and can never leave the company without an active Admin
(ROLE-11); granting or revoking a payments role also passes the acting Admin's
MFA challenge, checked last (ROLE-11, MFA-8: :func:`grant`, :func:`revoke`).

A user is a person, global; a person acts in a company only as a member of it
(``memberships``), active or deactivated per company (GEN-5). Every action
here names users of the actor's company only: anyone else is ``not_found``,
exactly like a user who does not exist.

Every command takes ``(svc, actor, company_id, ...)``, checks the actor itself and returns
the frozen view of what it created or changed (:class:`MemberView`, :class:`GroupView`,
:class:`ProjectView`, :class:`InvoiceView`, :class:`CompanyView`). Exempt from the actor:
the bootstrap, :func:`create_user` and :func:`create_company`, which run before any
company (and so any actor in one) exists; and :func:`get_company`, an internal helper
taking the caller's ``Session``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any, Callable, Generic, Iterable, Sequence, TypeVar

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from engine.errors import DomainError
from engine.money import CENT, MoneyError, parse_money
from engine.security import enrollment
from engine.security.permissions import (
    ALL_PERMISSIONS,
    CAN_BE_MANAGER,
    DISBURSEMENT_CONTRIBUTOR,
    EDIT_TEMPLATES,
    LABELS,
    PAYMENT_ROLES,
    PAYMENTS_ADMIN,
    PAYMENTS_DISBURSER,
    admins,
    held,
    membership,
    require,
    require_any,
    require_member,
    standing,
)
from engine.service import audit
from engine.service.idempotency import idempotent
from engine.services import Services
from engine.store.tables import Company, Grant, Group, GroupMember, Invoice, Membership, Project, User
from engine.text import bounded_text, is_id, optional_text, text_problem

# ---------------------------------------------------------------- views


@dataclass(frozen=True)
class UserView:
    """A person (global: they act in companies as members, GEN-5)."""

    id: str
    email: str
    name: str


@dataclass(frozen=True)
class CompanyView:
    """A company with its settings (GEN-6, WF-10, AUTH-6) and default template (WF-9)."""

    id: str
    name: str
    is_payee: bool
    workflows_enabled: bool
    time_zone: str
    holidays: tuple[date, ...]
    segregation: str
    default_template_id: str | None
    #: ROLL-3: every disbursement made from now on is a sandbox (test) one
    sandbox: bool = False


@dataclass(frozen=True)
class MemberView:
    """A person as a member of one company: active or deactivated there (GEN-5, ROLE-8), and the
    payments roles and workflow permissions they hold there (ROLE-1..ROLE-7), in
    :data:`ALL_PERMISSIONS` order."""

    id: str
    email: str
    name: str
    active: bool
    permissions: tuple[str, ...]


@dataclass(frozen=True)
class GroupView:
    id: str
    name: str
    #: user ids, in the order they were added
    members: tuple[str, ...]


@dataclass(frozen=True)
class ProjectView:
    """A project and its rollout switches (ROLL-1)."""

    id: str
    name: str
    office: str | None
    sector: str | None
    start_date: date | None
    attributes: dict[str, str]
    payments_enabled: bool
    payment_workflows_enabled: bool
    #: ROLL-3: the project's disbursements made from now on are sandbox (test) ones
    sandbox: bool = False


@dataclass(frozen=True)
class InvoiceView:
    """An invoice as payments see it: whom it pays, how much is due (GEN-1: exact), its status."""

    id: str
    project_id: str
    number: str
    payee_id: str
    payee_name: str
    amount_due: Decimal
    status: str
    approved_by: str | None
    #: DSB-5: held by a disbursement (or Draft) already, so no other may pay it
    reserved: bool = False


def _user_view(user: User) -> UserView:
    return UserView(user.id, user.email, user.name)


def _company_view(company: Company) -> CompanyView:
    return CompanyView(company.id, company.name, bool(company.is_payee), bool(company.workflows_enabled),
                       company.time_zone, tuple(date.fromisoformat(h) for h in company.holidays or ()),
                       company.segregation or "invoice_approver", company.default_template_id, bool(company.sandbox))


def member_view(session: Session, company_id: str, user_id: str) -> MemberView:
    """The member as this company sees them now (inside the caller's transaction)."""
    session.flush()
    user, active = session.execute(
        select(User, Membership.active).join(Membership, Membership.user_id == User.id)
        .where(Membership.company_id == company_id, User.id == user_id)).one()
    granted = set(session.scalars(select(Grant.permission).where(Grant.company_id == company_id,
                                                                 Grant.user_id == user_id)))
    return MemberView(user.id, user.email, user.name, bool(active),
                      tuple(p for p in ALL_PERMISSIONS if p in granted))


def _project_view(project: Project) -> ProjectView:
    return ProjectView(project.id, project.name, project.office, project.sector, project.start_date,
                       dict(project.attributes or {}), bool(project.payments_enabled),
                       bool(project.payment_workflows_enabled), bool(project.sandbox))


# ---------------------------------------------------------------- companies and people


def get_company(session: Session, company_id: str, *, lock: bool = False) -> Company:
    """The company, or ``not_found`` (GEN-5); ``lock`` takes its row lock for company-level changes.

    An internal helper inside the caller's transaction (it checks no actor)."""
    if not is_id(company_id):
        raise DomainError("not_found", "no such company", rule="GEN-5")
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
    from engine.service.instances import recheck_eligibility  # lazily: engine.service.instances imports this module

    recheck_eligibility(session, svc, company_id, [user_id], actor)


#: one address, as the outbox will put it in a To: header
_EMAIL = re.compile(r"[^@\s,;<>\"\x00-\x1f\x7f]+@[^@\s,;<>\"\x00-\x1f\x7f]+\.[^@\s,;<>\"\x00-\x1f\x7f]+")


def _email(value: object) -> str:
    """An address in its stored (lower-case) form, or ``invalid_email``."""
    email = value.strip().lower() if isinstance(value, str) else ""
    # the address becomes an email header (AUD-5): no line breaks, commas or other controls
    if len(email) > 320 or not _EMAIL.fullmatch(email) or not email.isprintable():
        shown = email.encode("unicode_escape").decode("ascii")[:80]
        raise DomainError("invalid_email", f"`{shown}` is not an email address", rule="GEN-5")
    return email


def create_user(svc: Services, email: str, name: str) -> UserView:
    """A new person (GEN-5). Bootstrap, exempt from ``(svc, actor, company_id)``: a person exists
    before any company has them as a member, so there is no company to act in yet; an Admin then
    makes them a member with :func:`add_member`."""
    email = _email(email)
    problem = text_problem(name, limit=200)
    if problem is not None:
        raise DomainError("invalid_name", f"a user's name is 1 to 200 printable characters: {problem}",
                          rule="GEN-5")
    with svc.tx() as s:
        if s.scalar(select(func.count(User.id)).where(User.email == email)):
            raise DomainError("duplicate_user", f"a user with email `{email}` exists", rule="GEN-5")
        user = User(email=email, name=name)
        s.add(user)
        s.flush()
        return _user_view(user)


SEGREGATION_MODES = ("invoice_approver", "strict")
SETTINGS = ("workflows_enabled", "time_zone", "holidays", "segregation", "sandbox")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@cache
def _time_zones() -> frozenset[str]:
    from zoneinfo import available_timezones

    return frozenset(available_timezones())


def _time_zone(value: object) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if isinstance(value, str) and value in _time_zones():
        try:
            ZoneInfo(value)
            return value
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    raise DomainError("invalid_time_zone", f"time_zone: `{value}` is not an IANA time zone", rule="GEN-6")


def _holiday(value: object) -> str:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise DomainError("invalid_setting", f"holidays: `{value}` is not a date (YYYY-MM-DD)", rule="GEN-6")


def _holidays(value: object) -> list[str]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise DomainError("invalid_setting", f"holidays: `{value}` is not a list of dates", rule="GEN-6")
    return sorted({_holiday(d) for d in value})


def _workflows_enabled(value: object) -> bool:
    if not isinstance(value, bool):
        raise DomainError("invalid_setting", f"workflows_enabled: `{value}` is not true or false", rule="GEN-6")
    return value


def _segregation(value: object) -> str:
    if value not in SEGREGATION_MODES:
        raise DomainError("invalid_setting",
                          f"segregation: `{value}` is not `invoice_approver` or `strict`", rule="AUTH-6")
    return str(value)


def _sandbox(value: object) -> bool:
    if not isinstance(value, bool):
        raise DomainError("invalid_setting", f"sandbox: `{value}` is not true or false", rule="ROLL-3")
    return value


_CHECKS = {"workflows_enabled": _workflows_enabled, "time_zone": _time_zone, "holidays": _holidays,
           "segregation": _segregation, "sandbox": _sandbox}


def validate_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """GEN-6, WF-10, AUTH-6: every company setting checked (and put in its stored form) before any change.

    One validator for create and update, so no value the calendar or the
    authorize check cannot read ever reaches a company.
    """
    unknown = set(settings) - set(SETTINGS)
    if unknown:
        raise DomainError("invalid_setting", "unknown setting: " + ", ".join(sorted(unknown)), rule="GEN-6")
    return {key: _CHECKS[key](value) for key, value in settings.items()}


def create_company(svc: Services, name: str, *, first_admin: str, time_zone: str = "America/New_York",
                   holidays: Iterable[date] = (), workflows_enabled: bool = True,
                   segregation: str = "invoice_approver", is_payee: bool = False) -> CompanyView:
    """Create a company with its first Payments Admin, its first member (the bootstrap; no actor yet).

    Exempt from ``(svc, actor, company_id)``: the company does not exist before this call, so
    nobody can be a member acting in it (an operator tool, like ``payroute db upgrade``).

    A payee company (``is_payee``: a subcontractor receiving payments) is a
    company like any other; its first Payments Admin is its Payee Admin (ROLE-6).
    """
    bounded_text(name, field="company name", limit=200, rule="GEN-5", strip=False)
    settings = validate_settings({"time_zone": time_zone, "holidays": holidays,
                                  "workflows_enabled": workflows_enabled, "segregation": segregation})
    with svc.tx() as s:
        if s.get(User, first_admin) is None:
            raise DomainError("not_found", "no such user", rule="GEN-5")
        company = Company(name=name, is_payee=is_payee, **settings)
        s.add(company)
        s.flush()
        s.add(Membership(company_id=company.id, user_id=first_admin, active=True))
        s.add(Grant(company_id=company.id, user_id=first_admin, permission=PAYMENTS_ADMIN))
        _audit(s, svc, company.id, None, "company_created", "company", company.id,
               after={"name": name, "first_admin": first_admin, "payee": is_payee}, rules=("ROLE-1", "GEN-5"))
        s.flush()
        return _company_view(company)


@idempotent("update_settings", standing=standing(
    PAYMENTS_ADMIN, rule="ROLE-1", action="changing payment settings"))
def update_settings(svc: Services, actor: str, company_id: str, **settings: Any) -> CompanyView:
    """Admin: ``workflows_enabled`` (WF-10), ``time_zone``/``holidays`` (GEN-6), ``segregation`` (AUTH-6),
    ``sandbox`` (ROLL-3: disbursements made afterwards are tests; those made before keep their mode)."""
    settings = validate_settings(settings)
    with svc.tx() as s:
        company = get_company(s, company_id, lock=True)
        require(s, company_id, actor, PAYMENTS_ADMIN, rule="ROLE-1", action="changing payment settings")
        before = {k: getattr(company, k) for k in settings}
        for key, value in settings.items():
            setattr(company, key, value)
        _audit(s, svc, company_id, actor, "settings_changed", "company", company_id,
               before=before, after=settings, rules=("WF-10", "GEN-6", *(("ROLL-3",) if "sandbox" in settings else ())))
        return _company_view(company)


@idempotent("add_member", standing=standing(PAYMENTS_ADMIN, rule="GEN-5", action="adding members"))
def add_member(svc: Services, actor: str, company_id: str, email: str) -> MemberView:
    """GEN-5: an Admin makes an existing person (``create_user`` first) a member of the company.

    Adding a member again changes nothing (a deactivated member stays
    deactivated: that is ``set_user_active``'s decision).
    """
    key = _email(email)
    with svc.tx() as s:
        get_company(s, company_id, lock=True)
        require(s, company_id, actor, PAYMENTS_ADMIN, rule="ROLE-1", action="adding members")
        user_id = s.scalar(select(User.id).where(User.email == key))
        if user_id is None:
            raise DomainError("not_found", f"no user with email `{key}`: create the user first", rule="GEN-5")
        if membership(s, company_id, user_id) is not None:
            return member_view(s, company_id, user_id)
        s.add(Membership(company_id=company_id, user_id=user_id, active=True))
        _audit(s, svc, company_id, actor, "member_added", "user", user_id, after={"email": key},
               rules=("GEN-5",))
        return member_view(s, company_id, user_id)


def _keeps_an_active_admin(s: Session, company_id: str, user_id: str, action: str) -> None:
    """ROLE-11: refuse a change that would leave no *active* Payments Admin besides ``user_id``."""
    if admins(s, company_id) == (user_id,):
        raise DomainError("last_admin", f"{action} would leave the company without an active Payments Admin",
                          rule="ROLE-11")


#: ROLE-11, MFA-8: the grants whose change needs the acting Admin's MFA challenge, see :func:`needs_mfa`
CHALLENGED_PERMISSIONS = frozenset(PAYMENT_ROLES)


def needs_mfa(permission: str) -> bool:
    """ROLE-11, MFA-8: granting or revoking ``permission`` needs a transactional MFA challenge.

    MFA-8 asks it for "grant or revoke a payments role": the roles of ROLE-1..ROLE-6, which are
    :data:`~engine.security.permissions.PAYMENT_ROLES` (Payments Admin, Payments Disburser,
    Disbursement Contributor, Payments Beneficiary Approver, Payee Admin). They decide who moves
    money, who builds the disbursements that move it and who approves the accounts it goes to, so a
    stolen session must not be enough to hand them out. ROLE-7 keeps the workflow permissions
    (View / Create and Edit Workflow Templates, Can Be Workflow Manager, the two history
    permissions) apart from the payment roles: they route and show workflows and move no money
    on their own (a workflow participant must still hold Admin or Disburser, ROLE-8), so changing
    them takes no code. The Disbursement Contributor is a payments role too (ROLE-4 says the
    Contributor *themself* needs no MFA; granting the role is still a payments-role grant)."""
    return permission in CHALLENGED_PERMISSIONS


def _challenge(s: Session, svc: Services, company: Company, actor: str, mfa_code: object, permission: str, *,
               action: str, user_id: str) -> tuple[str, ...]:
    """ROLE-11, MFA-8: the acting Admin's challenge for a payments role (after every other check, as
    AUTH-4 orders it: a request refused for another reason neither spends the code nor counts it);
    the rules the change's audit entry names."""
    if not needs_mfa(permission):
        return ("ROLE-11",)
    enrollment.challenge(s, svc, company, actor, mfa_code, action=action, object_type="user", object_id=user_id)
    return ("ROLE-11", "MFA-8")


@idempotent("grant", standing=standing(PAYMENTS_ADMIN, rule="ROLE-11", action="granting roles"))
def grant(svc: Services, actor: str, company_id: str, user_id: str, permission: str, *,
          mfa_code: str | None = None) -> MemberView:
    """ROLE-11: an Admin grants a role or workflow permission (idempotent).

    A payments role (:func:`needs_mfa`) needs ``mfa_code``, the acting Admin's current code,
    checked last (MFA-8): after the permission, the member and whether they hold it already.
    Granting what the member holds changes nothing, so it needs no code and spends none."""
    if permission not in ALL_PERMISSIONS:
        raise DomainError("invalid_permission", f"unknown permission `{permission}`", rule="ROLE-11")
    with svc.tx() as s:
        company = get_company(s, company_id, lock=True)
        require(s, company_id, actor, PAYMENTS_ADMIN, rule="ROLE-11", action="granting roles")
        require_member(s, company_id, user_id)
        exists = s.scalar(select(Grant.id).where(Grant.company_id == company_id,
                                                 Grant.user_id == user_id, Grant.permission == permission))
        if exists:
            return member_view(s, company_id, user_id)
        rules = _challenge(s, svc, company, actor, mfa_code, permission, action="grant_role", user_id=user_id)
        s.add(Grant(company_id=company_id, user_id=user_id, permission=permission))
        _audit(s, svc, company_id, actor, "role_granted", "user", user_id,
               after={"permission": LABELS[permission]}, rules=rules)
        return member_view(s, company_id, user_id)


@idempotent("revoke", standing=standing(PAYMENTS_ADMIN, rule="ROLE-11", action="revoking roles"))
def revoke(svc: Services, actor: str, company_id: str, user_id: str, permission: str, *,
           mfa_code: str | None = None) -> MemberView:
    """ROLE-11: revoking never leaves the company without an active Admin (deactivated ones do not count).

    An unknown permission is ``invalid_permission``, as for :func:`grant` (a typo would
    otherwise answer "revoked" and leave the grant in place). A payments role (:func:`needs_mfa`)
    needs ``mfa_code``, checked last (MFA-8): after the permission, the member, the last-Admin
    check. Revoking what the member does not hold changes nothing and needs no code."""
    if permission not in ALL_PERMISSIONS:
        raise DomainError("invalid_permission", f"unknown permission `{permission}`", rule="ROLE-11")
    with svc.tx() as s:
        company = get_company(s, company_id, lock=True)
        require(s, company_id, actor, PAYMENTS_ADMIN, rule="ROLE-11", action="revoking roles")
        require_member(s, company_id, user_id)
        row = s.scalars(select(Grant).where(Grant.company_id == company_id, Grant.user_id == user_id,
                                            Grant.permission == permission)).first()
        if row is None:
            return member_view(s, company_id, user_id)
        if permission == PAYMENTS_ADMIN:
            _keeps_an_active_admin(s, company_id, user_id, "revoking this Payments Admin")
        rules = _challenge(s, svc, company, actor, mfa_code, permission, action="revoke_role", user_id=user_id)
        s.delete(row)
        _audit(s, svc, company_id, actor, "role_revoked", "user", user_id,
               before={"permission": LABELS[permission]}, rules=rules)
        _recheck_workflows(s, svc, company_id, user_id, actor)
        return member_view(s, company_id, user_id)


@idempotent("set_user_active", standing=standing(PAYMENTS_ADMIN, rule="ROLE-1", action="deactivating users"))
def set_user_active(svc: Services, actor: str, company_id: str, user_id: str, active: bool) -> MemberView:
    """ROLE-8, GEN-5: (de)activate a member in this company only; their other companies are untouched.

    ROLE-11: never the company's last active Admin.
    """
    with svc.tx() as s:
        get_company(s, company_id, lock=True)
        require(s, company_id, actor, PAYMENTS_ADMIN, rule="ROLE-1", action="deactivating users")
        member = require_member(s, company_id, user_id, lock=True)
        if not active:
            _keeps_an_active_admin(s, company_id, user_id, "deactivating this Payments Admin")
        before = member.active
        member.active = active
        _audit(s, svc, company_id, actor, "user_activated" if active else "user_deactivated",
               "user", user_id, before={"active": before}, after={"active": active}, rules=("ROLE-8", "GEN-5"))
        _recheck_workflows(s, svc, company_id, user_id, actor)
        return member_view(s, company_id, user_id)


@idempotent("create_group", standing=standing(PAYMENTS_ADMIN, rule="ROLE-1", action="managing groups"))
def create_group(svc: Services, actor: str, company_id: str, name: str,
                 members: Iterable[str] = ()) -> GroupView:
    bounded_text(name, field="group name", limit=200, rule="GEN-5", strip=False)
    with svc.tx() as s:
        get_company(s, company_id, lock=True)
        require(s, company_id, actor, PAYMENTS_ADMIN, rule="ROLE-1", action="managing groups")
        if isinstance(members, (str, bytes, Mapping)) or not isinstance(members, Iterable):
            raise DomainError("invalid_value", "members: not a list of user ids", rule="GEN-5")
        members = list(dict.fromkeys(members))
        for uid in members:
            require_member(s, company_id, uid, what="group member")
        group = Group(company_id=company_id, name=name)
        s.add(group)
        s.flush()
        for uid in members:
            s.add(GroupMember(group_id=group.id, user_id=uid))
        _audit(s, svc, company_id, actor, "group_created", "group", group.id,
               after={"name": name, "members": list(members)})
        return GroupView(group.id, group.name, tuple(members))


@dataclass(frozen=True)
class ProjectInfo:
    name: str
    office: str | None = None
    sector: str | None = None
    start_date: date | None = None
    attributes: dict[str, str] | None = None
    payment_workflows_enabled: bool = True
    #: ROLL-1: Payments itself, apart from payment workflows (a phased rollout enables both)
    payments_enabled: bool = True


@idempotent("create_project", standing=standing(PAYMENTS_ADMIN, rule="ROLL-1", action="creating projects"))
def create_project(svc: Services, actor: str, company_id: str, info: ProjectInfo) -> ProjectView:
    _check_project(info)
    with svc.tx() as s:
        get_company(s, company_id, lock=True)
        require(s, company_id, actor, PAYMENTS_ADMIN, rule="ROLL-1", action="creating projects")
        project = Project(company_id=company_id, name=info.name, office=info.office, sector=info.sector,
                          start_date=info.start_date, attributes=dict(info.attributes or {}),
                          payment_workflows_enabled=info.payment_workflows_enabled,
                          payments_enabled=info.payments_enabled)
        s.add(project)
        s.flush()
        _audit(s, svc, company_id, actor, "project_created", "project", project.id,
               after={"name": info.name, "payments_enabled": info.payments_enabled,
                      "payment_workflows_enabled": info.payment_workflows_enabled})
        return _project_view(project)


def _check_project(info: ProjectInfo) -> None:
    bounded_text(info.name, field="project name", limit=200, rule="ROLL-1", strip=False)
    optional_text(info.office, field="office", limit=200, rule="ROLL-1", multiline=False)
    optional_text(info.sector, field="sector", limit=200, rule="ROLL-1", multiline=False)
    if info.start_date is not None and (not isinstance(info.start_date, date) or isinstance(info.start_date, datetime)):
        raise DomainError("invalid_value", "start_date: not a date", rule="ROLL-1")
    if info.attributes is not None and not isinstance(info.attributes, Mapping):
        raise DomainError("invalid_value", "attributes: not a mapping of names to text", rule="ROLL-1")
    for name, value in (info.attributes or {}).items():
        bounded_text(name, field="attribute name", limit=200, rule="ROLL-1")
        optional_text(value, field=f"attribute {name}", rule="ROLL-1")
    for flag in ("payment_workflows_enabled", "payments_enabled"):
        if not isinstance(getattr(info, flag), bool):
            raise DomainError("invalid_setting", f"{flag} is true or false", rule="ROLL-1")


@idempotent("set_project_workflows", standing=standing(
    PAYMENTS_ADMIN, rule="ROLL-1", action="enabling payment workflows"))
def set_project_workflows(svc: Services, actor: str, company_id: str, project_id: str,
                          enabled: bool) -> ProjectView:
    """ROLL-1/ROLL-2: payment workflows on a project; affects disbursements created afterwards only."""
    return _set_project_flag(svc, actor, company_id, project_id, "payment_workflows_enabled", enabled,
                             action="enabling payment workflows", event="project_workflows_changed")


@idempotent("set_project_payments", standing=standing(
    PAYMENTS_ADMIN, rule="ROLL-1", action="enabling payments"))
def set_project_payments(svc: Services, actor: str, company_id: str, project_id: str,
                         enabled: bool) -> ProjectView:
    """ROLL-1: Payments on a project; only disbursements created afterwards are affected (ROLL-2)."""
    return _set_project_flag(svc, actor, company_id, project_id, "payments_enabled", enabled,
                             action="enabling payments", event="project_payments_changed")


def _set_project_flag(svc: Services, actor: str, company_id: str, project_id: str, flag: str, enabled: bool,
                      *, action: str, event: str, rule: str = "ROLL-1") -> ProjectView:
    """An Admin turns a switch of a project on or off (ROLL-1, ROLL-3), audited; the same value is a no-op."""
    if not isinstance(enabled, bool):
        raise DomainError("invalid_setting", f"{flag} is true or false", rule=rule)
    with svc.tx() as s:
        get_company(s, company_id, lock=True)
        require(s, company_id, actor, PAYMENTS_ADMIN, rule="ROLL-1", action=action)
        project = s.get(Project, project_id)
        if project is None or project.company_id != company_id:
            raise DomainError("not_found", "no such project", rule="GEN-5")
        before = getattr(project, flag)
        if before == enabled:
            return _project_view(project)
        setattr(project, flag, enabled)
        _audit(s, svc, company_id, actor, event, "project", project_id,
               before={"enabled": before}, after={"enabled": enabled}, rules=(rule, "ROLL-2"))
        return _project_view(project)


@idempotent("create_invoice", standing=standing(PAYMENTS_ADMIN, rule="ROLE-1", action="registering invoices"))
def create_invoice(svc: Services, actor: str, company_id: str, project_id: str, *, payee: str,
                   number: str, amount_due: str, approved_by: str | None = None) -> InvoiceView:
    """Register an Unpaid invoice (the Invoicing tool's side, reduced to what payments need).

    ``payee`` is the id of the payee company being paid (a company with ``is_payee``), so
    the money milestone can find its beneficiary account (BANK-12); ``approved_by`` is who
    approved the invoice, which segregation of duties reads (AUTH-5).
    """
    bounded_text(number, field="invoice number", limit=100, rule="GEN-5", strip=False)
    try:
        due: Decimal = parse_money(amount_due)
    except MoneyError as exc:
        raise DomainError("invalid_amount", f"amount_due: {exc}", rule=exc.rule) from None
    if due <= 0:
        raise DomainError("invalid_amount", "amount_due must be greater than $0.00", rule="DSB-2")
    with svc.tx() as s:
        get_company(s, company_id, lock=True)
        require(s, company_id, actor, PAYMENTS_ADMIN, rule="ROLE-1", action="registering invoices")
        project = s.get(Project, project_id)
        if project is None or project.company_id != company_id:
            raise DomainError("not_found", "no such project", rule="GEN-5")
        payee_company = s.get(Company, payee) if is_id(payee) else None
        if payee_company is None or not payee_company.is_payee:
            raise DomainError("not_found", "payee: no such payee company", rule="GEN-5")
        if approved_by is not None:
            require_member(s, company_id, approved_by, what="approving user")
        invoice = Invoice(company_id=company_id, project_id=project_id, payee_company_id=payee_company.id,
                          number=number, amount_due=due, approved_by=approved_by)
        s.add(invoice)
        s.flush()
        _audit(s, svc, company_id, actor, "invoice_registered", "invoice", invoice.id,
               after={"payee": payee_company.id, "payee_name": payee_company.name, "number": number,
                      "amount_due": due})
        return InvoiceView(invoice.id, project_id, number, payee_company.id, payee_company.name, due.quantize(CENT),
                           invoice.status or "Unpaid", approved_by)


# ---------------------------------------------------------------- reading (queries)
#
# Every query checks its actor itself (GEN-4): a stranger to the company, or a member
# deactivated in it, gets ``not_found`` exactly as for an object that does not exist (GEN-5);
# an active member without the permission the list needs gets ``permission_denied``.
# Lists are keyset pages: ``after`` is the id of the last item of the previous page (``None``
# for the first), ``limit`` how many to return; the order never changes as objects are added.

T = TypeVar("T")

#: the largest page a list query returns (the HTTP layer's ?limit= bound too)
MAX_PAGE = 200

#: ROLE-1 (grants), WF-6 (binding roles to users and groups), MGR-7 (adding assignees):
#: who needs to see the company's people and groups
PEOPLE_READERS = (PAYMENTS_ADMIN, EDIT_TEMPLATES, CAN_BE_MANAGER)
#: ROLE-2, ROLE-3, ROLE-4: who works with disbursements, so with projects and their invoices
PAYMENTS_READERS = (PAYMENTS_ADMIN, PAYMENTS_DISBURSER, DISBURSEMENT_CONTRIBUTOR)


@dataclass(frozen=True)
class ListPage(Generic[T]):
    """One page of a list query: the items in order, and the ``after`` of the next page
    (None on the last page)."""

    items: tuple[T, ...]
    next_after: str | None


@dataclass(frozen=True)
class CompanyMembership:
    """A company the user is an active member of, and what they hold there (ALL_PERMISSIONS order)."""

    id: str
    name: str
    is_payee: bool
    permissions: tuple[str, ...]


@dataclass(frozen=True)
class AccountView:
    """The acting user and every company they are an active member of (GEN-5), by company name."""

    id: str
    email: str
    name: str
    companies: tuple[CompanyMembership, ...]


def require_reader(s: Session, company_id: str, actor: str, permissions: tuple[str, ...] | None, *,
                   rule: str, action: str) -> set[str]:
    """The check every query makes (an internal helper inside the caller's transaction).

    A stranger or a deactivated member is ``not_found`` (GEN-5): they learn nothing about the
    company, not even that it exists. ``permissions`` None means any active member may read;
    otherwise an active member needs one of them (``permission_denied``). Returns what the
    actor holds."""
    get_company(s, company_id)
    member = membership(s, company_id, actor) if isinstance(actor, str) else None
    if member is None or not member.active:
        raise DomainError("not_found", "no such company", rule="GEN-5")
    if permissions is None:
        return held(s, company_id, actor)
    return require_any(s, company_id, actor, permissions, rule=rule, action=action)


def page_limit(limit: object) -> int:
    """A list's ``limit``: a whole number from 1 to :data:`MAX_PAGE`."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise DomainError("invalid_value", f"limit: a whole number from 1 to {MAX_PAGE}", rule="GEN-5")
    return limit


def after_key(s: Session, after: object, key: Callable[[str], Any]) -> Any:
    """The sort key of the row ``after`` names (``key(after)`` returns None when it is not an item
    of this list), or ``invalid_value``: a position this list never returned."""
    if after is None:
        return None
    found = key(after) if isinstance(after, str) and is_id(after) else None
    if found is None:
        raise DomainError("invalid_value", "cursor: not a position of this list", rule="GEN-5")
    return found


def keyset(columns: Sequence[Any], values: Sequence[Any]) -> Any:
    """SQL for "the row sorts after ``values``" on ``columns`` (lexicographic, every column ascending)."""
    condition = columns[-1] > values[-1]
    for column, value in zip(reversed(columns[:-1]), reversed(values[:-1])):
        condition = or_(column > value, and_(column == value, condition))
    return condition


def paged(rows: list[Any], limit: int, ident: Callable[[Any], str]) -> tuple[list[Any], str | None]:
    """``rows`` fetched with ``limit + 1``: this page's rows and the ``after`` of the next page."""
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, ident(rows[-1])
    return rows, None


def account(svc: Services, actor: str) -> AccountView:
    """The acting user and the companies they are an active member of, with their permissions in each.

    Exempt from ``company_id``: it spans the actor's companies (``GET /v1/me``), and it reads
    only the actor's own account, so it needs no permission; an actor who is no user is
    ``not_found``."""
    with svc.db.sessions() as s:
        user = s.get(User, actor) if isinstance(actor, str) and is_id(actor) else None
        if user is None:
            raise DomainError("not_found", "no such user", rule="GEN-5")
        rows = s.execute(select(Company).join(Membership, Membership.company_id == Company.id)
                         .where(Membership.user_id == actor, Membership.active.is_(True))
                         .order_by(Company.name, Company.id)).scalars().all()
        grants: dict[str, set[str]] = {}
        for company_id, permission in s.execute(select(Grant.company_id, Grant.permission)
                                                 .where(Grant.user_id == actor)):
            grants.setdefault(company_id, set()).add(permission)
        return AccountView(user.id, user.email, user.name, tuple(
            CompanyMembership(c.id, c.name, bool(c.is_payee),
                              tuple(p for p in ALL_PERMISSIONS if p in grants.get(c.id, set())))
            for c in rows))


def read_company(svc: Services, actor: str, company_id: str) -> CompanyView:
    """The company and its settings: any active member may read them (its time zone and holidays
    date everything they see, GEN-6)."""
    with svc.db.sessions() as s:
        require_reader(s, company_id, actor, None, rule="GEN-5", action="viewing the company")
        return _company_view(get_company(s, company_id))


def _members(s: Session, company_id: str, user_ids: Sequence[str]) -> list[MemberView]:
    """The members ``user_ids`` as :func:`member_view` shows them, in that order, in two queries."""
    rows = {u.id: (u, active) for u, active in s.execute(
        select(User, Membership.active).join(Membership, Membership.user_id == User.id)
        .where(Membership.company_id == company_id, User.id.in_(user_ids)))}
    granted: dict[str, set[str]] = {}
    for uid, permission in s.execute(select(Grant.user_id, Grant.permission).where(
            Grant.company_id == company_id, Grant.user_id.in_(user_ids))):
        granted.setdefault(uid, set()).add(permission)
    return [MemberView(uid, rows[uid][0].email, rows[uid][0].name, bool(rows[uid][1]),
                       tuple(p for p in ALL_PERMISSIONS if p in granted.get(uid, set())))
            for uid in user_ids]


def list_members(svc: Services, actor: str, company_id: str, *, after: str | None = None,
                 limit: int = 50) -> ListPage[MemberView]:
    """The company's members, active and deactivated, in the order they joined.

    Readable by who manages or picks people: Payments Admin (grants, ROLE-1), Create and Edit
    Workflow Templates (binding roles to users, WF-6), Can Be Workflow Manager (adding
    assignees, MGR-7)."""
    limit = page_limit(limit)
    with svc.db.sessions() as s:
        require_reader(s, company_id, actor, PEOPLE_READERS, rule="ROLE-1", action="viewing the company's members")
        start = after_key(s, after, lambda uid: s.scalar(select(Membership.id).where(
            Membership.company_id == company_id, Membership.user_id == uid)))
        q = select(Membership.id, Membership.user_id).where(Membership.company_id == company_id)
        if start is not None:
            q = q.where(Membership.id > start)
        rows, next_after = paged(list(s.execute(q.order_by(Membership.id).limit(limit + 1))), limit,
                                 lambda r: r.user_id)
        return ListPage(tuple(_members(s, company_id, [r.user_id for r in rows])), next_after)


def member_names(svc: Services, actor: str, company_id: str, user_ids: Sequence[str]) -> dict[str, str]:
    """The names of those of ``user_ids`` who are (or were) members of the company, for any active
    member: a page shows who is awaited, answered or manages a workflow by name, as the workflow
    itself does to its participants (emails and history name them). Only names: no email
    address, no role. Ids that are not members are left out."""
    wanted = [u for u in dict.fromkeys(user_ids) if isinstance(u, str) and is_id(u)][:MAX_PAGE]
    with svc.db.sessions() as s:
        require_reader(s, company_id, actor, None, rule="GEN-5", action="reading members' names")
        if not wanted:
            return {}
        rows = s.execute(select(User.id, User.name).join(Membership, Membership.user_id == User.id)
                         .where(Membership.company_id == company_id, User.id.in_(wanted)))
        return {uid: name for uid, name in rows}


def read_member(svc: Services, actor: str, company_id: str, user_id: str) -> MemberView:
    """One member: what :func:`list_members` needs, except that every active member may read themselves."""
    with svc.db.sessions() as s:
        needs = None if user_id == actor else PEOPLE_READERS
        require_reader(s, company_id, actor, needs, rule="ROLE-1", action="viewing the company's members")
        require_member(s, company_id, user_id)
        return member_view(s, company_id, user_id)


def _group_views(s: Session, groups: Sequence[Group]) -> list[GroupView]:
    members: dict[str, list[str]] = {g.id: [] for g in groups}
    for gid, uid in s.execute(select(GroupMember.group_id, GroupMember.user_id)
                              .where(GroupMember.group_id.in_(list(members))).order_by(GroupMember.id)):
        members[gid].append(uid)
    return [GroupView(g.id, g.name, tuple(members[g.id])) for g in groups]


def list_groups(svc: Services, actor: str, company_id: str, *, after: str | None = None,
                limit: int = 50) -> ListPage[GroupView]:
    """The company's groups by name (names are unique in a company), readable as members are."""
    limit = page_limit(limit)
    with svc.db.sessions() as s:
        require_reader(s, company_id, actor, PEOPLE_READERS, rule="ROLE-1", action="viewing the company's groups")
        start = after_key(s, after, lambda gid: s.execute(select(Group.name, Group.id).where(
            Group.company_id == company_id, Group.id == gid)).first())
        q = select(Group).where(Group.company_id == company_id)
        if start is not None:
            q = q.where(keyset((Group.name, Group.id), tuple(start)))
        rows, next_after = paged(list(s.scalars(q.order_by(Group.name, Group.id).limit(limit + 1))), limit,
                                 lambda g: g.id)
        return ListPage(tuple(_group_views(s, rows)), next_after)


def read_group(svc: Services, actor: str, company_id: str, group_id: str) -> GroupView:
    """One group with its members, readable as :func:`list_groups`; another company's is ``not_found``."""
    with svc.db.sessions() as s:
        require_reader(s, company_id, actor, PEOPLE_READERS, rule="ROLE-1", action="viewing the company's groups")
        group = s.get(Group, group_id) if is_id(group_id) else None
        if group is None or group.company_id != company_id:
            raise DomainError("not_found", "no such group", rule="GEN-5")
        return _group_views(s, [group])[0]


def list_projects(svc: Services, actor: str, company_id: str, *, after: str | None = None,
                  limit: int = 50) -> ListPage[ProjectView]:
    """The company's projects by name, then id: readable by who works with disbursements
    (Payments Admin, Disburser, Disbursement Contributor: ROLE-1..ROLE-4)."""
    limit = page_limit(limit)
    with svc.db.sessions() as s:
        require_reader(s, company_id, actor, PAYMENTS_READERS, rule="ROLE-2", action="viewing projects")
        start = after_key(s, after, lambda pid: s.execute(select(Project.name, Project.id).where(
            Project.company_id == company_id, Project.id == pid)).first())
        q = select(Project).where(Project.company_id == company_id)
        if start is not None:
            q = q.where(keyset((Project.name, Project.id), tuple(start)))
        rows, next_after = paged(list(s.scalars(q.order_by(Project.name, Project.id).limit(limit + 1))), limit,
                                 lambda p: p.id)
        return ListPage(tuple(_project_view(p) for p in rows), next_after)


def _project(s: Session, company_id: str, project_id: str, *, lock: bool = False) -> Project:
    q = select(Project).where(Project.id == project_id)
    if lock:
        q = q.with_for_update()
    project = s.scalars(q).first() if is_id(project_id) else None
    if project is None or project.company_id != company_id:
        raise DomainError("not_found", "no such project", rule="GEN-5")
    return project


def read_project(svc: Services, actor: str, company_id: str, project_id: str) -> ProjectView:
    """One project with its rollout switches (ROLL-1), readable as :func:`list_projects`."""
    with svc.db.sessions() as s:
        require_reader(s, company_id, actor, PAYMENTS_READERS, rule="ROLE-2", action="viewing projects")
        return _project_view(_project(s, company_id, project_id))


@idempotent("update_project", standing=standing(PAYMENTS_ADMIN, rule="ROLL-1", action="changing projects"))
def update_project(svc: Services, actor: str, company_id: str, project_id: str, *,
                   payments_enabled: bool | None = None,
                   payment_workflows_enabled: bool | None = None, sandbox: bool | None = None) -> ProjectView:
    """ROLL-1/ROLL-2/ROLL-3: the rollout switches and sandbox mode of a project in one transaction (None
    leaves one as it is),
    so that one request with one idempotency key is one change; each switch changed is audited as
    :func:`set_project_payments` and :func:`set_project_workflows` audit it."""
    with svc.tx() as s:
        view = None
        if payments_enabled is not None:
            view = _set_project_flag(svc, actor, company_id, project_id, "payments_enabled", payments_enabled,
                                     action="enabling payments", event="project_payments_changed")
        if payment_workflows_enabled is not None:
            view = _set_project_flag(svc, actor, company_id, project_id, "payment_workflows_enabled",
                                     payment_workflows_enabled, action="enabling payment workflows",
                                     event="project_workflows_changed")
        if sandbox is not None:
            view = _set_project_flag(svc, actor, company_id, project_id, "sandbox", sandbox,
                                     action="changing sandbox mode", event="project_sandbox_changed", rule="ROLL-3")
        if view is None:
            get_company(s, company_id)
            require(s, company_id, actor, PAYMENTS_ADMIN, rule="ROLL-1", action="changing projects")
            view = _project_view(_project(s, company_id, project_id))
        return view


def _invoice_views(s: Session, invoices: Sequence[Invoice]) -> list[InvoiceView]:
    names = {cid: name for cid, name in s.execute(select(Company.id, Company.name).where(
        Company.id.in_({i.payee_company_id for i in invoices})))} if invoices else {}
    return [InvoiceView(i.id, i.project_id, i.number, i.payee_company_id, names.get(i.payee_company_id, ""),
                        Decimal(i.amount_due).quantize(CENT), i.status or "Unpaid", i.approved_by,
                        i.reserved_by is not None)
            for i in invoices]


def list_invoices(svc: Services, actor: str, company_id: str, project_id: str, *, after: str | None = None,
                  limit: int = 50) -> ListPage[InvoiceView]:
    """A project's invoices by number, then id, readable as :func:`list_projects` (whoever builds
    a disbursement picks its invoices, ROLE-2, ROLE-4)."""
    limit = page_limit(limit)
    with svc.db.sessions() as s:
        require_reader(s, company_id, actor, PAYMENTS_READERS, rule="ROLE-2", action="viewing invoices")
        _project(s, company_id, project_id)
        start = after_key(s, after, lambda iid: s.execute(select(Invoice.number, Invoice.id).where(
            Invoice.project_id == project_id, Invoice.id == iid)).first())
        q = select(Invoice).where(Invoice.company_id == company_id, Invoice.project_id == project_id)
        if start is not None:
            q = q.where(keyset((Invoice.number, Invoice.id), tuple(start)))
        rows, next_after = paged(list(s.scalars(q.order_by(Invoice.number, Invoice.id).limit(limit + 1))),
                                 limit, lambda i: i.id)
        return ListPage(tuple(_invoice_views(s, rows)), next_after)


def read_invoice(svc: Services, actor: str, company_id: str, invoice_id: str) -> InvoiceView:
    """One invoice, readable as :func:`list_invoices`; another company's is ``not_found`` (GEN-5)."""
    with svc.db.sessions() as s:
        require_reader(s, company_id, actor, PAYMENTS_READERS, rule="ROLE-2", action="viewing invoices")
        invoice = s.get(Invoice, invoice_id) if is_id(invoice_id) else None
        if invoice is None or invoice.company_id != company_id:
            raise DomainError("not_found", "no such invoice", rule="GEN-5")
        return _invoice_views(s, [invoice])[0]
