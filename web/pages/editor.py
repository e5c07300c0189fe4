"""The rule editor and playground (issue 13): the company's workflow templates, and a `.flow` editor
with live diagnostics at the line, the Mermaid diagram, and a simulate panel.

- ``GET /workflows``: the templates with their status (version in force, Configured or why not,
  default, archived), "Set as default" for a Payments Admin.
- ``GET /workflows/new``, ``POST /workflows/new``: name a template and save its first draft.
- ``GET /workflows/<id>/edit``: its latest version's text (draft or published) in the editor;
  ``POST`` with ``action`` ``check`` (no JavaScript: the panel redrawn), ``save`` (a draft, which
  may fail its checks, WF-3) or ``publish`` (refused with its diagnostics while it has errors, WF-5).
- ``POST /workflows/<id>/default``: make it the company's default (ROLE-1, WF-9).
- ``POST /workflows/panel``: the live panel as an HTML fragment for htmx (``keyup changed
  delay:400ms``): CSRF-checked like every page POST, it changes nothing (ROLL-6).

What the panel shows is :func:`dsl.playground.play` (the same diagnostics, diagram and routes as
``payroute check``, ``diagram`` and ``simulate``); every change is the engine's own template
command with the signed-in person as the actor, which checks the permissions (ROLE-7, ROLE-1):
the buttons a page offers come from :func:`engine.service.templates.read_source`, but the
commands decide.
"""

from __future__ import annotations

import json
import secrets
from typing import Any, Mapping

from flask import Blueprint, flash, redirect, render_template, request, url_for
from markupsafe import Markup, escape
from werkzeug.wrappers import Response

from engine.errors import DomainError
from web.pages.context import current, engine_error, services, signed_in

bp = Blueprint("editor", __name__, url_prefix="/workflows")

#: The longest `.flow` text or sample the editor takes (a workflow is a few kilobytes).
MAX_TEXT = 200_000
#: A disbursement over $100,000.00, so the reference workflow sends it to the CFO.
SAMPLE = json.dumps({
    "id": "D-1001", "project": {"id": "P-100", "name": "Riverside Tower", "office": "Denver"},
    "created_by": "pm@riverside.example", "funding_account": "FA-1",
    "invoices": [{"id": "INV-1", "vendor": "Acme Concrete", "amount": "98250.00"},
                 {"id": "INV-2", "vendor": "Steelworks LLC", "amount": "12000.00"}]}, indent=2)
_ANSWER = "answer:"


@bp.app_template_filter("ticks")
def ticks(text: str | None) -> Markup:
    """A diagnostic's message or hint with its `quoted` names set as code, the rest escaped (a name
    may hold anything a user typed)."""
    import re

    return Markup(re.sub(r"`([^`\n]+)`", r"<code>\1</code>", str(escape(text or ""))))


@bp.after_request
def _htmx_redirects(response: Response) -> Response:
    """A live-panel request whose session ended is redirected to the sign-in page: htmx would
    follow the redirect and draw that page inside the panel, so the whole page goes there
    instead (``HX-Redirect``)."""
    if request.headers.get("HX-Request") == "true" and response.status_code in (301, 302, 303) \
            and response.location:
        return Response("", 200, headers={"HX-Redirect": response.location})
    return response


def _starter() -> str:
    from web.api.models import EXAMPLE_FLOW

    return EXAMPLE_FLOW


def _field(name: str, default: str = "") -> str:
    """A text field of the form, line endings as a textarea sends them (CRLF) made plain, cut to
    :data:`MAX_TEXT` (a longer text would only be refused)."""
    value = request.form.get(name, default)
    return value.replace("\r\n", "\n")[:MAX_TEXT]


def _too_long() -> str | None:
    """Why the form cannot be taken as it is: a text or sample longer than :data:`MAX_TEXT`."""
    for name, what in (("flow", "The workflow text"), ("sample", "The sample")):
        if len(request.form.get(name, "")) > MAX_TEXT:
            return f"{what} is longer than {MAX_TEXT:,} characters; nothing was checked or saved."
    return None


