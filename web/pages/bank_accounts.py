"""The Bank accounts page (issue 13): the company's funding, deposit and beneficiary accounts with
their verification and active status, and the actions on them — make a funding account the
default, deactivate, mark verified, request a test drawdown, approve and designate a payee's
beneficiary account — each with the MFA challenge the engine asks for (MFA-8).

Every read and action is the engine call the /v1 route makes (web/api/bank_accounts.py,
web/api/funds.py) with the signed-in person as the actor: the page decides no rule. What the
page shows of an account is the engine's view, so never more than the last four digits of its
number (BANK-8). A refusal re-renders the page with the engine's words at the form it concerns
(at the code field when the code was the problem), never a traceback; an action done redirects
back to the account (post/redirect/get) with a message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from flask import Blueprint, flash, redirect, render_template, request, url_for

from engine.errors import DomainError
from web.pages.context import current, engine_error, services, signed_in

bp = Blueprint("bank_pages", __name__, url_prefix="/bank-accounts")

#: the sections of the page, in order: (kind, title, what the kind is for)
SECTIONS = (
    ("funding", "Funding accounts", "Money is drawn from these into their deposit account when a disbursement is "
                                    "authorized."),
    ("deposit", "Deposit accounts", "Drawdowns land here, and payments to payees leave from here."),
    ("beneficiary", "Beneficiary accounts", "Where each payee is paid: one designated account per payee, approved "
                                            "by a Beneficiary Approver."),
)
#: refusals about the code itself: shown at the code field rather than above the form
CODE_ERRORS = frozenset({"mfa_failed", "mfa_locked", "mfa_not_enrolled"})
#: an account list is read in pages of this many (the engine's largest)
_PAGE = 100


@dataclass
class Refusal:
    """A refused action, for the template: which account and form, and the engine's words."""

    account_id: str
    form: str
    message: str
    at_code: bool
    #: what the person chose in the form (never the code: it is used once and not shown again)
    values: dict[str, str] = field(default_factory=dict)


def _accounts(me: Any) -> list[Any]:
    from engine.payments import bank_accounts

    svc, out, after = services(), [], None
    while True:
        page = bank_accounts.list_bank_accounts(svc, me.user_id, me.company_id, after=after, limit=_PAGE)
        out.extend(page.items)
        after = page.next_after
        if after is None:
            return out


def _test_drawdowns(me: Any, accounts: list[Any]) -> dict[str, Any]:
    """The latest test drawdown of each production funding account not tested yet (ROLL-5), for
    a Payments Admin (who alone may read them)."""
    from engine.payments import test_drawdowns
    from engine.security.permissions import PAYMENTS_ADMIN

    if PAYMENTS_ADMIN not in me.permissions:
        return {}
    latest = {}
    for a in accounts:
        if a.kind == "funding" and not a.sandbox and a.active and a.tested_at is None:
            try:
                found = test_drawdowns.list_test_drawdowns(services(), me.user_id, me.company_id, a.id)
            except DomainError:
                continue
            if found:
                latest[a.id] = found[0]
    return latest


def _context(refusal: Refusal | None = None) -> dict[str, Any]:
    from engine.payments.test_drawdowns import TEST_AMOUNT
    from engine.security.permissions import BENEFICIARY_APPROVER, PAYMENTS_ADMIN
    from engine.service import directory

    me = current()
    svc = services()
    accounts = _accounts(me)
    by_kind = {kind: [a for a in accounts if a.kind == kind] for kind, _, _ in SECTIONS}
    # beneficiary accounts by payee, active first within each
    by_kind["beneficiary"].sort(key=lambda a: ((a.payee_name or "").casefold(), not a.active, a.nickname.casefold()))
    names = directory.member_names(svc, me.user_id, me.company_id,
                                   sorted({a.approved_by for a in accounts if a.approved_by}))
    company = directory.read_company(svc, me.user_id, me.company_id)
    return {"sections": SECTIONS, "by_kind": by_kind, "by_id": {a.id: a for a in accounts},
            "names": names, "company": company, "refusal": refusal, "tests": _test_drawdowns(me, accounts),
            "test_amount": TEST_AMOUNT, "is_admin": PAYMENTS_ADMIN in me.permissions,
            "is_approver": BENEFICIARY_APPROVER in me.permissions,
            "any_sandbox": any(a.sandbox for a in accounts)}


