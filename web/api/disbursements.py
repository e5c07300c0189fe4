"""Disbursements and drafts under ``/v1/companies/{company_id}/``: create, list, read, edit the
payments, cancel; save a draft and create the disbursement from it (DSB-1..DSB-13, AUTH-13/14).

Each view parses the request, makes one engine call (:mod:`engine.service.disbursements`,
:mod:`engine.service.disbursement_queries`) and renders its result
(:mod:`web.api.disbursement_models`); the engine checks who may (GEN-4). A disbursement's
``ETag`` is its version; ``PUT .../payments`` requires ``If-Match`` (428 without, 412 when stale:
a whole list overwrites every line), cancel and create-from-draft accept it.

Drafts are their own collection, ``/disbursement-drafts``: a Draft keeps its id when the
disbursement is created from it (DSB-6), and from then on it is found under ``/disbursements``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from flask import Response, current_app, jsonify
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, Field

from web.api import paging
from web.api.common import (
    PageQuery,
    actor,
    created,
    encode_cursor,
    idempotency_key,
    if_match,
    required_idempotency_key,
    with_etag,
)
from web.api.disbursement_models import (
    CreateDisbursementBody,
    CreateDraftBody,
    CreateFromDraftBody,
    DisbursementRecord,
    DisbursementDetail,
    PaymentIn,
    ReasonBody,
    ReplacePaymentsBody,
    SummaryPage,
    detail_data,
    disbursement_data,
    summary_data,
)
from web.api.authorization_models import Authorization, AuthorizeBody, authorization_data
from web.api.models import BEARER, problem_responses

if TYPE_CHECKING:
    from engine.service.disbursement_queries import DisbursementDetail as Detail
    from engine.service.disbursement_queries import DisbursementList
    from engine.service.disbursements import DisbursementView, PaymentLine
    from engine.services import Services

bp = APIBlueprint("disbursements", __name__, url_prefix="/v1/companies/<company_id>",
                  abp_tags=[Tag(name="disbursements", description="disbursements and drafts (DSB-*)")],
                  abp_security=BEARER)

#: what every operation here may answer besides its success
_READ = (401, 403, 404, 500)
_LIST = (400, 401, 403, 404, 422, 500)  # 400: a cursor this service did not make
_CREATE = (400, 401, 403, 404, 409, 413, 415, 422, 500)
_WRITE = (*_CREATE, 412)
#: what a command on a disbursement may answer (the funds blueprint's too)
WRITE_ERRORS = problem_responses(*_WRITE)


class CompanyPath(BaseModel):
    company_id: str = Field(description="the company's id")


class DisbursementPath(CompanyPath):
    disbursement_id: str


class DraftPath(CompanyPath):
    draft_id: str


class ListQuery(PageQuery):
    status: Literal["Not Started", "Under Review", "Approved", "Rejected", "Canceled"] | None = Field(
        default=None, description="the workflow status (ST-1)")
    drawdown_status: Literal["Draft", "Funding Requested", "Funding Completed", "Funding Failed"] | None = Field(
        default=None, description="the drawdown status (ST-3)")
    awaiting: Literal["me"] | None = Field(default=None, description="`me`: the caller is an awaited assignee of "
                                                                     "the current step who has not answered")
    overdue: bool = Field(default=False, description="true: only those whose current step is overdue (STEP-9)")
    project: str | None = Field(default=None, description="only this project's")


class DraftListQuery(PageQuery):
    project: str | None = Field(default=None, description="only this project's")


def _svc() -> Services:
    return current_app.extensions["payroute"]  # type: ignore[no-any-return]


def _lines(payments: list[PaymentIn]) -> list[PaymentLine]:
    from engine.service.disbursements import PaymentLine

    return [PaymentLine(p.invoice, p.amount, p.note, p.retainage_released) for p in payments]


def _page(result: DisbursementList) -> Response:
    cursor = encode_cursor({"after": result.next_after}) if result.next_after is not None else None
    return jsonify(SummaryPage.model_validate(
        {"items": [summary_data(i) for i in result.items], "next_cursor": cursor}).model_dump(mode="json"))


def _detail(detail: Detail) -> Response:
    return with_etag(jsonify(detail_data(detail)), detail.version)


def _changed(view: DisbursementView) -> Response:
    return with_etag(jsonify(disbursement_data(view)), view.version)


# ---------------------------------------------------------------- disbursements


@bp.post("/disbursements", responses={201: DisbursementRecord, **problem_responses(*_CREATE)})
def create_disbursement(path: CompanyPath, body: CreateDisbursementBody) -> Response:
    """Create a disbursement (ROLE-3, DSB-1..DSB-11); its workflow starts at once when one applies (DSB-8)."""
    from engine.service import disbursements

    view = disbursements.create_disbursement(_svc(), actor(), path.company_id, project_id=body.project,
                                             funding_account=body.funding_account, payments=_lines(body.payments),
                                             idempotency_key=idempotency_key())
    return created(disbursement_data(view), f"/v1/companies/{path.company_id}/disbursements/{view.id}",
                   version=view.version)


@bp.get("/disbursements", responses={200: SummaryPage, **problem_responses(*_LIST)})
def list_disbursements(path: CompanyPath, query: ListQuery) -> Response:
    """The disbursements the caller may see, newest first, filtered (the filters combine)."""
    from engine.service import disbursement_queries

    return _page(disbursement_queries.list_disbursements(
        _svc(), actor(), path.company_id, status=query.status, drawdown_status=query.drawdown_status,
        awaiting_me=query.awaiting == "me", overdue=query.overdue, project_id=query.project,
        after=paging.after(query), limit=query.limit))


@bp.get("/disbursements/<disbursement_id>", responses={200: DisbursementDetail, **problem_responses(*_READ)})
def get_disbursement(path: DisbursementPath) -> Response:
    """The disbursement with its workflow (current step, awaited users, answers, due dates); `ETag` is its version."""
    from engine.service import disbursement_queries

    return _detail(disbursement_queries.get_disbursement(_svc(), actor(), path.company_id, path.disbursement_id))


@bp.put("/disbursements/<disbursement_id>/payments",
        responses={200: DisbursementRecord, **problem_responses(*_WRITE, 428)})
def replace_payments(path: DisbursementPath, body: ReplacePaymentsBody) -> Response:
    """Set the whole list of payments (DSB-12); needs `If-Match`. After a start it needs a reason and restarts
    the workflow."""
    from engine.service import disbursements

    return _changed(disbursements.replace_payments(
        _svc(), actor(), path.company_id, path.disbursement_id, payments=_lines(body.payments), reason=body.reason,
        expected_version=if_match(required=True), idempotency_key=idempotency_key()))


@bp.post("/disbursements/<disbursement_id>/cancel", responses={200: DisbursementRecord, **problem_responses(*_WRITE)})
def cancel(path: DisbursementPath, body: ReasonBody) -> Response:
    """Cancel before authorization, with a reason (AUTH-13); canceling again changes nothing (AUTH-14)."""
    from engine.service import disbursements

    return _changed(disbursements.cancel(_svc(), actor(), path.company_id, path.disbursement_id, reason=body.reason,
                                         expected_version=if_match(required=False),
                                         idempotency_key=idempotency_key()))


@bp.post("/disbursements/<disbursement_id>/authorize",
         responses={200: Authorization, **problem_responses(*_WRITE)})
def authorize(path: DisbursementPath, body: AuthorizeBody) -> Response:
    """Authorize an Approved disbursement (AUTH-2..AUTH-11): an Admin or Disburser enrolled in MFA, not
    barred by segregation of duties, with a current TOTP code (checked last); requires `Idempotency-Key`
    (400 without), accepts `If-Match`. Creates the drawdown and one payment order per invoice payment."""
    from engine.payments import authorization

    key = required_idempotency_key()
    view = authorization.authorize(_svc(), actor(), path.company_id, path.disbursement_id, mfa_code=body.mfa_code,
                                   confirm_partial=body.confirm_partial, expected_version=if_match(required=False),
                                   idempotency_key=key)
    return with_etag(jsonify(authorization_data(view)), view.version)


# ---------------------------------------------------------------- drafts


@bp.post("/disbursement-drafts", responses={201: DisbursementRecord, **problem_responses(*_CREATE)})
def create_draft(path: CompanyPath, body: CreateDraftBody) -> Response:
    """Save a Draft (DSB-6): invoices but no funding account; Contributors may (ROLE-4)."""
    from engine.service import disbursements

    view = disbursements.create_draft(_svc(), actor(), path.company_id, project_id=body.project,
                                      payments=_lines(body.payments), idempotency_key=idempotency_key())
    return created(disbursement_data(view), f"/v1/companies/{path.company_id}/disbursement-drafts/{view.id}",
                   version=view.version)


@bp.get("/disbursement-drafts", responses={200: SummaryPage, **problem_responses(*_LIST)})
def list_drafts(path: CompanyPath, query: DraftListQuery) -> Response:
    """The company's Drafts the caller may see."""
    from engine.service import disbursement_queries

    return _page(disbursement_queries.list_disbursements(_svc(), actor(), path.company_id, drafts=True,
                                                         project_id=query.project, after=paging.after(query),
                                                         limit=query.limit))