def _answers(form: Mapping[str, str]) -> dict[str, str]:
    return {key[len(_ANSWER):]: value for key, value in form.items() if key.startswith(_ANSWER) and value}


def _play(text: str, sample: str, answers: Mapping[str, str]) -> Any:
    from dsl.playground import play

    return play(text, sample, answers=answers, known_steps_only=True)


def _editor(template: Any, source: Any, text: str, sample: str, answers: Mapping[str, str], *,
            name: str = "", name_error: str | None = None, refusal: str | None = None,
            status: int = 200) -> tuple[str, int]:
    shown = _play(text, sample, answers)
    return render_template("editor/edit.html", template=template, source=source, text=text, sample=sample,
                           answers=answers, shown=shown, name=name, name_error=name_error, refusal=refusal,
                           versions=_versions(template), form_key=secrets.token_hex(16)), status


def _versions(template: Any) -> tuple[Any, ...]:
    """The template's versions, oldest first (WF-3, WF-4), for the history line; none when it is new."""
    if template is None:
        return ()
    from engine.service import templates

    me = current()
    try:
        return templates.read_template(services(), me.user_id, me.company_id, template.id).versions
    except DomainError:  # read_source let this reader in a moment ago; a race at worst hides the line
        return ()


@bp.get("")
@signed_in
def workflows() -> tuple[str, int]:
    from engine.service import templates

    me = current()
    try:
        page = templates.list_templates(services(), me.user_id, me.company_id,
                                        after=request.args.get("after") or None, limit=100)
    except DomainError as exc:
        ask = " Ask a Payments Admin of your company to grant you one." if exc.code == "permission_denied" else ""
        status = 403 if exc.code == "permission_denied" else 404 if exc.code == "not_found" else 400
        refusal = engine_error(exc).rstrip(".") + "." + ask
        return render_template("editor/list.html", items=None, refusal=refusal), status
    from engine.security.permissions import PAYMENTS_ADMIN

    # the button only for whom the engine lets choose (ROLE-1); set_default checks again
    return render_template("editor/list.html", items=page.items, next_after=page.next_after, refusal=None,
                           can_set_default=PAYMENTS_ADMIN in me.permissions), 200


@bp.get("/new")
@signed_in
def new_page() -> tuple[str, int]:
    return _editor(None, None, _starter(), SAMPLE, {})


@bp.post("/new")
@signed_in
def create() -> Response | tuple[str, int]:
    """WF-1, WF-2, WF-3: the template and its first draft (both the engine's commands)."""
    from engine.service import templates

    me = current()
    svc = services()
    name, text, sample = _field("name"), _field("flow"), _field("sample")
    answers = _answers(request.form)
    too_long = _too_long()
    if too_long or request.form.get("action") == "check":
        return _editor(None, None, text, sample, answers, name=name, refusal=too_long,
                       status=413 if too_long else 200)
    try:
        made = templates.create_template(svc, me.user_id, me.company_id, name)
    except DomainError as exc:
        field_error = engine_error(exc) if exc.code in ("invalid_name", "duplicate_name") else None
        return _editor(None, None, text, sample, answers, name=name, name_error=field_error,
                       refusal=None if field_error else engine_error(exc), status=400 if field_error else 403)
    shown = _play(text, "", {})
    try:
        saved = templates.save_draft(svc, me.user_id, me.company_id, made.id, shown.source)
    except DomainError as exc:  # the template exists; say why its draft did not save
        flash(f"The workflow {made.name} was created, but its draft was not saved: {engine_error(exc)}", "error")
    else:
        flash(f"Created {made.name} and saved draft {saved.label}.", "ok")
    return redirect(url_for("editor.edit_page", template_id=made.id))


def _source(template_id: str) -> Any:
    from engine.service import templates

    me = current()
    return templates.read_source(services(), me.user_id, me.company_id, template_id)


