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


#: The workflow the document's request examples carry (the reference workflow, without its notices):
#: Swagger UI's "Try it out" starts from a request that answers 200, and so does schemathesis' examples
#: phase, which then checks a real 200 against its response schema.
EXAMPLE_FLOW = """\
workflow "Example" {
    tool: payments
    manager: role "Workflow Manager"
    start: "Controller Review"

    response "Controller Review" {
        assignees: role "Controller"
        status: "Under Review"
        on "Approve" -> "> $100,000.00"
        on "Reject" -> "Rejected"
    }

    condition "> $100,000.00" {
        when disbursement_amount > $100,000.00 -> "CFO Review"
        otherwise -> "Approved"
    }

    response "CFO Review" {
        assignees: role "CFO"
        status: "Under Review"
        on "Approve" -> "Approved"
        on "Reject" -> "Rejected"
    }

    end "Approved" success {
        status: "Approved"
    }

    end "Rejected" failure {
        status: "Rejected"
    }
}
"""
#: A disbursement document for the examples (two invoices, under $100,000.00: the Controller alone).
EXAMPLE_DISBURSEMENT: dict[str, Any] = {
    "id": "D-1001", "project": {"id": "P-100", "name": "Riverside Tower", "office": "Denver"},
    "created_by": "pm@riverside.example", "funding_account": "FA-1",
    "invoices": [{"id": "INV-1", "vendor": "Acme Concrete", "amount": "48250.00"},
                 {"id": "INV-2", "vendor": "Steelworks LLC", "amount": "12000.00"}]}


def example_body(value: dict[str, Any]) -> dict[str, Any]:
    """flask-openapi3's ``openapi_extra`` for a request model: ``value`` as the body's example (the
    media type's ``examples``; flask-openapi3 keeps no ``examples`` in a component schema)."""
    return {"examples": {"reference": {"summary": "the reference workflow", "value": value}}}


def exactly_one(*fields: tuple[str, str]) -> dict[str, Any]:
    """The JSON Schema of "exactly one of these fields is given, and not null", which a
    ``model_validator`` checks: ``oneOf`` one branch per field, each requiring its field with its type
    (``null`` fails the type, so an explicit null counts as absent, as the validator has it).

    Why in the contract: a client (or a generated one, or schemathesis) reading the schema alone
    must learn that ``{}`` and both fields together are refused, not find out from a 422."""
    return {"oneOf": [{"required": [name], "properties": {name: {"type": kind}}} for name, kind in fields]}


class WorkflowSource(BaseModel):
    """A workflow given inline: its `.flow` text, or its compiled JSON config."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=exactly_one(("flow", "string"), ("config", "object")),
                              openapi_extra=example_body({"flow": EXAMPLE_FLOW}))  # type: ignore[typeddict-unknown-key]

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


__all__ = ["BEARER", "COMMON_ERRORS", "EXAMPLE_DISBURSEMENT", "EXAMPLE_FLOW", "CheckReport", "Diagnostic", "Problem", "WorkflowSource", "example_body", "exactly_one",
           "problem_responses"]
