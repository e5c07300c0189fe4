"""``/v1/companies/{company_id}/me/mfa`` and ``.../users/{user_id}/mfa/reset``: MFA over HTTP (MFA-1..MFA-15).

- ``GET .../me/mfa``: the token's user's MFA status (enrolled, pending, locked, recovery codes
  left); never the secret.
- ``POST .../me/mfa/enrollment`` ``{}``: a new pending secret (MFA-4). The answer carries the
  setup key (the base32 secret, which an authenticator app needs typed or scanned), the
  otpauth URI and the QR code of that URI as SVG text, all in the one JSON body: the secret is
  made by this POST and shown this once, so the QR code travels with it rather than from a
  separate ``GET .../qr.svg``, which would have to unseal and serve the secret again on a
  repeatable, cacheable read.
- ``POST .../me/mfa/enrollment/confirm`` ``{"code"}``: the first valid code activates the
  secret; the answer is the 10 recovery codes, shown once (MFA-7).
- ``POST .../me/mfa/recovery-codes`` ``{"code"}``: a new set after a challenge (MFA-7, MFA-8).
- ``POST .../me/mfa/recovery-codes/acknowledge`` ``{}``: the user says "I have saved these
  recovery codes" (MFA-4); the status then says ``recovery_codes_acknowledged`` until a new set
  is issued, which asks again.
- ``POST .../users/{user_id}/mfa/reset`` ``{"code", "reason"}``: a Payments Admin (a payee
  company's Payee Admin) resets another user's MFA, never their own, after a challenge
  (MFA-14, MFA-15); the engine signs the user out everywhere and emails them.

Every answer that carries a secret or recovery codes is ``Cache-Control: no-store``.

None of these commands is idempotent (:mod:`engine.security.enrollment`): GEN-8's replay stores
the first answer in the idempotency table, and these answers are a setup key or recovery codes
shown once, which must never be stored in clear. An ``Idempotency-Key`` is therefore accepted
and ignored (documented as such on each operation): a retried enrollment starts a new one,
a retried confirmation, regeneration or reset needs the next code (MFA-3, MFA-9).

Codes travel in the body and go to the engine only: they are never echoed, logged, or put in an
error or an audit entry (MFA-5).
"""

from __future__ import annotations

from typing import Annotated, Any

from flask import Response, current_app, jsonify
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field, StrictStr, WithJsonSchema

from web.api.common import actor
from web.api.directory import CHANGE_ERRORS, READ_ERRORS, CompanyPath, UserPath
from web.api.models import BEARER

bp = APIBlueprint("mfa", __name__, url_prefix="/v1",
                  abp_tags=[Tag(name="mfa", description="TOTP enrollment, recovery codes and resets (MFA-1..MFA-15)")],
                  abp_security=BEARER)

_NO_STORE_HEADER = {"Cache-Control": {"description": "`no-store`: the body carries a secret or recovery codes "
                                                      "shown once (MFA-4, MFA-7)",
                                      "schema": {"type": "string", "enum": ["no-store"]}}}


class MfaStatus(BaseModel):
    """A user's MFA as they (and their admin) may know it: never the secret (MFA-5)."""

    user_id: str
    enrolled: bool = Field(description="an active secret: the user can pass a challenge (MFA-8)")
    pending: bool = Field(description="an enrollment was started and awaits its first valid code (MFA-4)")
    locked: bool = Field(description="10 failed codes in a row locked the user out (MFA-11)")
    must_enroll: bool = Field(description="a new enrollment is needed before any sensitive action (MFA-10, MFA-15)")
    recovery_codes_left: int = Field(description="unused recovery codes (MFA-6, MFA-7)")
    recovery_codes_acknowledged: bool = Field(
        description="the user confirmed saving the current set of recovery codes (MFA-4); false again "
                    "after a new set is issued or the MFA is reset")


class EnrollmentSetup(BaseModel):
    """MFA-4: what the user types or scans into an authenticator app, shown once."""

    model_config = {"openapi_extra": {"headers": _NO_STORE_HEADER}}  # type: ignore[typeddict-unknown-key]

    setup_key: str = Field(description="the base32 secret, to type into the app; shown this once")
    otpauth_uri: str = Field(description="the otpauth:// URI the QR code encodes")
    qr_svg: str = Field(description="the otpauth URI as a QR code, an SVG document (image/svg+xml) to embed")


class MfaRecoveryCodes(BaseModel):
    """MFA-7: 10 recovery codes, 12 digits each (shown as `1234-5678-9012`), shown once."""

    model_config = {"openapi_extra": {"headers": _NO_STORE_HEADER}}  # type: ignore[typeddict-unknown-key]

    recovery_codes: list[str] = Field(description="each works once, at login, for a lost device (MFA-6, MFA-10)")


class TotpCode(BaseModel):
    """The current code of the user's authenticator app (MFA-1)."""

    model_config = ConfigDict(extra="forbid")

    code: StrictStr = Field(min_length=1, max_length=12, description="never echoed or logged (MFA-5)")


class MfaReset(TotpCode):
    """MFA-14, MFA-15: the admin's own current code, and why (audited and emailed to the user)."""

    reason: StrictStr = Field(min_length=1, max_length=500)