@bp.get("/<template_id>/edit")
@signed_in
def edit_page(template_id: str) -> tuple[str, int]:
    try:
        source = _source(template_id)
    except DomainError as exc:
        return render_template("editor/list.html", items=None, refusal=engine_error(exc)), \
            404 if exc.code == "not_found" else 403
    from dsl.playground import editable_text

    text = editable_text(source.text, source.kind or "flow") if source.text is not None else None
    note = None
    if source.text is not None and text is None:
        note = (f"Version {source.label} was saved as a JSON config that cannot be written as rule text: "
                "the editor starts from the example workflow instead.")
    return _editor(source.template, source, text if text is not None else _starter(), SAMPLE, {}, refusal=note)


@bp.post("/<template_id>/edit")
@signed_in
def edit_action(template_id: str) -> Response | tuple[str, int]:
    """``check``, ``save`` (a draft, WF-3) or ``publish`` (WF-4, refused with its errors: WF-5)."""
    from engine.service import templates
    from engine.service.templates import PublishRefused

    me = current()
    try:
        source = _source(template_id)
    except DomainError as exc:
        return render_template("editor/list.html", items=None, refusal=engine_error(exc)), \
            404 if exc.code == "not_found" else 403
    text, sample, answers = _field("flow"), _field("sample"), _answers(request.form)
    action = request.form.get("action", "check")
    too_long = _too_long()
    if too_long or action not in ("save", "publish"):
        return _editor(source.template, source, text, sample, answers, refusal=too_long,
                       status=413 if too_long else 200)
    loaded = _play(text, "", {}).source
    key = request.form.get("form_key") or None
    idempotency_key = f"editor-{action}-{key}" if key and key.isalnum() and len(key) <= 64 else None
    try:
        if action == "save":
            saved = templates.save_draft(services(), me.user_id, me.company_id, template_id, loaded,
                                         idempotency_key=idempotency_key)
            problems = sum(1 for d in loaded.diagnostics if d.is_error)
            note = f" It has {problems} error{'s' if problems != 1 else ''} to fix before publishing." \
                if problems else ""
            flash(f"Draft {saved.label} saved.{note}", "ok")
        else:
            published = templates.publish(services(), me.user_id, me.company_id, template_id, loaded,
                                          idempotency_key=idempotency_key)
            flash(f"Published version {published.label}: it is in force for disbursements started from now.",
                  "ok")
    except PublishRefused as refused:
        return _editor(source.template, source, text, sample, answers,
                       refusal=f"{engine_error(refused)}: fix the errors listed below, then publish again.",
                       status=422)
    except DomainError as exc:
        return _editor(source.template, source, text, sample, answers, refusal=engine_error(exc),
                       status=409 if exc.kind == "conflict" else 403 if exc.kind == "forbidden" else 400)
    return redirect(url_for("editor.edit_page", template_id=template_id))


@bp.post("/<template_id>/default")
@signed_in
def make_default(template_id: str) -> Response:
    """WF-9: only a Configured template; a Payments Admin's choice (ROLE-1)."""
    from engine.service import templates

    me = current()
    try:
        view = templates.set_default(services(), me.user_id, me.company_id, template_id)
    except DomainError as exc:
        flash(engine_error(exc), "error")
    else:
        flash(f"{view.name} is now the company's default workflow: new disbursements start on it.", "ok")
    back = request.form.get("back")
    if back == "edit":
        return redirect(url_for("editor.edit_page", template_id=template_id))
    return redirect(url_for("editor.workflows"))


@bp.post("/panel")
@signed_in
def panel() -> tuple[str, int]:
    """The live panel (diagnostics, diagram, simulation) for htmx; changes nothing (ROLL-6)."""
    too_long = _too_long()
    if too_long:  # htmx swaps a 200 only: the refusal takes the problems' place
        return render_template("editor/_too_long.html", message=too_long), 200
    text = _field("flow")
    shown = _play(text, _field("sample"), _answers(request.form))
    return render_template("editor/_panel.html", shown=shown, text=text, answers=_answers(request.form),
                           oob=True), 200