@bp.get("")
@signed_in
def accounts() -> tuple[str, int] | str:
    try:
        return render_template("bank_accounts/list.html", **_context())
    except DomainError as exc:  # e.g. a member without a role that reads bank accounts (ROLE-2)
        return render_template("bank_accounts/refused.html", message=engine_error(exc)), _status(exc)


def _status(exc: DomainError) -> int:
    from web.errors import status_for

    return status_for(exc)


def _code() -> str:
    """The code as typed, spaces dropped (an app shows ``123 456``); the engine judges it."""
    return "".join(request.form.get("mfa_code", "").split())


def _act(account_id: str, form: str, run: Callable[[], Any], done: str) -> Any:
    """Run one engine command; done → back to the account with ``done``; refused → the page
    again with the engine's words at the form (at its code field for a code refusal)."""
    try:
        run()
    except DomainError as exc:
        kept = {k: v for k, v in request.form.items() if k not in ("csrf_token", "mfa_code")}
        refusal = Refusal(account_id, form, engine_error(exc), exc.code in CODE_ERRORS, kept)
        try:
            page = render_template("bank_accounts/list.html", **_context(refusal))
        except DomainError as again:  # the person may read no accounts at all
            return render_template("bank_accounts/refused.html", message=engine_error(again)), _status(again)
        return page, _status(exc)
    flash(done, "ok")
    return redirect(url_for("bank_pages.accounts", _anchor=f"acct-{account_id}"))


def _args(account_id: str) -> tuple[Any, str, str, str]:
    me = current()
    return services(), me.user_id, me.company_id, account_id


def _nickname(account_id: str) -> str:
    """The account's nickname for a message (the engine's read: a stranger's id finds nothing)."""
    from engine.payments import bank_accounts

    try:
        return bank_accounts.read_bank_account(*_args(account_id)).nickname
    except DomainError:
        return "The account"


@bp.post("/<account_id>/default")
@signed_in
def make_default(account_id: str) -> Any:
    """BANK-9, MFA-8: engine.payments.account_lifecycle.set_default_funding."""
    from engine.payments import account_lifecycle

    return _act(account_id, "default",
                lambda: account_lifecycle.set_default_funding(*_args(account_id), mfa_code=_code()),
                f"{_nickname(account_id)} is now the default funding account.")


@bp.post("/<account_id>/deactivate")
@signed_in
def deactivate(account_id: str) -> Any:
    """BANK-4, BANK-10, MFA-8 (a funding account): engine.payments.account_lifecycle.deactivate."""
    from engine.payments import account_lifecycle

    code = _code() or None
    return _act(account_id, "deactivate",
                lambda: account_lifecycle.deactivate(*_args(account_id), mfa_code=code),
                f"{_nickname(account_id)} is deactivated. That is final: add a new account to use other numbers.")


@bp.post("/<account_id>/verify")
@signed_in
def verify(account_id: str) -> Any:
    """BANK-3: the Admin records the verifier's outcome (engine.payments.account_lifecycle.verify)."""
    from engine.payments import account_lifecycle

    return _act(account_id, "verify", lambda: account_lifecycle.verify(*_args(account_id)),
                f"{_nickname(account_id)} is Verified.")


@bp.post("/<account_id>/approve")
@signed_in
def approve(account_id: str) -> Any:
    """BANK-14, ROLE-5, MFA-8: engine.payments.beneficiaries.approve."""
    from engine.payments import beneficiaries

    return _act(account_id, "approve", lambda: beneficiaries.approve(*_args(account_id), mfa_code=_code()),
                f"{_nickname(account_id)} is approved to receive payments.")


@bp.post("/<account_id>/designate")
@signed_in
def designate(account_id: str) -> Any:
    """BANK-12, BANK-13, MFA-8: engine.payments.beneficiaries.designate."""
    from engine.payments import beneficiaries

    return _act(account_id, "designate", lambda: beneficiaries.designate(*_args(account_id), mfa_code=_code()),
                f"{_nickname(account_id)} now receives its payee's payments.")


@bp.post("/<account_id>/test-drawdown")
@signed_in
def test_drawdown(account_id: str) -> Any:
    """ROLL-5: engine.payments.test_drawdowns.request_test_drawdown (no code: it moves $1.00 between
    the company's own accounts)."""
    from engine.payments import test_drawdowns
    from web.pages.format import money

    return _act(account_id, "test", lambda: test_drawdowns.request_test_drawdown(*_args(account_id)),
                f"A {money(test_drawdowns.TEST_AMOUNT)} test drawdown of {_nickname(account_id)} is requested; "
                "the account is proven once the bank completes it.")
