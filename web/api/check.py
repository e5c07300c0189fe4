"""``POST /v1/check``: check a workflow given inline; the answer is `payroute check --format json`'s."""

from __future__ import annotations

from flask import Response, jsonify
from flask_openapi3 import APIBlueprint, Tag

from web.api.models import BEARER, COMMON_ERRORS, CheckReport, WorkflowSource, problem_responses

bp = APIBlueprint("check", __name__, url_prefix="/v1",
                  abp_tags=[Tag(name="workflows", description="check and evaluate workflows, changing nothing")],
                  abp_security=BEARER)


@bp.post("/check", responses={200: CheckReport, **problem_responses(*COMMON_ERRORS)})
def check(body: WorkflowSource) -> Response:
    """Parse and check a workflow (`.flow` text or JSON config).

    Always 200 when the body is well formed: `result` says whether the workflow has errors.
    Diagnostics name the file `workflow.flow` (or `workflow.json`); a JSON config's line and
    column are those of the config written with a two-space indent, and its `pointer` says
    where in the config.
    """
    from dsl.load import load_workflow
    from dsl.render import check_report
    from web.workflows import CONFIG_LABEL, FLOW_LABEL, config_text

    if body.flow is not None:
        loaded = load_workflow(body.flow, FLOW_LABEL, kind="flow")
    else:
        assert body.config is not None
        loaded = load_workflow(config_text(body.config), CONFIG_LABEL, kind="json")
    return jsonify(check_report([(loaded.filename, d) for d in loaded.diagnostics]))
