"""Request and response models shared by the /v1 resources (the OpenAPI contract is generated from them)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr, model_validator

from web.errors import PROBLEM_JSON, Problem

#: The error statuses every /v1 operation may answer, each documented as problem+json.
COMMON_ERRORS = (400, 401, 413, 415, 422, 500)

#: Every /v1 operation needs `Authorization: Bearer TOKEN` (web.auth).
BEARER: list[dict[str, list[str]]] = [{"bearer": []}]

_DESCRIPTIONS = {
    400: "the body is not valid JSON (or nested deeper than the parser goes)",
    401: "no valid `Authorization: Bearer TOKEN`",
    403: "the token's user may not do this",
    404: "no such resource",
    409: "the object's state refuses the request",
    412: "If-Match names a version that is no longer current: reload and retry",
    413: "the body is larger than PAYROUTE_MAX_BODY",
    415: "the body is not JSON (Content-Type must be application/json)",
    422: "the body is well-formed JSON but invalid: each problem located by a JSON Pointer",
    428: "this request needs If-Match with the ETag last read",
    500: "an internal error; the problem carries the request id",
    503: "the database does not answer",
}


def problem_responses(*statuses: int) -> dict[int, Any]:
    """OpenAPI responses for ``statuses``, each ``application/problem+json`` with :class:`Problem`."""
    return {status: {"description": _DESCRIPTIONS[status],
                     "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
            for status in statuses}


class WorkflowSource(BaseModel):
    """A workflow given inline: its `.flow` text, or its compiled JSON config."""

    model_config = ConfigDict(extra="forbid")

    flow: StrictStr | None = Field(default=None, description="the workflow's `.flow` text")
    config: dict[str, Any] | None = Field(default=None, description="the compiled JSON config "
                                                                    "(schemas/workflow.schema.json)")

    @model_validator(mode="after")
    def _exactly_one(self) -> WorkflowSource:
        if (self.flow is None) == (self.config is None):
            raise ValueError("give exactly one of `flow` (the .flow text) and `config` (the JSON config)")
        return self


class Diagnostic(BaseModel):
    """One located problem of a workflow, as `payroute check --format json` prints it."""

    code: str
    severity: Literal["error", "warning"]
    message: str
    file: str | None
    line: int | None
    column: int | None
    end_line: int | None
    end_column: int | None
    hint: str | None
    pointer: str | None = Field(default=None, description="for a JSON config, where in it (JSON Pointer)")


class CheckReport(BaseModel):
    """Exactly the JSON of `payroute check --format json`."""

    result: Literal["ok", "error"]
    diagnostics: list[Diagnostic]


__all__ = ["BEARER", "COMMON_ERRORS", "CheckReport", "Diagnostic", "Problem", "WorkflowSource", "problem_responses"]
