"""Granting and revoking through the engine's commands, with the acting Admin's MFA code when the
permission is a payments role (ROLE-11, MFA-8): the Admin enrolls on first use
(:func:`tests.payments.banking.authenticator`), each code one clock step on."""

from __future__ import annotations

from engine.service import directory
from engine.service.directory import MemberView, needs_mfa
from tests.payments.banking import authenticator


def _code(svc, actor: str, company: str, permission: str) -> dict[str, str]:
    if not needs_mfa(permission):
        return {}
    return {"mfa_code": authenticator(svc, company, actor).code()}


def grant_role(svc, actor: str, company: str, user: str, permission: str, **kwargs) -> MemberView:
    """:func:`directory.grant` as the Admin ``actor`` would send it from the app."""
    return directory.grant(svc, actor, company, user, permission, **_code(svc, actor, company, permission), **kwargs)


def revoke_role(svc, actor: str, company: str, user: str, permission: str, **kwargs) -> MemberView:
    """:func:`directory.revoke` as the Admin ``actor`` would send it from the app."""
    return directory.revoke(svc, actor, company, user, permission, **_code(svc, actor, company, permission),
                            **kwargs)
