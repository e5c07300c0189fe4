"""Payments roles, workflow permissions and the checks that guard every action.

Roles and permissions are rows in ``grants``; every engine operation calls
:func:`require` (or :func:`require_any`) before it changes anything, so a
page or an API client can never be the only check (GEN-4). A refusal is a
``permission_denied`` :class:`DomainError` naming the missing permission.

Everything here is an internal helper taking the caller's ``Session``: the commands and
queries (``(svc, actor, company_id, ...)``) call it inside their own transaction.
"""

from __future__ import annotations

from typing import Callable, Iterable

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import Session

from engine.errors import DomainError, Refusal
from engine.store.tables import Grant, Membership
from engine.text import is_id

# Payments roles (ROLE-1..ROLE-6)
PAYMENTS_ADMIN = "payments_admin"
PAYMENTS_DISBURSER = "payments_disburser"
DISBURSEMENT_CONTRIBUTOR = "disbursement_contributor"
BENEFICIARY_APPROVER = "beneficiary_approver"
PAYEE_ADMIN = "payee_admin"
PAYMENT_ROLES = (PAYMENTS_ADMIN, PAYMENTS_DISBURSER, DISBURSEMENT_CONTRIBUTOR,
                 BENEFICIARY_APPROVER, PAYEE_ADMIN)

# Workflow permissions (ROLE-7): granular, kept apart from payment roles
VIEW_TEMPLATES = "view_workflow_templates"
EDIT_TEMPLATES = "edit_workflow_templates"
CAN_BE_MANAGER = "can_be_workflow_manager"
VIEW_FULL_HISTORY = "view_complete_workflow_history"
VIEW_PREVIOUS_STEP = "view_previous_step_history_only"
WORKFLOW_PERMISSIONS = (VIEW_TEMPLATES, EDIT_TEMPLATES, CAN_BE_MANAGER, VIEW_FULL_HISTORY,
                        VIEW_PREVIOUS_STEP)

ALL_PERMISSIONS = PAYMENT_ROLES + WORKFLOW_PERMISSIONS

LABELS = {
    PAYMENTS_ADMIN: "Payments Admin",
    PAYMENTS_DISBURSER: "Payments Disburser",
    DISBURSEMENT_CONTRIBUTOR: "Disbursement Contributor",
    BENEFICIARY_APPROVER: "Payments Beneficiary Approver",
    PAYEE_ADMIN: "Payee Admin",
    VIEW_TEMPLATES: "View Workflow Templates",
    EDIT_TEMPLATES: "Create and Edit Workflow Templates",
    CAN_BE_MANAGER: "Can Be Workflow Manager",
    VIEW_FULL_HISTORY: "View Complete Workflow History",
    VIEW_PREVIOUS_STEP: "View Previous Step History Only",
}


def _active_member(company_id: str) -> ColumnElement[bool]:
    """Join condition: the grant's holder is an active member of ``company_id`` (GEN-5, ROLE-8)."""
    return and_(Membership.company_id == company_id, Membership.user_id == Grant.user_id,
                Membership.active.is_(True))


def held(session: Session, company_id: str, user_id: str) -> set[str]:
    """Permissions ``user_id`` holds in ``company_id``: none unless an active member of it (GEN-5)."""
    return set(session.scalars(select(Grant.permission).join(Membership, _active_member(company_id)).where(
        Grant.company_id == company_id, Grant.user_id == user_id)))


def membership(session: Session, company_id: str, user_id: str, *, lock: bool = False) -> Membership | None:
    if not (is_id(company_id) and is_id(user_id)):
        return None  # not even an id (GEN-5: not found, like a stranger)
    q = select(Membership).where(Membership.company_id == company_id, Membership.user_id == user_id)
    if lock:
        q = q.with_for_update()
    return session.scalars(q).first()


