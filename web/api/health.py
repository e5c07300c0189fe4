"""``GET /health``: 200 once the app can reach its database, else 503 (no token needed)."""

from __future__ import annotations

from typing import Literal

from flask import Response, current_app, jsonify
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel

from web.api.models import problem_responses
from web.errors import log, problem

bp = APIBlueprint("health", __name__, abp_tags=[Tag(name="health", description="is the service up")])


class Health(BaseModel):
    status: Literal["ok"]


@bp.get("/health", responses={200: Health, **problem_responses(500, 503)})
def health() -> Response:
    """Whether the service can answer: its database responds to a trivial query."""
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    svc = current_app.extensions["payroute"]
    try:
        with svc.db.read() as conn:  # no write lock: a health check must not queue behind writers
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        log.warning("health check: the database does not answer (%s)", type(exc).__name__)
        return problem(503, "the database does not answer", code="service_unavailable")
    return jsonify(status="ok")
