"""Typed domain errors: the run-time counterpart of a diagnostic.

A refusal carries a stable snake_case ``code`` (``permission_denied``,
``state_conflict``, ...), a one-line message, the domain.md rule ID that
refused it, and for permission refusals the permission that is missing.

Every code is registered in :data:`ERRORS` with one sentence and a
:data:`Kind`; :class:`DomainError` refuses an unregistered code, so a typo or
a new code without an entry fails the first test that reaches it, and
docs/engine.md's error table (``python -m engine.errors --markdown``) cannot
drift. The kind is what a client can do about the refusal, and so what the
HTTP layer answers (the table itself lives in web/errors.py, later; nothing
else maps codes to statuses):

- ``unauthenticated`` -> 401: the request names no live API token, so it acts as
  nobody (ROLE-12); the only refusal that comes before any command runs;
- ``not_found`` -> 404: no such object in the actor's company (GEN-5);
- ``forbidden`` -> 403: the object exists, the actor may not do this;
- ``conflict`` -> 409: the request is well formed but the object's current
  state (or a concurrent request, GEN-7) refuses it; reloading may help;
- ``precondition`` -> 412: the request named the version of the object it was read at
  (``If-Match``) and the object has changed since; the engine compares it inside the
  command's transaction, on the row it locks, so the check cannot race;
- ``invalid`` -> 422: the request itself is wrong; sending it again never helps.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["unauthenticated", "not_found", "forbidden", "conflict", "precondition", "invalid"]

#: Every kind, in the order the error table lists them.
KINDS: tuple[Kind, ...] = ("unauthenticated", "not_found", "forbidden", "conflict", "precondition", "invalid")


@dataclass(frozen=True)
class ErrorSpec:
    """What a code means (one sentence, for the docs and the HTTP layer) and its kind."""

    kind: Kind
    meaning: str


#: code -> its kind and meaning: every code a :class:`DomainError` may carry.
#: tests/engine/test_error_registry.py checks that each one is raised somewhere
#: in engine/ or dsl/ and that nothing raised is missing.
ERRORS: dict[str, ErrorSpec] = {
    # unauthenticated
    "unauthenticated": ErrorSpec("unauthenticated", "the API token is missing, malformed, unknown or revoked, or "
                                                    "the sign-in session is unknown, expired, signed out or made "
                                                    "before the user was signed out everywhere (MFA-11, MFA-15), "
                                                    "so the request acts as nobody (ROLE-12)"),
    "sign_in_failed": ErrorSpec("unauthenticated", "the email address or the password is wrong: the same answer "
                                                   "for an unknown address, so it says nothing about who has an "
                                                   "account (ROLE-10)"),
    "mfa_required": ErrorSpec("unauthenticated", "the password is right and this sign-in also needs a one-time "
                                                 "code, or a recovery code while a new authenticator waits to be "
                                                 "confirmed; or a password-only session's user now holds a "
                                                 "payments role and must sign in again with a code (ROLE-10, "
                                                 "MFA-10)"),
    # not_found
    "not_found": ErrorSpec("not_found", "no such object in this company: another company's object and a "
                                        "user who is not a member are not found either (GEN-5)"),
    # forbidden
    "permission_denied": ErrorSpec("forbidden", "the actor lacks a permission (`missing` says which), is not an "
                                                "awaited assignee or the workflow manager, or is no longer eligible "
                                                "(ROLE-8); on money actions it is `audited` (AUD-4)"),
    "mfa_not_enrolled": ErrorSpec("forbidden", "the action needs MFA and the actor has no active enrollment, or "
                                               "must enroll again after a recovery code or a reset (AUTH-3, MFA-8, "
                                               "MFA-10, MFA-15)"),
    "mfa_failed": ErrorSpec("forbidden", "the one-time code is wrong, outside the ±1 step window or already used "
                                         "(MFA-2, MFA-3); nothing else changed, and it counts toward the lockout "
                                         "(MFA-11); audited (AUD-4)"),
    "sod_violation": ErrorSpec("forbidden", "segregation of duties: the actor approved an invoice of the "
                                            "disbursement (AUTH-5), or in `strict` mode answered in its workflow or "
                                            "created it (AUTH-7); `rule`, `role` and `objects` say which; audited "
                                            "(AUTH-8, AUD-4)"),
    "mfa_enrollment_required": ErrorSpec("forbidden", "the session was opened to enroll in MFA only: a payments "
                                                      "role holder without MFA enrolls, then signs in again with a "
                                                      "code (ROLE-10)"),
    "mfa_locked": ErrorSpec("forbidden", "10 failed codes in a row locked the user out: sign in again with the "
                                         "password and a code (MFA-11)"),
    # conflict
    "state_conflict": ErrorSpec("conflict", "a concurrent request changed the object first (GEN-7); the only "
                                            "code a client may simply retry after reloading"),
    "stale": ErrorSpec("conflict", "the request answers a state that has moved on: the step it names is no "
                                   "longer waiting for an answer (RESP-2, RESP-5); retrying the same request "
                                   "never helps"),
    "invalid_state": ErrorSpec("conflict", "the object is not in the state the command needs: the draft was "
                                           "already created (DSB-6), the workflow is not Not Started (MGR-4), "
                                           "no response step is waiting (MGR-7), the email is not a dead "
                                           "letter (AUD-5)"),
    "already_responded": ErrorSpec("conflict", "the actor already gave a different answer on this step (RESP-4)"),
    "instance_not_active": ErrorSpec("conflict", "the disbursement has no workflow instance in the state the "
                                                 "action needs: none active (END-1), not started or terminated "
                                                 "(MGR-5), neither active nor ended (MGR-2)"),
    "instance_blocked": ErrorSpec("conflict", "the workflow waits for its manager to add assignees (STEP-2)"),
    "manager_still_eligible": ErrorSpec("conflict", "the workflow manager is replaced only once no longer "
                                                    "eligible (MGR-2)"),
    "disbursement_closed": ErrorSpec("conflict", "a canceled or authorized disbursement cannot change (AUTH-12)"),
    "disbursement_canceled": ErrorSpec("conflict", "the disbursement is canceled, so its workflow cannot "
                                                   "change (AUTH-12)"),
    "disbursement_authorized": ErrorSpec("conflict", "the disbursement is authorized, so it can be neither "
                                                     "canceled (AUTH-14) nor changed (AUTH-12)"),
    "workflow_not_approved": ErrorSpec("conflict", "a workflow applies and its current instance has not ended "
                                                   "Approved (AUTH-2), or it was Rejected (DSB-13)"),
    "payment_amounts_need_review": ErrorSpec("conflict", "a payment is above its invoice's current amount due, or "
                                                         "the invoice is no longer Unpaid and held by this "
                                                         "disbursement: edit the payments (AUTH-9, DSB-12)"),
    "beneficiary_account_not_ready": ErrorSpec("conflict", "a payee has no designated beneficiary account that is "
                                                           "Verified, active and approved (AUTH-9, BANK-2, BANK-14)"),
    "funding_account_not_ready": ErrorSpec("conflict", "the funding account is not Verified, active and mapped to "
                                                       "an active, Verified deposit account (AUTH-9, BANK-2, BANK-6)"),
    "invoice_reserved": ErrorSpec("conflict", "the invoice is already paid by another open disbursement (DSB-5)"),
    "payments_not_enabled": ErrorSpec("conflict", "payments are not enabled on the project (ROLL-1)"),
    "workflow_not_applicable": ErrorSpec("conflict", "no workflow applies to the disbursement, so none can "
                                                     "start (ROLL-1)"),
    "no_workflow_configured": ErrorSpec("conflict", "workflows apply but the company has no Configured default "
                                                    "template (MGR-4, WF-7, AUTH-2)"),
    "template_not_configured": ErrorSpec("conflict", "only a Configured template can be the default, and a "
                                                     "change may not leave the default Not Configured (WF-9)"),
    "template_archived": ErrorSpec("conflict", "an archived template is neither published nor started, a "
                                               "restart in mode `current` included (WF-14)"),
    "template_is_default": ErrorSpec("conflict", "the default template cannot be archived (WF-14)"),
    "last_admin": ErrorSpec("conflict", "a revoke or deactivation would leave the company without an active "
                                        "Payments Admin (ROLE-11)"),
    "duplicate_name": ErrorSpec("conflict", "the company has a template of that name, ignoring case (WF-2)"),
    "duplicate_nickname": ErrorSpec("conflict", "the company has a funding account of that nickname (BANK-7)"),
    "deposit_account_required": ErrorSpec("conflict", "the company has no active deposit account yet, and a funding "
                                                      "account needs one to map to (BANK-5, BANK-6)"),
    "bank_account_deactivated": ErrorSpec("conflict", "the bank account is deactivated, which is final (BANK-4)"),
    "bank_account_not_verified": ErrorSpec("conflict", "the action needs a Verified bank account (BANK-2, BANK-9)"),
    "verification_not_allowed": ErrorSpec("conflict", "the verification change is not one BANK-3 allows from the "
                                                      "account's status (Verified is final)"),
    "default_funding_account": ErrorSpec("conflict", "the default funding account cannot be deactivated until "
                                                     "another account is made default (BANK-10)"),
    "deposit_account_in_use": ErrorSpec("conflict", "an active funding account maps to this deposit account, "
                                                    "so it cannot be deactivated (BANK-6)"),
    "already_approved": ErrorSpec("conflict", "the beneficiary account is already approved (BANK-14)"),
    "duplicate_user": ErrorSpec("conflict", "a user with that email address exists (GEN-5)"),
    "mfa_throttled": ErrorSpec("conflict", "the user is locked out and this 30-second step's one login "
                                           "verification was already evaluated: the code was not read; try "
                                           "the next code (MFA-12)"),
    # precondition
    "precondition_failed": ErrorSpec("precondition", "the request names a version of the disbursement "
                                                     "(`If-Match`) that is no longer current: another change "
                                                     "came first (GEN-7); reload it and decide again"),
    # invalid
    "idempotency_conflict": ErrorSpec("invalid", "the idempotency key was used for a different request (GEN-8); "
                                                 "422 as the IETF Idempotency-Key draft asks"),
    "invalid_idempotency_key": ErrorSpec("invalid", "the idempotency key is empty, too long or not "
                                                    "printable (GEN-8)"),
    "partial_payment_unconfirmed": ErrorSpec("invalid", "a payment is partial and the request did not confirm "
                                                        "the changed amounts (`confirm_partial`, AUTH-10)"),
    "invalid_answer": ErrorSpec("invalid", "the answer is not one of the step's answers (RESP-3)"),
    "invalid_assignees": ErrorSpec("invalid", "an assignee change names nobody to add (MGR-7) or replaces "
                                              "someone the current step does not await (MGR-8)"),
    "ineligible_assignee": ErrorSpec("invalid", "an added assignee is not an active Payments Admin or "
                                                "Disburser (ROLE-8)"),
    "ineligible_manager": ErrorSpec("invalid", "the new workflow manager is not eligible or lacks Can Be "
                                               "Workflow Manager (ROLE-8)"),
    "invalid_reason": ErrorSpec("invalid", "the reason for adding assignees is not one of the listed reasons "
                                           "(MGR-7)"),
    "reason_required": ErrorSpec("invalid", "the action needs a non-empty reason, or a comment with reason "
                                            "`other` (MGR-*, DSB-12, AUTH-13)"),
    "invalid_return_target": ErrorSpec("invalid", "a return names a step that is not a response step this "
                                                  "instance completed (MGR-6)"),
    "invalid_mode": ErrorSpec("invalid", "a restart's mode is `defaults` or `current` (MGR-5)"),
    "invalid_amount": ErrorSpec("invalid", "an amount is not a decimal string with at most 2 decimals and 15 "
                                           "digits before the point (GEN-1, GEN-2), is not above $0.00 or is "
                                           "above the invoice's amount due (DSB-2)"),
    "note_required": ErrorSpec("invalid", "a partial payment needs a note (DSB-3)"),
    "invalid_invoice": ErrorSpec("invalid", "the invoice belongs to another project (DSB-4) or is not Unpaid "
                                            "(DSB-5)"),
    "invalid_disbursement": ErrorSpec("invalid", "the disbursement's shape is wrong: no invoice, too many or one "
                                                 "twice (DSB-1), no funding account (DSB-6, DSB-7), or an edit that "
                                                 "removes or changes an invoice the disbursement does not hold "
                                                 "(`invoices` names them), removes the last invoice or both removes "
                                                 "and changes one (DSB-12)"),
    "invalid_funding_account": ErrorSpec("invalid", "the account is not a funding account or is deactivated "
                                                    "(DSB-7)"),
    "invalid_bank_account": ErrorSpec("invalid", "a bank account needs a nickname, bank and holder names that "
                                                 "are not too long and are printable, a routing number of 9 digits "
                                                 "with a valid ABA checksum and an account number of 4 to 17 "
                                                 "digits, each entered twice the same (BANK-7, BANK-8); "
                                                 "`field` says which, never the number"),
    "invalid_deposit_account": ErrorSpec("invalid", "the account a funding account maps to is not an active deposit "
                                                    "account of the same company and mode, sandbox or not (BANK-6, "
                                                    "ROLL-4)"),
    "invalid_evidence": ErrorSpec("invalid", "the verification evidence is not a bank statement at most 3 months "
                                             "old showing the account's last four digits (BANK-3)"),
    "invalid_setting": ErrorSpec("invalid", "a company or project setting the engine could not use (GEN-6, "
                                            "AUTH-6, ROLL-1)"),
    "invalid_time_zone": ErrorSpec("invalid", "the company's time zone is not an IANA time zone (GEN-6)"),
    "invalid_email": ErrorSpec("invalid", "the text is not an email address (GEN-5)"),
    "invalid_name": ErrorSpec("invalid", "a user's (GEN-5) or template's (WF-2) name is empty, too long or "
                                         "not printable"),
    "invalid_value": ErrorSpec("invalid", "an argument has the wrong type, is out of range, is empty where "
                                          "required, is longer than the store keeps, or holds NUL, a lone "
                                          "surrogate or (in a one-line name) a control or format character "
                                          "(engine/text.py)"),
    "weak_password": ErrorSpec("invalid", "the new password is shorter than 12 or longer than 256 characters, "
                                          "holds a control character, is one character repeated or contains the "
                                          "email address (engine/security/sign_in.py)"),
    "invalid_permission": ErrorSpec("invalid", "no such payment role or workflow permission (ROLE-11, ROLE-7)"),
    "ambiguous_occurrence": ErrorSpec("invalid", "the occurrence number is in several workflow instances of "
                                                 "the disbursement (rows from before RESP-2), so the answer must "
                                                 "name the instance"),
    "workflow_invalid": ErrorSpec("invalid", "the client's workflow source has errors and cannot be published "
                                             "(`PublishRefused` lists them in `diagnostics`, WF-5)"),
}


@dataclass(frozen=True)
class Refusal:
    """Who tried what on which object: what an audited refusal writes to the company's chain (AUD-4).

    Carried by the :class:`DomainError` itself because the command's own
    transaction rolls back; :meth:`engine.services.Services.tx` writes the
    entry afterwards, in a transaction of its own.

    ``follow_up(session, at)`` is what else a refusal must leave behind though the
    command changed nothing: a failed MFA code counts toward the lockout (MFA-11), so
    the count is written with the refusal's entry, in that same transaction.
    """

    company_id: str
    actor_id: str | None
    attempted: str
    object_type: str
    object_id: str
    follow_up: Callable[[Any, Any], None] | None = field(default=None, compare=False, repr=False)


class InvariantBroken(RuntimeError):
    """A stored, already-checked workflow or instance the engine cannot run: an internal
    invariant is broken (a step routes to a missing step, condition steps loop).

    Deliberately not a :class:`DomainError`: the client did nothing wrong and
    no code describes it, so the HTTP layer answers 500 with a request id and
    the message goes to the log, not to the client.
    """


class DomainError(Exception):
    """A refused command; raising it means nothing was changed.

    With ``audit`` it is a security refusal (AUD-4): nothing changes, yet the
    refusal itself is recorded on the company's audit chain.
    """

    def __init__(self, code: str, message: str, *, rule: str | None = None,
                 missing: str | None = None, audit: Refusal | None = None, **details: Any) -> None:
        if code not in ERRORS:
            # A programming error, not a refusal: it must fail loudly rather
            # than reach a client as a code nobody can map or look up.
            raise ValueError(f"DomainError code {code!r} is not registered in engine.errors.ERRORS")
        super().__init__(message)
        self.code = code
        self.message = message
        self.rule = rule
        self.missing = missing
        self.audit = audit
        self.details = details

    @property
    def kind(self) -> Kind:
        """What the client can do about it, which the HTTP layer turns into a status."""
        return ERRORS[self.code].kind

    @property
    def audited(self) -> bool:
        return self.audit is not None

    def to_data(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message, "rule": self.rule}
        if self.missing is not None:
            out["missing_permission"] = self.missing
        if self.details:
            out["details"] = self.details
        return out

    def __repr__(self) -> str:
        return f"DomainError({self.code!r}, {self.message!r}, rule={self.rule!r})"


#: ``://user:`` then the password up to the *last* ``@`` before the URL's query,
#: fragment or end: a password may hold unencoded ``@``, ``:`` or ``/`` (parsers
#: such as urlsplit split the authority at its last ``@`` too), so stopping at
#: the first ``@`` would leave the password's tail in the text. A user name may
#: hold an unencoded ``@`` as well (``relay@gc.example``).
_URL_CREDENTIALS = re.compile(r"(://[^:/\s]*:)[^\s?#]*@")


def scrub_credentials(text: str) -> str:
    """``text`` without the password of any URL in it (``scheme://user:***@host``):
    database and SMTP errors quote their URL, and secrets never reach a user or a log.

    It errs towards hiding: in ``scheme://host:port/path@x`` the port and path
    are hidden too, never a password."""
    return _URL_CREDENTIALS.sub(r"\1***@", text)


def first_line(text: str) -> str:
    """The first non-empty line of an error, for one-line CLI messages."""
    return text.strip().splitlines()[0] if text.strip() else text


def markdown_table() -> str:
    """docs/engine.md's error table, generated so the docs list exactly the registered codes."""
    rows = ["| code | kind | meaning |", "| --- | --- | --- |"]
    for kind in KINDS:
        rows += [f"| `{code}` | {kind} | {spec.meaning} |"
                 for code, spec in sorted(ERRORS.items()) if spec.kind == kind]
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    if sys.argv[1:] != ["--markdown"]:
        sys.exit("usage: python -m engine.errors --markdown")
    sys.stdout.write(markdown_table())
