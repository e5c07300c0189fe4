"""A workflow template's configuration page (issue 13, WF-6..WF-9): bind each role its version in
force names to the company's members and groups, and name the workflow manager.

- ``GET /workflows/<id>/configure``: for every role the version in force names, a checkbox list of
  the company's members and groups (the current bindings checked), the manager select (the members
  the engine says can manage, ROLE-8) and "Configured" or the engine's list of what is missing
  (WF-7, WF-8).
- ``POST /workflows/<id>/configure``: :func:`engine.service.templates.configure` with the signed-in
  person as the actor, exactly as ``PUT /v1/.../configuration`` calls it (``manager``, ``roles``:
  role → user ids, ``groups``: role → group ids; the whole configuration replaced).

The page decides nothing: who may read the people (:func:`engine.service.directory.list_members`),
who may configure (ROLE-7; the default template only an Admin, ROLE-1), whether the default stays
Configured (WF-9) and who can manage (:func:`engine.security.permissions.manages`) are the engine's
answers; a refusal is shown at the field it is about, in the engine's words, with a 4xx status.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from engine.errors import DomainError
from web.pages.context import current, engine_error, services, signed_in

bp = Blueprint("configure", __name__, url_prefix="/workflows")

#: A form field's value naming a member or a group: ``user:<id>`` or ``group:<id>``.
_USER, _GROUP = "user:", "group:"
#: How many members and groups the page lists at most (the engine pages by 200).
_MAX_PEOPLE = 2000
#: A role named in an engine message (`Controller`), for putting the message at that role's field.
_QUOTED = re.compile(r"`([^`]+)`")

_STATUS = {"not_found": 404, "forbidden": 403, "conflict": 409, "unauthenticated": 401}


@dataclass
class Form:
    """What the form shows: the chosen manager, each role's chosen users and groups, and the
    refusals at their fields (``manager``, ``role:<name>``) or for the whole form (``form``)."""

    manager: str | None
    users: dict[str, list[str]]
    groups: dict[str, list[str]]
    errors: dict[str, str] = field(default_factory=dict)


def _all(lister: Any, me: Any) -> list[Any]:
    """Every item of a directory list (following its pages), up to :data:`_MAX_PEOPLE`."""
    items: list[Any] = []
    after = None
    while len(items) < _MAX_PEOPLE:
        page = lister(services(), me.user_id, me.company_id, after=after, limit=200)
        items.extend(page.items)
        after = page.next_after
        if not after:
            break
    return items


def _named(detail: Any) -> list[str]:
    """The roles the version in force names (WF-6): its manager's, then its steps' assignees', in order."""
    from engine.spec.model import ResponseStep

    config = detail.active_config
    if config is None:
        return []
    parties = [config.manager] if config.manager is not None else []
    parties += [p for st in config.steps if isinstance(st, ResponseStep) for p in st.assignees]
    return list(dict.fromkeys(p.name for p in parties if p.kind == "role"))


def _roles(detail: Any) -> list[str]:
    """The roles the form binds: those named (:func:`_named`), then any still bound that the version in
    force no longer names (shown, so a save does not drop them unseen: ``configure`` replaces the whole
    configuration)."""
    named = _named(detail)
    return named + [r for r in dict.fromkeys([*detail.roles, *detail.groups]) if r not in named]


def _current(detail: Any) -> Form:
    return Form(detail.template.manager_id, {r: list(u) for r, u in detail.roles.items()},
                {r: list(g) for r, g in detail.groups.items()})


def _posted(roles: Sequence[str]) -> Form:
    """The form as sent: ``manager`` and, per role, ``role:<name>`` values ``user:<id>``/``group:<id>``."""
    users: dict[str, list[str]] = {}
    groups: dict[str, list[str]] = {}
    for role in roles:
        for value in request.form.getlist(f"role:{role}"):
            if value.startswith(_USER):
                users.setdefault(role, []).append(value[len(_USER):])
            elif value.startswith(_GROUP):
                groups.setdefault(role, []).append(value[len(_GROUP):])
    return Form(request.form.get("manager") or None, users, groups)


def _refusal_at(exc: DomainError, roles: Sequence[str]) -> dict[str, str]:
    """Where the engine's refusal belongs: the manager field, the role fields it names, else the form."""
    message = engine_error(exc)
    at: dict[str, str] = {}
    if exc.code == "not_found" and "manager" in exc.message:
        at["manager"] = message
    elif exc.code in ("not_found", "template_not_configured"):
        for name in _QUOTED.findall(exc.message):
            if name in roles:
                at[f"role:{name}"] = message
        if exc.code == "template_not_configured" and "workflow manager" in exc.message:
            at["manager"] = message
    if not at or exc.code == "template_not_configured":
        at["form"] = message
    return at


def _page(template_id: str, form: Form | None = None, *, status: int = 200) -> tuple[str, int]:
    """The configuration page: the template as the engine reads it now, its people and groups."""
    from engine.security.permissions import manages
    from engine.service import directory, templates

    me = current()
    try:
        detail = templates.read_template(services(), me.user_id, me.company_id, template_id)
    except DomainError as exc:
        return render_template("editor/configure.html", detail=None, refusal=engine_error(exc)), \
            _STATUS.get(exc.kind, 400)
    try:
        members = _all(directory.list_members, me)
        groups = _all(directory.list_groups, me)
    except DomainError as exc:  # who may read the people is the engine's rule (ROLE-1, WF-6)
        return render_template("editor/configure.html", detail=detail, refusal=engine_error(exc),
                               people_refused=True), _STATUS.get(exc.kind, 400)
    shown = form or _current(detail)
    managers = [m for m in members if m.active and manages(set(m.permissions))]
    return render_template("editor/configure.html", detail=detail, refusal=None, people_refused=False,
                           roles=_roles(detail), named=_named(detail), members=members, groups=groups,
                           managers=managers,
                           form=shown, errors=shown.errors), status


@bp.get("/<template_id>/configure")
@signed_in
def configure_page(template_id: str) -> tuple[str, int]:
    return _page(template_id)


@bp.post("/<template_id>/configure")
@signed_in
def configure_save(template_id: str) -> Response | tuple[str, int]:
    """WF-6: the whole configuration replaced by the engine's command; refused → nothing changed."""
    from engine.service import templates

    me = current()
    try:
        detail = templates.read_template(services(), me.user_id, me.company_id, template_id)
    except DomainError as exc:
        return render_template("editor/configure.html", detail=None, refusal=engine_error(exc)), \
            _STATUS.get(exc.kind, 400)
    roles = _roles(detail)
    form = _posted(roles)
    try:
        view = templates.configure(services(), me.user_id, me.company_id, template_id, manager=form.manager,
                                   roles=_only(form.users), groups=_only(form.groups))
    except DomainError as exc:
        form.errors = _refusal_at(exc, roles)
        return _page(template_id, form, status=_STATUS.get(exc.kind, 400))
    if view.configured:
        flash(f"Saved the configuration of {view.name}: it is Configured.", "ok")
    else:
        flash(f"Saved the configuration of {view.name}. It is Not Configured yet: what is missing is listed "
              "under Status.", "ok")
    return redirect(url_for("configure.configure_page", template_id=template_id))


def _only(chosen: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """The roles with at least one choice (a role with none is simply unbound)."""
    return {role: ids for role, ids in chosen.items() if ids}
