"""Adding a bank account on the Bank accounts page (issue 13): a deposit account (BANK-1, BANK-5), a
funding account mapped to a deposit account (BANK-6, BANK-7, BANK-11, MFA-8) and a payee's
beneficiary account (BANK-12, MFA-8).

Each form posts to exactly the engine call its /v1 route makes (web/api/bank_accounts.py):
``bank_accounts.add_deposit_account``, ``add_funding_account`` and
``beneficiaries.add_beneficiary_account``, with the signed-in person as the actor. The page checks
nothing itself: the numbers typed twice (BANK-7), the routing number's ABA checksum (BANK-8), the
unique nickname, the deposit account and the code are the engine's, and a refusal is shown in the
engine's words at the field it names (the form's alert when it names none), with a 4xx status.

The numbers travel in the request only: a refused form comes back with the four number fields
empty (and says so), and the account is shown afterwards by its last four digits (BANK-8). The
code is never echoed either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from engine.errors import DomainError
from web.pages.bank_accounts import CODE_ERRORS
from web.pages.context import current, engine_error, services, signed_in

bp = Blueprint("new_bank_account_pages", __name__, url_prefix="/bank-accounts")

#: the kinds of account a form adds, in the order of the page's tabs: (kind, tab label, what it is)
KINDS = (
    ("funding", "Funding account", "Money is drawn from it into its deposit account when a disbursement is "
                                   "authorized. Adding one asks for your authentication code."),
    ("deposit", "Deposit account", "The transaction account opened with the banking partner: drawdowns land "
                                   "here and payments leave from here."),
    ("beneficiary", "Beneficiary account", "Where a payee is paid. It is approved by a Beneficiary Approver "
                                           "before money arrives. Adding one asks for your authentication code."),
)
_KIND_NAMES = frozenset(k for k, _, _ in KINDS)
#: the fields of the number pair, never rendered back (BANK-8)
NUMBER_FIELDS = ("routing_number", "routing_number_confirmation", "account_number", "account_number_confirmation")
#: the fields each form has (besides the numbers), whose typed values a refused form keeps
TEXT_FIELDS = {
    "deposit": ("nickname", "bank_name", "holder_name", "sandbox"),
    "funding": ("nickname", "bank_name", "holder_name", "deposit_account", "bank_id_prefix", "sandbox"),
    "beneficiary": ("payee_company", "nickname", "bank_name", "holder_name", "sandbox"),
}
#: the engine's field names, as a message at a field reads them (the labels of the form)
LABELS = {"routing_number_confirmation": "the routing number typed again", "routing_number": "the routing number",
          "account_number_confirmation": "the account number typed again", "account_number": "the account number",
          "deposit_account": "the deposit account", "bank_id_prefix": "the check number prefix",
          "payee_company": "the payee", "bank_name": "the bank", "holder_name": "the account holder"}
#: refusals the engine gives without naming a field, and the field they are about
_AT_FIELD = {"duplicate_nickname": "nickname", "deposit_account_required": None}


@dataclass
class Refused:
    """A refused form for the template: the engine's words at a field (or the form's alert when it
    names none) and what was typed, never the numbers or the code."""

    field: str | None
    message: str
    values: dict[str, str] = field(default_factory=dict)


def _where(exc: DomainError, kind: str) -> tuple[str | None, str]:
    """The form field an engine refusal concerns and its message there: the engine's ``field``, the
    code field for a code refusal, else the ``field:`` its message starts with; ``None`` (the
    form's alert) when it names no field of this form."""
    message = engine_error(exc)
    fields = (*NUMBER_FIELDS, *TEXT_FIELDS[kind], "mfa_code")
    named = exc.details.get("field")
    if exc.code in CODE_ERRORS:
        named = "mfa_code"
    elif named is None and exc.code in _AT_FIELD:
        named = _AT_FIELD[exc.code]
    head, sep, rest = exc.message.partition(":")
    if named is None and sep and head.strip() in fields:
        named = head.strip()
    if named not in fields:
        return None, message
    if sep and head.strip() == named and rest.strip():  # "routing_number: …" reads as "…" at its field
        message = rest.strip()
    for name in sorted(LABELS, key=len, reverse=True):  # the engine's field names as the form's labels
        message = message.replace(name, LABELS[name])
    return named, message[:1].upper() + message[1:]


def _payees(me: Any, accounts: list[Any]) -> list[tuple[str, str]]:
    """The payees a beneficiary account may be added for, by name: those with an account on the
    company's list already and those its invoices pay (the engine's reads; a payee not listed here
    is still the engine's to accept or refuse)."""
    from engine.service import directory

    svc, found = services(), {a.payee_company_id: a.payee_name or "A payee"
                              for a in accounts if a.kind == "beneficiary" and a.payee_company_id}
    try:
        projects = directory.list_projects(svc, me.user_id, me.company_id, limit=100).items
        for p in projects:
            for inv in directory.list_invoices(svc, me.user_id, me.company_id, p.id, limit=100).items:
                found.setdefault(inv.payee_id, inv.payee_name)
    except DomainError:  # who may not read projects still sees the payees of the listed accounts
        pass
    return sorted(found.items(), key=lambda kv: (kv[1].casefold(), kv[0]))


def _render(kind: str, refused: Refused | None = None, status: int = 200) -> Any:
    from web.pages.bank_accounts import _accounts, _status
    from engine.security.permissions import LABELS, PAYMENTS_ADMIN

    me = current()
    try:
        accounts = _accounts(me)
    except DomainError as exc:  # a member who reads no bank accounts at all (ROLE-2)
        return render_template("bank_accounts/refused.html", message=engine_error(exc)), _status(exc)
    # who may add is the engine's: its Payments Admin permission, as the person's session holds it
    # (ROLE-1); a POST by anyone else is refused by the engine's command itself
    may_add = PAYMENTS_ADMIN in me.permissions
    deposits = [a for a in accounts if a.kind == "deposit" and a.active]
    page = render_template("bank_accounts/new.html", kinds=KINDS, kind=kind, refused=refused, may_add=may_add,
                           admin_label=LABELS.get(PAYMENTS_ADMIN, "Payments Admin"),
                           deposits=deposits, payees=_payees(me, accounts) if may_add and kind == "beneficiary" else [])
    return page, status if may_add or refused else 403


def _kind(value: str | None) -> str:
    return value if value in _KIND_NAMES else "funding"


@bp.get("/new")
@signed_in
def new() -> Any:
    """The form of one kind (``?kind=funding|deposit|beneficiary``)."""
    return _render(_kind(request.args.get("kind")))


def _numbers() -> Any:
    from engine.payments.bank_accounts import AccountNumbers

    return AccountNumbers(*(request.form.get(name, "").strip() for name in NUMBER_FIELDS))


def _text(name: str) -> str:
    return request.form.get(name, "").strip()


def _add(kind: str) -> Any:
    """The engine command of ``kind`` with what was typed, as the /v1 route calls it."""
    from engine.payments import bank_accounts, beneficiaries
    from web.pages.bank_accounts import _code

    me, svc = current(), services()
    common = {"bank_name": _text("bank_name"), "holder_name": _text("holder_name"), "numbers": _numbers(),
              "sandbox": request.form.get("sandbox") == "on"}
    if kind == "deposit":
        return bank_accounts.add_deposit_account(svc, me.user_id, me.company_id, _text("nickname"), **common)
    if kind == "funding":
        return bank_accounts.add_funding_account(svc, me.user_id, me.company_id, _text("nickname"),
                                                 deposit_account_id=_text("deposit_account"), mfa_code=_code(),
                                                 bank_id_prefix=_text("bank_id_prefix"), **common)
    return beneficiaries.add_beneficiary_account(svc, me.user_id, me.company_id, _text("payee_company"),
                                                 mfa_code=_code(), nickname=_text("nickname") or None, **common)


@bp.post("/new/<kind>")
@signed_in
def add(kind: str) -> Any:
    """Add the account; done → the list at the new account with its last four digits; refused →
    the form again with the engine's words at the field, the numbers and the code not echoed."""
    from web.pages.bank_accounts import _status

    if kind not in _KIND_NAMES:
        return render_template("error.html", status=404, title="Not found",
                               detail="No such kind of bank account: add a funding, deposit or beneficiary account."), 404
    try:
        view = _add(kind)
    except DomainError as exc:
        at, message = _where(exc, kind)
        kept = {name: request.form.get(name, "") for name in TEXT_FIELDS[kind]}
        return _render(kind, Refused(at, message, kept), _status(exc))
    label = next(lbl for k, lbl, _ in KINDS if k == kind)
    flash(f"{label} {view.nickname} (····{view.last4}) is added, Pending Verification.", "ok")
    return redirect(url_for("bank_pages.accounts", _anchor=f"acct-{view.id}"))
