"""Segregation of duties as a pure function (AUTH-3, AUTH-5..AUTH-8): :func:`engine.security.segregation.bar`
names the rule, the conflicting role and the invoices or steps; the END-4 invitation list is
everyone it does not bar."""

from __future__ import annotations

import pytest

from engine.security.segregation import AuthorizeFacts, Bar, authorizers, bar, may_authorize

FACTS = AuthorizeFacts(eligible=frozenset({"ann", "bob", "cat", "dan"}),
                       invoice_approvers={"bob": ("inv-1", "inv-2")},
                       responders={"cat": ("Controller", "CFO Review")}, creator="dan")


@pytest.mark.rule("AUTH-3", "AUTH-5", "AUTH-6", "AUTH-8")
def test_default_mode_bars_ineligible_users_and_invoice_approvers_only() -> None:
    assert bar("eve", FACTS) == Bar("AUTH-3", "not an active admin or disburser")
    assert bar("bob", FACTS) == Bar("AUTH-5", "invoice approver", ("inv-1", "inv-2"))
    assert bar("cat", FACTS) is None and bar("dan", FACTS) is None
    assert authorizers(FACTS) == ("ann", "cat", "dan")


@pytest.mark.rule("AUTH-6", "AUTH-7", "AUTH-8")
def test_strict_mode_also_bars_responders_and_the_creator() -> None:
    strict = AuthorizeFacts(**{**FACTS.__dict__, "segregation": "strict"})
    assert bar("bob", strict) == Bar("AUTH-5", "invoice approver", ("inv-1", "inv-2"))  # AUTH-5 named first
    assert bar("cat", strict) == Bar("AUTH-7", "workflow responder", ("Controller", "CFO Review"))
    assert bar("dan", strict) == Bar("AUTH-7", "disbursement creator")
    assert may_authorize("ann", strict) and not may_authorize("dan", strict)
    assert authorizers(strict) == ("ann",)
