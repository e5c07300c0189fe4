"""Who may authorize a disbursement: segregation of duties (AUTH-3, AUTH-5..AUTH-7) in one place.

The "ready to authorize" email (END-4) invites exactly :func:`authorizers`. The
authorize command (with the money milestone) is to ask the same :func:`may_authorize`,
and :func:`bar` for its AUTH-8 refusal, so an invitation can never go to someone the
check then refuses. Pure: the caller reads the facts from the store
(``engine.service.instances._Unit.authorize_facts``); tests/security/test_segregation.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

#: AUTH-6: the company setting's values
SEGREGATION_MODES = ("invoice_approver", "strict")


@dataclass(frozen=True)
class AuthorizeFacts:
    """What segregation of duties reads about one disbursement."""

    #: AUTH-3: the company's active Admins and Disbursers
    eligible: frozenset[str]
    #: AUTH-5: user → the invoices of the disbursement they approved
    invoice_approvers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: AUTH-7: user → the steps they answered in the instance that reached Approved
    responders: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    creator: str | None = None
    #: AUTH-6: `invoice_approver` (the default) or `strict`
    segregation: str = "invoice_approver"


@dataclass(frozen=True)
class Bar:
    """Why a user may not authorize (AUTH-8 names the rule, the conflicting role, the invoice or step)."""

    rule: str
    role: str
    objects: tuple[str, ...] = ()


def bar(user: str, facts: AuthorizeFacts) -> Bar | None:
    """The first rule that bars ``user`` from authorizing, or None if none does."""
    if user not in facts.eligible:
        return Bar("AUTH-3", "not an active admin or disburser")
    if user in facts.invoice_approvers:
        return Bar("AUTH-5", "invoice approver", tuple(facts.invoice_approvers[user]))
    if facts.segregation == "strict":
        if user in facts.responders:
            return Bar("AUTH-7", "workflow responder", tuple(facts.responders[user]))
        if user == facts.creator:
            return Bar("AUTH-7", "disbursement creator")
    return None


def may_authorize(user: str, facts: AuthorizeFacts) -> bool:
    return bar(user, facts) is None


def authorizers(facts: AuthorizeFacts) -> tuple[str, ...]:
    """END-4: everyone who may authorize, in a stable order."""
    return tuple(sorted(u for u in facts.eligible if may_authorize(u, facts)))
