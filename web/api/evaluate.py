"""``POST /v1/evaluate``: route disbursements through a workflow, changing nothing (ROLL-6).

The same routes and reasons as ``payroute simulate --format json``: the same
:func:`engine.spec.evaluator.evaluate` over the same facts
(:func:`engine.spec.facts.compute_facts` of the :mod:`engine.spec.disbursement` model).
"""

from __future__ import annotations

import threading
from typing import Annotated, Any, Callable, Literal

import msgspec
from flask import Response, current_app
from flask_openapi3 import APIBlueprint, Tag
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictStr,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)

from engine.spec.disbursement import Disbursement
from engine.spec.evaluator import DEFAULT_ANSWER
from web.api.models import (
    BEARER,
    COMMON_ERRORS,
    EXAMPLE_DISBURSEMENT,
    EXAMPLE_FLOW,
    example_body,
    exactly_one,
    problem_responses,
)
from web.errors import pointer, problem

bp = APIBlueprint("evaluate", __name__, url_prefix="/v1",
                  abp_tags=[Tag(name="workflows", description="check and evaluate workflows, changing nothing")],
                  abp_security=BEARER)

#: At most this many disbursements per request.
MAX_DISBURSEMENTS = 1000

_READERS = threading.local()


def _fast_reader() -> Any:
    """This thread's :class:`dsl.simulate_input.FastReader` that only validates (it computes no fact):
    it remembers values already matched, so it is kept per thread rather than made per request."""
    reader = getattr(_READERS, "validating", None)
    if reader is None:
        from dsl.simulate_input import FastReader

        reader = _READERS.validating = FastReader(())
    return reader


class Checked:
    """A disbursement document the simulator's fast path accepted, kept as ``json.loads`` gave it.

    Why: the pydantic model costs ~0.15 ms for a 25-invoice document, most of a request's
    work; msgspec and a few regular expressions (``payroute simulate``'s fast path, held to the
    model's verdicts and facts by tests/dsl/simulate/test_fast_path.py) decide the same in a
    fraction of that. A document the fast path refuses goes to the model, which accepts it after
    all or locates every problem exactly as before."""

    __slots__ = ("document",)

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document


def _fast_or_model(value: Any, model: ValidatorFunctionWrapHandler) -> Any:
    if type(value) is dict and _fast_reader().read_object(value) is not None:
        return Checked(value)
    return model(value)


#: A disbursement document: its schema and its errors are the model's; a valid one is usually a
#: :class:`Checked` (see there), else a :class:`~engine.spec.disbursement.Disbursement`.
FastDisbursement = Annotated[Disbursement, WrapValidator(_fast_or_model)]


#: a template's id (32 hex digits) and a published version's label
TEMPLATE_ID = r"^[0-9a-f]{32}$"
VERSION_LABEL = r"^(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})$"


class EvaluateWorkflow(BaseModel):
    """The workflow to route through: inline (its `.flow` text or JSON config, as /v1/check takes it),
    or a template's published version (the one in force, or the `version` named)."""

    # exactly one of flow, config and template; `version` (when not null) only with a template.
    # Plain oneOf branches rather than dependentSchemas, which not every JSON Schema tool reads.
    model_config = ConfigDict(extra="forbid", json_schema_extra={"oneOf": [
        {"required": ["flow"], "properties": {"flow": {"type": "string"}, "version": {"type": "null"},
                                              "config": {"type": "null"}, "template": {"type": "null"}}},
        {"required": ["config"], "properties": {"config": {"type": "object"}, "version": {"type": "null"},
                                                "flow": {"type": "null"}, "template": {"type": "null"}}},
        {"required": ["template"], "properties": {"template": {"type": "string"}, "flow": {"type": "null"},
                                                  "config": {"type": "null"}}}]})

    flow: StrictStr | None = Field(default=None, description="the workflow's `.flow` text")
    config: dict[str, Any] | None = Field(default=None, description="the compiled JSON config "
                                                                    "(schemas/workflow.schema.json)")
    template: StrictStr | None = Field(default=None, pattern=TEMPLATE_ID,
                                       description="a workflow template's id: its published version in force "
                                                   "(you must be an active member of its company with a "
                                                   "template permission)")
    version: StrictStr | None = Field(default=None, pattern=VERSION_LABEL,
                                      description='with `template`: a published version, e.g. "2.0"')

    @model_validator(mode="after")
    def _exactly_one(self) -> EvaluateWorkflow:
        if sum(x is not None for x in (self.flow, self.config, self.template)) != 1:
            raise ValueError("give exactly one of `flow` (the .flow text), `config` (the JSON config) and "
                             "`template` (a template's id)")
        if self.version is not None and self.template is None:
            raise ValueError("`version` goes with `template`")
        return self


class EvaluateBody(BaseModel):
    """A workflow and the disbursements to route through it."""

    model_config = ConfigDict(extra="forbid",
                              json_schema_extra=exactly_one(("disbursement", "object"), ("disbursements", "array")),
                              openapi_extra=example_body({  # type: ignore[typeddict-unknown-key]
                                  "workflow": {"flow": EXAMPLE_FLOW}, "disbursement": EXAMPLE_DISBURSEMENT,
                                  "answers": {"Controller Review": "Approve"}}))

    workflow: EvaluateWorkflow
    disbursement: FastDisbursement | None = Field(default=None, description="one disbursement document")
    disbursements: list[FastDisbursement] | None = Field(default=None, max_length=MAX_DISBURSEMENTS,
                                                     description="up to 1,000 disbursement documents")
    answers: dict[StrictStr, StrictStr] = Field(default_factory=dict,
                                                description='the answer each named response step gets: '
                                                            '{"STEP": "ANSWER"}')
    default_answer: StrictStr = Field(default=DEFAULT_ANSWER,
                                      description="the answer of every other response step")

    @model_validator(mode="after")
    def _one_input(self) -> EvaluateBody:
        if (self.disbursement is None) == (self.disbursements is None):
            raise ValueError("give exactly one of `disbursement` (one document) and `disbursements` (an array)")
        return self


