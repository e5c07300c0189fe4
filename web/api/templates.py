"""``/v1/companies/{company_id}/workflow-templates``: templates, their drafts, versions and configuration.

Each view parses the request, makes one engine call (:mod:`engine.service.templates`) and
renders the result; the engine checks the workflow permissions (ROLE-7, ROLE-1) and
re-runs every check before it publishes (WF-5). A `.flow` text or JSON config is read
here by the language's front end (:func:`dsl.load.load_workflow`), so a refused publish
answers 422 with each diagnostic located by line and column, as ``/v1/evaluate`` does.

Bodies of actions that take no argument (``/default``, ``/archive``) are the empty object
``{}``: every POST body of the service is JSON.
"""

from __future__ import annotations

from typing import Any, Literal

from flask import Response, current_app, jsonify
from flask_openapi3 import APIBlueprint, Tag
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from engine.service.templates import PublishRefused
from web.api import paging
from web.api.common import Page, PageQuery, actor, created, idempotency_key
from web.api.directory import CHANGE_ERRORS, LIST_ERRORS, READ_ERRORS, CompanyPath
from web.api.models import BEARER, WorkflowSource
from web.errors import problem

bp = APIBlueprint("templates", __name__, url_prefix="/v1",
                  abp_tags=[Tag(name="workflow templates", description="templates, drafts, published versions, "
                                                                       "configuration and the default")],
                  abp_security=BEARER)

_BASE = "/companies/<company_id>/workflow-templates"


def _svc() -> Any:
    return current_app.extensions["payroute"]


class TemplatePath(CompanyPath):
    template_id: str


class TemplateSummary(BaseModel):
    """A template as the templates page lists it (WF-7: Configured, or why not)."""

    id: str
    name: str
    archived: bool = Field(description="WF-14")
    is_default: bool = Field(description="the company's Payments default (WF-9)")
    manager_id: str | None = Field(description="the workflow manager (WF-6)")
    active_version: str | None = Field(description='the version in force, e.g. "2.0" (WF-4)')
    configured: bool = Field(description="WF-7")
    problems: list[str] = Field(description="why it is Not Configured (empty when Configured)")


class Version(BaseModel):
    id: str
    label: str = Field(description='"0.1" for a draft, "1.0" for a published version (WF-3)')
    state: Literal["draft", "active", "inactive"] = Field(description="WF-4")
    content_hash: str | None = Field(description="sha256:<hex> of a published version's compiled JSON (WF-4)")


class TemplateDetail(TemplateSummary):
    """A template with its versions, configuration and the diagram of its version in force."""

    versions: list[Version] = Field(description="oldest first")
    roles: dict[str, list[str]] = Field(description="each workflow role's user ids (WF-6)")
    groups: dict[str, list[str]] = Field(description="each workflow role's group ids (WF-6)")
    diagram: str | None = Field(description="Mermaid `flowchart TD` of the version in force (null before "
                                            "the first publish)")


class DraftSaved(Version):
    """The draft saved, and what `payroute check` says about it (a draft may fail its checks, WF-3)."""

    diagnostics: list[dict[str, Any]] = Field(description="each diagnostic, located like /v1/check's")


class NewTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: StrictStr = Field(description="unique in the company, ignoring case (WF-2)")