@bp.get("/disbursement-drafts/<draft_id>", responses={200: DisbursementDetail, **problem_responses(*_READ)})
def get_draft(path: DraftPath) -> Response:
    """One Draft; `ETag` is its version."""
    from engine.service import disbursement_queries

    return _detail(disbursement_queries.get_disbursement(_svc(), actor(), path.company_id, path.draft_id, draft=True))


@bp.put("/disbursement-drafts/<draft_id>/payments", responses={200: DisbursementRecord, **problem_responses(*_WRITE, 428)})
def replace_draft_payments(path: DraftPath, body: ReplacePaymentsBody) -> Response:
    """Set a Draft's whole list of payments (DSB-6; a Contributor only adds and removes, ROLE-4); needs `If-Match`."""
    from engine.service import disbursements

    return _changed(disbursements.replace_payments(
        _svc(), actor(), path.company_id, path.draft_id, payments=_lines(body.payments), reason=body.reason,
        expected_version=if_match(required=True), idempotency_key=idempotency_key()))


@bp.post("/disbursement-drafts/<draft_id>/create", responses={201: DisbursementRecord, **problem_responses(*_WRITE)})
def create_from_draft(path: DraftPath, body: CreateFromDraftBody) -> Response:
    """Create the disbursement from the Draft by choosing its funding account (DSB-6); it keeps the draft's id,
    and from now on lives under /disbursements."""
    from engine.service import disbursements

    view = disbursements.create_from_draft(_svc(), actor(), path.company_id, path.draft_id,
                                           funding_account=body.funding_account,
                                           expected_version=if_match(required=False),
                                           idempotency_key=idempotency_key())
    return created(disbursement_data(view), f"/v1/companies/{path.company_id}/disbursements/{view.id}",
                   version=view.version)