class Result(BaseModel):
    """One disbursement's route, as `payroute simulate --format json` reports it."""

    id: str
    path: list[str] = Field(description="every step visited, in order")
    end: str | None = Field(description="the end step reached; null when the route stopped")
    outcome: Literal["success", "failure"] | None
    stopped: str | None = Field(description="why the route stopped before an end; null when it ended")
    reasons: list[dict[str, Any]] = Field(description="each visit: a response's answer, a condition's facts "
                                                      "and `when` lines tried (COND-13), the end")


class Evaluation(BaseModel):
    workflow_hash: str = Field(description="sha256:<hex> of the workflow's canonical compiled JSON (WF-4)")
    results: list[Result] = Field(description="one per disbursement, in order")


def _answers_problems(answers: dict[str, str], compiled: Any) -> list[dict[str, str]]:
    """Each answer naming no response step, or an answer the step does not offer (as `simulate` checks)."""
    from engine.spec.evaluator import answer_problem

    return [{"pointer": pointer(("answers", step)), "detail": problem}
            for step, answer in answers.items()
            if (problem := answer_problem(compiled, step, answer)) is not None]


def diagnostic_errors(inline: Any) -> list[dict[str, Any]]:
    """A refused workflow's diagnostics as `payroute check` reports them, each with a `pointer` into the
    request body instead of into the config (and, for a `.flow` text, its line and column)."""
    return located_errors(inline.diagnostics, inline.label, inline.kind, "/workflow")


def located_errors(diagnostics: Any, label: str, kind: str, at: str) -> list[dict[str, Any]]:
    """Diagnostics of a workflow given at ``at`` in the request body (``{"flow"}`` or ``{"config"}``
    there): each as `payroute check` reports it (line and column for a `.flow` text), with a
    `pointer` to the text, or into the config, and the message as `detail`. Shared with the
    template resources, whose bodies hold the workflow at the top level (``at=""``)."""
    from dsl.render import diagnostic_json

    out = []
    for d in diagnostics:
        data = diagnostic_json(d, label)
        where = f"{at}/flow" if kind == "flow" else f"{at}/config" + (d.pointer or "")
        out.append({**data, "pointer": where, "detail": d.message})
    return out


def _facts_reader(names: frozenset[str]) -> Callable[[Any], tuple[str, dict[str, Any]]]:
    """``(id, facts)`` of a validated document (a :class:`Checked` or a model), only the facts in ``names``."""
    from dsl.simulate_input import FastReader
    from engine.spec.facts import compute_facts

    reader = FastReader(names)

    def facts_of(doc: Any) -> tuple[str, dict[str, Any]]:
        if isinstance(doc, Checked):
            got = reader.read_object(doc.document)
            if got is not None:  # always: the same checks accepted it a moment ago
                return got
            doc = Disbursement.model_validate(doc.document)
        return doc.id, compute_facts(doc, names)

    return facts_of


@bp.post("/evaluate", responses={200: Evaluation, **problem_responses(*COMMON_ERRORS, 403, 404)})
def evaluate_route(body: EvaluateBody) -> Response:
    """Route each disbursement through the workflow: path, end, outcome and reasons (ROLL-6: no side effects).

    With `{"template": ID}` the workflow is that template's published version in force (or the
    `version` named): 404 unless you are an active member of its company (GEN-5), 403 without a
    template permission there (ROLE-7)."""
    from engine.spec.evaluator import evaluate
    from web.workflows import config_text

    cache = current_app.extensions["payroute.inline"]
    source = body.workflow
    if source.template is not None:
        from engine.service import templates
        from web.api.common import actor

        compiled = templates.published_workflow(current_app.extensions["payroute"], actor(), source.template,
                                                source.version).compiled
    else:
        if source.flow is not None:
            inline = cache.load(source.flow, "flow")
        else:
            assert source.config is not None
            inline = cache.load(config_text(source.config), "json")
        if inline.compiled is None:
            errors = diagnostic_errors(inline)
            n = len(errors)
            return problem(422, f"the workflow has {n} error{'s' if n != 1 else ''}; nothing was evaluated",
                           code="workflow_invalid", errors=errors)
        compiled = inline.compiled
    answer_errors = _answers_problems(body.answers, compiled)
    if answer_errors:
        # a domain code, not validation_failed: the body fits its schema, and the workflow it names refuses it
        return problem(422, "an answer does not fit the workflow", code="invalid_answer", errors=answer_errors)
    documents = [body.disbursement] if body.disbursement is not None else list(body.disbursements or ())
    results = []
    facts_of = _facts_reader(compiled.facts_used)
    for doc in documents:
        doc_id, facts = facts_of(doc)
        route = evaluate(compiled, facts, body.answers, body.default_answer)
        data = route.to_data()
        results.append({"id": doc_id, "path": data["path"], "end": data["end"], "outcome": data["outcome"],
                        "stopped": data["stopped"], "reasons": data["visits"]})
    # msgspec, not jsonify: the same compact JSON in the same key order, encoded several times faster,
    # which is most of the answer's cost for 1,000 disbursements with their reasons
    return Response(msgspec.json.encode({"workflow_hash": compiled.content_hash, "results": results}),
                    mimetype="application/json")
