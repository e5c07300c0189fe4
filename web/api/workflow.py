"""A disbursement's workflow under ``/v1/companies/{company_id}/disbursements/{disbursement_id}/``:
where it stands, the answers (RESP-*), the manager's actions (MGR-*), and its history (AUD-7, ROLE-9).

Each action is one engine command of :mod:`engine.service.instances` with the request's
``Idempotency-Key`` (GEN-8) and ``If-Match`` (optional here): a stale version is 412, compared
by the engine on the disbursement row it locks, so it never races. An answer also names the
occurrence it answers (RESP-2), so of two concurrent answers to one step one is 200 and the
other 409 whether or not they send ``If-Match``. Every action answers 200 with where the
workflow stands now and the disbursement's new ``ETag``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Response, current_app, jsonify
from flask_openapi3 import APIBlueprint, Tag

from web.api.common import actor, idempotency_key, if_match, with_etag
from web.api.disbursement_models import (
    AssigneesBody,
    History,
    ManagerBody,
    Position,
    ReasonBody,
    RespondBody,
    Response as ResponseModel,
    RestartBody,
    ReturnBody,
    StartBody,
    WorkflowState,
    history_data,
    position_data,
    response_data,
    workflow_state_data,
)
from web.api.disbursements import DisbursementPath
from web.api.models import BEARER, problem_responses

if TYPE_CHECKING:
    from engine.service.instances import Position as PositionView
    from engine.services import Services

bp = APIBlueprint("workflow", __name__, url_prefix="/v1/companies/<company_id>/disbursements/<disbursement_id>",
                  abp_tags=[Tag(name="workflow", description="a disbursement's workflow: answers, manager actions, "
                                                             "history")],
                  abp_security=BEARER)

_READ = (401, 403, 404, 500)
_ACTION = (400, 401, 403, 404, 409, 412, 413, 415, 422, 500)


def _svc() -> Services:
    return current_app.extensions["payroute"]  # type: ignore[no-any-return]


def _moved(position: PositionView) -> Response:
    return with_etag(jsonify(position_data(position)), position.version)


@bp.get("/workflow", responses={200: WorkflowState, **problem_responses(*_READ)})
def get_workflow(path: DisbursementPath) -> Response:
    """Where the workflow stands: the latest instance, its current step, awaited users and answers."""
    from engine.service import disbursement_queries

    detail = disbursement_queries.get_disbursement(_svc(), actor(), path.company_id, path.disbursement_id)
    return with_etag(jsonify(workflow_state_data(detail)), detail.version)


@bp.post("/workflow/start", responses={200: Position, **problem_responses(*_ACTION)})
def start(path: DisbursementPath, body: StartBody) -> Response:
    """Start a Not Started workflow (MGR-4): only the default template's workflow manager."""
    from engine.service import instances

    return _moved(instances.start(_svc(), actor(), path.company_id, path.disbursement_id,
                                  expected_version=if_match(required=False), idempotency_key=idempotency_key()))


@bp.post("/workflow/responses", responses={200: ResponseModel, **problem_responses(*_ACTION)})
def respond(path: DisbursementPath, body: RespondBody) -> Response:
    """Answer the current step (RESP-1..RESP-8): the occurrence answered, the answer, an optional comment."""
    from engine.service import instances

    result = instances.respond(_svc(), actor(), path.company_id, path.disbursement_id, occurrence=body.occurrence,
                               answer=body.answer, comment=body.comment, instance_id=body.instance,
                               expected_version=if_match(required=False), idempotency_key=idempotency_key())
    return with_etag(jsonify(response_data(result)), result.version)


@bp.post("/workflow/restart", responses={200: Position, **problem_responses(*_ACTION)})
def restart(path: DisbursementPath, body: RestartBody) -> Response:
    """Restart (MGR-5): end the instance and start a new one, in mode `defaults` or `current`."""
    from engine.service import instances

    return _moved(instances.restart(_svc(), actor(), path.company_id, path.disbursement_id, reason=body.reason,
                                    mode=body.mode, expected_version=if_match(required=False),
                                    idempotency_key=idempotency_key()))


@bp.post("/workflow/return", responses={200: Position, **problem_responses(*_ACTION)})
def return_to(path: DisbursementPath, body: ReturnBody) -> Response:
    """Return to a response step this instance completed (MGR-6)."""
    from engine.service import instances

    return _moved(instances.return_to(_svc(), actor(), path.company_id, path.disbursement_id, step=body.step,
                                      reason=body.reason, expected_version=if_match(required=False),
                                      idempotency_key=idempotency_key()))


@bp.post("/workflow/assignees", responses={200: Position, **problem_responses(*_ACTION)})
def add_assignees(path: DisbursementPath, body: AssigneesBody) -> Response:
    """Add assignees to the current step, optionally replacing awaited ones (MGR-7, MGR-8)."""
    from engine.service import instances

    return _moved(instances.add_assignees(_svc(), actor(), path.company_id, path.disbursement_id, users=body.users,
                                          reason=body.reason, comment=body.comment, replacing=body.replacing,
                                          message=body.message, expected_version=if_match(required=False),
                                          idempotency_key=idempotency_key()))


@bp.post("/workflow/terminate", responses={200: Position, **problem_responses(*_ACTION)})
def terminate(path: DisbursementPath, body: ReasonBody) -> Response:
    """Terminate the active instance (MGR-9): the workflow status goes back to Not Started."""
    from engine.service import instances

    return _moved(instances.terminate(_svc(), actor(), path.company_id, path.disbursement_id, reason=body.reason,
                                      expected_version=if_match(required=False), idempotency_key=idempotency_key()))


@bp.post("/workflow/manager", responses={200: Position, **problem_responses(*_ACTION)})
def reassign_manager(path: DisbursementPath, body: ManagerBody) -> Response:
    """An Admin hands the instance of a manager no longer eligible to an eligible one (MGR-2)."""
    from engine.service import instances

    return _moved(instances.reassign_manager(_svc(), actor(), path.company_id, path.disbursement_id,
                                             manager=body.manager, reason=body.reason,
                                             expected_version=if_match(required=False),
                                             idempotency_key=idempotency_key()))


@bp.get("/history", responses={200: History, **problem_responses(*_READ)})
def history(path: DisbursementPath) -> Response:
    """The workflow history read from the audit chain (AUD-7), as much as the caller may see (ROLE-9)."""
    from engine.service.history import history as read

    return jsonify(history_data(read(_svc(), actor(), path.company_id, path.disbursement_id)))