class StartEnrollment(BaseModel):
    """Starting an enrollment (or confirming the recovery codes were saved) takes no argument: the
    body is `{}`."""

    model_config = ConfigDict(extra="forbid")


class NotReplayed(BaseModel):
    """The Idempotency-Key these operations accept and ignore."""

    idempotency_key: Annotated[str | None, WithJsonSchema({"type": "string"})] = Field(
        default=None, alias="Idempotency-Key", json_schema_extra=lambda schema: schema.pop("default", None),
        description="accepted and ignored: this command is not idempotent, since replaying its answer "
                    "would mean storing a secret, recovery codes or a spent code's result (MFA-5); a retry "
                    "starts a new enrollment or needs the next code (MFA-3)")


def _svc() -> Any:
    return current_app.extensions["payroute"]


def _status_json(view: Any) -> dict[str, Any]:
    return {"user_id": view.user_id, "enrolled": view.enrolled, "pending": view.pending, "locked": view.locked,
            "must_enroll": view.must_enroll, "recovery_codes_left": view.recovery_codes_left,
            "recovery_codes_acknowledged": view.recovery_codes_acknowledged}


def _no_store(body: dict[str, Any]) -> Response:
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@bp.get("/companies/<company_id>/me/mfa", responses={200: MfaStatus, **READ_ERRORS})
def mfa_status(path: CompanyPath) -> Response:
    """The token's user's MFA status (any active member of the company)."""
    from engine.security import enrollment

    return jsonify(_status_json(enrollment.status(_svc(), actor(), path.company_id)))


@bp.post("/companies/<company_id>/me/mfa/enrollment", responses={200: EnrollmentSetup, **CHANGE_ERRORS})
def start_enrollment(path: CompanyPath, header: NotReplayed, body: StartEnrollment) -> Response:
    """MFA-4: a new random 160-bit secret, pending until confirmed: its setup key, otpauth URI and QR
    code (SVG), shown once (`Cache-Control: no-store`). An active enrollment is 409 `invalid_state`:
    an Admin resets it first (MFA-14)."""
    from engine.security import enrollment

    started = enrollment.start_enrollment(_svc(), actor(), path.company_id)
    return _no_store({"setup_key": started.setup_key, "otpauth_uri": started.otpauth_uri,
                      "qr_svg": started.qr_svg})


@bp.post("/companies/<company_id>/me/mfa/enrollment/confirm", responses={200: MfaRecoveryCodes, **CHANGE_ERRORS})
def confirm_enrollment(path: CompanyPath, header: NotReplayed, body: TotpCode) -> Response:
    """MFA-4, MFA-7: the first valid code activates the pending secret; the answer is the 10 recovery
    codes, shown once (`Cache-Control: no-store`). A wrong, expired or replayed code is 403
    `mfa_failed` and counts toward the lockout (MFA-11)."""
    from engine.security import enrollment

    codes = enrollment.confirm_enrollment(_svc(), actor(), path.company_id, code=body.code)
    return _no_store({"recovery_codes": list(codes.codes)})


@bp.post("/companies/<company_id>/me/mfa/recovery-codes", responses={200: MfaRecoveryCodes, **CHANGE_ERRORS})
def regenerate_recovery_codes(path: CompanyPath, header: NotReplayed, body: TotpCode) -> Response:
    """MFA-7, MFA-8: a new set of 10 recovery codes after a challenge; the previous set is void.
    403 `mfa_failed` (wrong or replayed code), `mfa_locked` (MFA-11), `mfa_not_enrolled`."""
    from engine.security import enrollment

    codes = enrollment.regenerate_recovery_codes(_svc(), actor(), path.company_id, code=body.code)
    return _no_store({"recovery_codes": list(codes.codes)})


@bp.post("/companies/<company_id>/me/mfa/recovery-codes/acknowledge", responses={200: MfaStatus, **CHANGE_ERRORS})
def acknowledge_recovery_codes(path: CompanyPath, header: NotReplayed, body: StartEnrollment) -> Response:
    """MFA-4: the user confirms "I have saved these recovery codes"; the answer is their status with
    `recovery_codes_acknowledged` true (audited once; again changes nothing). Asked again after every
    new set. With no active enrollment and codes to save: 409 `invalid_state`. Takes no code: it
    moves nothing and shows nothing secret."""
    from engine.security import enrollment

    return jsonify(_status_json(enrollment.acknowledge_recovery_codes(_svc(), actor(), path.company_id)))


@bp.post("/companies/<company_id>/users/<user_id>/mfa/reset", responses={200: MfaStatus, **CHANGE_ERRORS})
def reset_mfa(path: UserPath, header: NotReplayed, body: MfaReset) -> Response:
    """MFA-14, MFA-15: a Payments Admin of the company (a payee company's Payee Admin) resets another
    user's MFA after passing a challenge with their own code: never their own (403). The secret and
    recovery codes go, the user is signed out everywhere, emailed, and must enroll again; the
    answer is the user's new status."""
    from engine.security import enrollment

    done = enrollment.reset(_svc(), actor(), path.company_id, path.user_id, code=body.code, reason=body.reason)
    return jsonify(_status_json(done))
