"""``GET /v1/audit/verify?company=ID``: a company's Payments Admin verifies the company's audit chains (AUD-3).

The same walk as ``payroute audit verify`` (:func:`engine.service.audit.verify`), narrowed to
the company's own chain and its disbursements' chains by
:func:`engine.service.audit_verification.verify_company`, which also decides who may (an
active Payments Admin of the company; a stranger gets 404, GEN-5). A broken chain is not an
error of the request: the answer is 200 with ``ok: false`` and the first break of each chain.
"""

from __future__ import annotations

from flask import Response, current_app, jsonify
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field

from web.api.common import actor
from web.api.models import BEARER, problem_responses

bp = APIBlueprint("audit", __name__, url_prefix="/v1/audit",
                  abp_tags=[Tag(name="audit", description="verify the audit log (AUD-3)")], abp_security=BEARER)


class VerifyQuery(BaseModel):
    company: str = Field(description="the company whose chains to verify (the caller must be its Payments Admin)")


class Break(BaseModel):
    chain: str = Field(description="company:<id> or disbursement:<id>")
    seq: int = Field(description="the first entry that does not verify")
    entry_id: int | None
    code: str = Field(description="for programs: altered, broken_link, missing_entry, bad_mac, missing_chain, ...")
    reason: str = Field(description="for people")


class AuditReport(BaseModel):
    company: str
    result: str = Field(description="`ok`, or `error` when a chain is broken")
    ok: bool
    entries: int = Field(description="entries in the company's chains")
    breaks: list[Break]
    development_key: bool = Field(description="written with the INSECURE development key: forgeable by anyone")


@bp.get("/verify", responses={200: AuditReport, **problem_responses(400, 401, 403, 404, 422, 500)})
def verify(query: VerifyQuery) -> Response:
    """Verify every entry's hash, link and MAC, and every head, of the company's chains."""
    from engine.service.audit_verification import verify_company

    report = verify_company(current_app.extensions["payroute"], actor(), query.company)
    return jsonify(AuditReport(
        company=report.company_id, result="ok" if report.ok else "error", ok=report.ok, entries=report.entries,
        breaks=[Break(chain=b.chain, seq=b.seq, entry_id=b.entry_id, code=b.code, reason=b.reason)
                for b in report.breaks], development_key=report.development_key).model_dump(mode="json"))