def require_member(session: Session, company_id: str, user_id: str | None, *, what: str = "user",
                   lock: bool = False) -> Membership:
    """GEN-5: a user named in a company's action must be a member of it (active or deactivated).

    Anyone else gets exactly the answer a nonexistent user gets, so a company
    learns nothing about the people of another.
    """
    row = membership(session, company_id, user_id, lock=lock) if user_id else None
    if row is None:
        raise DomainError("not_found", f"no such {what} in this company", rule="GEN-5")
    return row


def has(session: Session, company_id: str, user_id: str, permission: str) -> bool:
    return permission in held(session, company_id, user_id)


def require_any(session: Session, company_id: str, user_id: str, permissions: Iterable[str],
                *, rule: str, action: str, audited: bool = False,
                target: tuple[str, str] | None = None) -> set[str]:
    """Refuse unless the user holds one of ``permissions``; return what they hold.

    ``audited`` makes the refusal a security refusal (AUD-4, permission
    refusals on money actions): it is recorded against ``target``
    (object type, id; the company when omitted) although nothing changes.
    """
    wanted = tuple(permissions)
    mine = held(session, company_id, user_id)
    if not mine.intersection(wanted):
        names = " or ".join(LABELS.get(p, p) for p in wanted)
        object_type, object_id = target or ("company", company_id)
        refusal = Refusal(company_id, user_id, action, object_type, object_id) if audited else None
        raise DomainError("permission_denied", f"{action} needs {names}", rule=rule, missing=names,
                          audit=refusal)
    return mine


def require(session: Session, company_id: str, user_id: str, permission: str, *, rule: str,
            action: str, audited: bool = False, target: tuple[str, str] | None = None) -> set[str]:
    return require_any(session, company_id, user_id, (permission,), rule=rule, action=action,
                       audited=audited, target=target)


def require_payments_user(session: Session, company_id: str, user_id: str, *, rule: str,
                          action: str, audited: bool = False,
                          target: tuple[str, str] | None = None) -> set[str]:
    """Admin or Disburser (an Admin holds every Disburser power, ROLE-1)."""
    return require_any(session, company_id, user_id, (PAYMENTS_ADMIN, PAYMENTS_DISBURSER),
                       rule=rule, action=action, audited=audited, target=target)


def eligible_users(session: Session, company_id: str) -> frozenset[str]:
    """ROLE-8: active Admins and Disbursers of the company (active members of it, GEN-5)."""
    rows = session.scalars(
        select(Grant.user_id).join(Membership, _active_member(company_id)).where(
            Grant.company_id == company_id,
            Grant.permission.in_((PAYMENTS_ADMIN, PAYMENTS_DISBURSER))))
    return frozenset(rows)


def manages(perms: set[str]) -> bool:
    """ROLE-8, on what :func:`held` returned: eligible (Admin or Disburser, an active member)
    and holding Can Be Workflow Manager."""
    return CAN_BE_MANAGER in perms and not perms.isdisjoint((PAYMENTS_ADMIN, PAYMENTS_DISBURSER))


def can_manage(session: Session, company_id: str, user_id: str) -> bool:
    """ROLE-8: an eligible user who also holds Can Be Workflow Manager."""
    return manages(held(session, company_id, user_id))


def admins(session: Session, company_id: str) -> tuple[str, ...]:
    rows = session.scalars(
        select(Grant.user_id).join(Membership, _active_member(company_id)).where(
            Grant.company_id == company_id, Grant.permission == PAYMENTS_ADMIN).order_by(Grant.user_id))
    return tuple(rows)


def standing(*permissions: str, rule: str, action: str,
             audited: bool = False) -> Callable[[Session, str, str], set[str]]:
    """The check an idempotent command makes before it replays a stored result (GEN-8):
    the actor must still hold one of ``permissions`` in the company, so a retried key
    never hands a result to someone who could not run the command now."""

    def check(session: Session, company_id: str, user_id: str) -> set[str]:
        return require_any(session, company_id, user_id, permissions, rule=rule, action=action,
                           audited=audited)

    return check