class Rename(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: StrictStr = Field(description="unique in the company, ignoring case (WF-2)")


class Configuration(BaseModel):
    """WF-6: the workflow manager and the users (and groups) bound to each role the version names.
    Replaces the whole configuration; affects only instances started afterwards (WF-12)."""

    model_config = ConfigDict(extra="forbid")

    manager: StrictStr | None = Field(description="the workflow manager's user id")
    roles: dict[StrictStr, list[StrictStr]] = Field(default_factory=dict, description="ROLE: [user ids]")
    groups: dict[StrictStr, list[StrictStr]] = Field(default_factory=dict, description="ROLE: [group ids]")


class Empty(BaseModel):
    """An action that takes no argument: the body is `{}`."""

    model_config = ConfigDict(extra="forbid")


def summary_json(t: Any) -> dict[str, Any]:
    return {"id": t.id, "name": t.name, "archived": t.archived, "is_default": t.is_default,
            "manager_id": t.manager_id, "active_version": t.active_version, "configured": t.configured,
            "problems": list(t.problems)}


def version_json(v: Any) -> dict[str, Any]:
    return {"id": v.id, "label": v.label, "state": v.state, "content_hash": v.content_hash}


def _loaded(body: WorkflowSource) -> Any:
    """The body's workflow through the language's front end (never raises for a user's mistake)."""
    from dsl.load import load_workflow
    from web.workflows import CONFIG_LABEL, FLOW_LABEL, config_text

    if body.flow is not None:
        return load_workflow(body.flow, FLOW_LABEL, kind="flow")
    assert body.config is not None
    return load_workflow(config_text(body.config), CONFIG_LABEL, kind="json")


@bp.get(_BASE, responses={200: Page[TemplateSummary], **LIST_ERRORS})
def list_templates(path: CompanyPath, query: PageQuery) -> Response:
    """The templates, archived ones included, oldest first (View Workflow Templates, Create and Edit
    Workflow Templates or Payments Admin)."""
    from engine.service import templates

    return paging.page(templates.list_templates(_svc(), actor(), path.company_id, after=paging.after(query),
                                                limit=query.limit), summary_json)


@bp.post(_BASE, responses={201: TemplateSummary, **CHANGE_ERRORS})
def create_template(path: CompanyPath, body: NewTemplate) -> Response:
    """A new template (Create and Edit Workflow Templates or Payments Admin); Not Configured until a
    version is published and configured (WF-7); a name taken (ignoring case) is 409."""
    from engine.service import templates

    view = templates.create_template(_svc(), actor(), path.company_id, body.name,
                                     idempotency_key=idempotency_key())
    return created(summary_json(view), f"/v1/companies/{path.company_id}/workflow-templates/{view.id}")


@bp.get(_BASE + "/<template_id>", responses={200: TemplateDetail, **READ_ERRORS})
def get_template(path: TemplatePath) -> Response:
    """The template with its versions, configuration and the Mermaid diagram of the version in force."""
    from dsl.diagram import render
    from engine.service import templates

    d = templates.read_template(_svc(), actor(), path.company_id, path.template_id)
    return jsonify({**summary_json(d.template), "versions": [version_json(v) for v in d.versions],
                    "roles": {k: list(v) for k, v in d.roles.items()},
                    "groups": {k: list(v) for k, v in d.groups.items()},
                    "diagram": render(d.active_config, "mermaid") if d.active_config is not None else None})


@bp.patch(_BASE + "/<template_id>", responses={200: TemplateSummary, **CHANGE_ERRORS})
def rename_template(path: TemplatePath, body: Rename) -> Response:
    """Rename (WF-2); renaming the default template is an Admin action (ROLE-1)."""
    from engine.service import templates

    view = templates.rename(_svc(), actor(), path.company_id, path.template_id, body.name,
                            idempotency_key=idempotency_key())
    return jsonify(summary_json(view))


@bp.put(_BASE + "/<template_id>/draft", responses={200: DraftSaved, **CHANGE_ERRORS})
def save_draft(path: TemplatePath, body: WorkflowSource) -> Response:
    """Save a draft, the next minor version (WF-3), from a `.flow` text or a JSON config. A draft may
    fail its checks: it is saved anyway, and `diagnostics` says what `payroute check` finds."""
    from dsl.render import check_report
    from engine.service import templates

    loaded = _loaded(body)
    info = templates.save_draft(_svc(), actor(), path.company_id, path.template_id, loaded,
                                idempotency_key=idempotency_key())
    report = check_report([(loaded.filename, d) for d in loaded.diagnostics])
    return jsonify({**version_json(info), "diagnostics": report["diagnostics"]})


@bp.post(_BASE + "/<template_id>/publish", responses={200: Version, **CHANGE_ERRORS})
def publish(path: TemplatePath, body: WorkflowSource) -> Response:
    """Publish the workflow given as the next major version, in force from now (WF-4). A workflow
    with errors is 422 `workflow_invalid`, each error located (line and column of a `.flow`
    text, a pointer into a config) as /v1/evaluate locates them (WF-5)."""
    from engine.service import templates
    from web.api.evaluate import located_errors

    loaded = _loaded(body)
    try:
        info = templates.publish(_svc(), actor(), path.company_id, path.template_id, loaded,
                                 idempotency_key=idempotency_key())
    except PublishRefused as refused:
        return problem(422, refused.message, code=refused.code, rule=refused.rule,
                       errors=located_errors(refused.diagnostics, loaded.filename, loaded.kind, ""))
    return jsonify(version_json(info))


@bp.put(_BASE + "/<template_id>/configuration", responses={200: TemplateSummary, **CHANGE_ERRORS})
def configure(path: TemplatePath, body: Configuration) -> Response:
    """Bind each workflow role to users and groups and name the manager (WF-6); the default template
    must stay Configured (409, WF-9) and only an Admin configures it (ROLE-1)."""
    from engine.service import templates

    view = templates.configure(_svc(), actor(), path.company_id, path.template_id, manager=body.manager,
                               roles=body.roles, groups=body.groups, idempotency_key=idempotency_key())
    return jsonify(summary_json(view))


@bp.post(_BASE + "/<template_id>/default", responses={200: TemplateSummary, **CHANGE_ERRORS})
def set_default(path: TemplatePath, body: Empty) -> Response:
    """Make it the company's Payments default (Payments Admin; only a Configured template, 409, WF-9)."""
    from engine.service import templates

    view = templates.set_default(_svc(), actor(), path.company_id, path.template_id,
                                 idempotency_key=idempotency_key())
    return jsonify(summary_json(view))


@bp.post(_BASE + "/<template_id>/archive", responses={200: TemplateSummary, **CHANGE_ERRORS})
def archive(path: TemplatePath, body: Empty) -> Response:
    """Archive it: it starts no instance, running ones continue; the default cannot be archived (409, WF-14)."""
    from engine.service import templates

    view = templates.archive(_svc(), actor(), path.company_id, path.template_id,
                             idempotency_key=idempotency_key())
    return jsonify(summary_json(view))
