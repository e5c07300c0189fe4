"""Workflow templates: drafts, versions, publishing, configuration, the company default,
archiving (WF-1..WF-14).

The engine does not parse `.flow` text (it imports neither :mod:`dsl` nor
:mod:`web`): the edge hands it a :class:`WorkflowSource` — the text, its
kind, the model the front end built (or None after a syntax error) and the
front end's diagnostics; :class:`dsl.load.LoadedWorkflow` is one. The engine re-runs every semantic check on the model itself
before publishing (WF-5), so no caller can publish an unchecked workflow.

Every command and query takes ``(svc, actor, company_id, template_id, ...)`` and checks the
actor's workflow permissions itself (ROLE-7, ROLE-1); a command returns the frozen
:class:`TemplateView` of the template it created or changed, or the :class:`VersionInfo` of
the version it saved or published. The functions taking a ``Session`` (:func:`configuration`,
:func:`configuration_problems`, :func:`snapshot_data`, :func:`active_version`) are internal
helpers inside another command's transaction, and check no actor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Protocol, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.errors import DomainError
from engine.security.permissions import (
    EDIT_TEMPLATES,
    PAYMENTS_ADMIN,
    VIEW_TEMPLATES,
    can_manage,
    eligible_users,
    require,
    membership,
    require_any,
    require_member,
    standing,
)
from engine.service import audit
from engine.service.directory import ListPage, after_key, get_company, keyset, page_limit, paged, require_reader
from engine.service.idempotency import idempotent
from engine.services import Services
from engine.spec.checks import run_checks
from engine.spec.export import config_to_document, content_hash
from engine.spec.model import ResponseStep, WorkflowConfig
from engine.store.tables import (
    Company,
    Group,
    GroupMember,
    RoleBinding,
    Template,
    TemplateVersion,
    User,
)
from engine.text import is_id, text_problem

if TYPE_CHECKING:
    from engine.spec.compiler import CompiledWorkflow

#: GEN-8: the standing a template command needs before a stored result is replayed
_EDITOR = standing(EDIT_TEMPLATES, PAYMENTS_ADMIN, rule="ROLE-7", action="editing workflow templates")
_ADMIN = standing(PAYMENTS_ADMIN, rule="ROLE-1", action="choosing the default template")

class WorkflowSource(Protocol):
    """What a front end produced from a rule file or JSON config (dsl.load.LoadedWorkflow)."""

    text: str
    kind: str
    config: WorkflowConfig | None
    diagnostics: list[Any]


@dataclass(frozen=True)
class TemplateView:
    """A template as the templates page lists it: its name, whether it is archived (WF-14) or the
    company's default (WF-9), its workflow manager (WF-6), its active version's label (WF-4) and
    whether it is Configured, with why not (WF-7)."""

    id: str
    name: str
    archived: bool
    is_default: bool
    manager_id: str | None
    active_version: str | None
    configured: bool
    problems: tuple[str, ...]


def _view(s: Session, company: Company, t: Template) -> TemplateView:
    s.flush()
    found = configuration(s, t)
    v = found.version
    return TemplateView(t.id, t.name, bool(t.archived), company.default_template_id == t.id, t.manager_id,
                        f"{v.major}.{v.minor}" if v is not None else None, not found.problems,
                        tuple(found.problems))


def _template(s: Session, company_id: str, template_id: str, *, lock: bool = False) -> Template:
    q = select(Template).where(Template.id == template_id)
    if lock:
        q = q.with_for_update()
    t = s.scalars(q).first()
    if t is None or t.company_id != company_id:
        raise DomainError("not_found", "no such template", rule="GEN-5")
    return t


def _guard_default(s: Session, company: Company, t: Template, actor: str, action: str) -> None:
    """ROLE-1: the company's default template routes every new disbursement, so only an Admin
    may publish to, configure or rename it; editors work on the other templates and on drafts."""
    if company.default_template_id == t.id:
        require(s, company.id, actor, PAYMENTS_ADMIN, rule="ROLE-1", action=f"{action} the default template")



def _keep_default_configured(s: Session, company: Company, t: Template) -> None:
    """WF-9, after a change is flushed: the default template starts every new disbursement,
    so a new version naming a role nobody fills, or a configuration that leaves one empty,
    is refused on it (the caller's transaction rolls the change back)."""
    if company.default_template_id == t.id:
        problems = configuration_problems(s, t)
        if problems:
            raise DomainError("template_not_configured",
                              "the default template must stay Configured: " + "; ".join(problems), rule="WF-9")

def _audit(s: Session, svc: Services, company_id: str, actor: str, action: str, template_id: str,
           **kw: Any) -> None:
    audit.append(s, chain=audit.company_chain(company_id), company_id=company_id, at=svc.now(),
                 actor_id=actor, action=action, object_type="template", object_id=template_id, **kw)


def _check_name(s: Session, company_id: str, name: str, exclude: str | None = None) -> str:
    if not isinstance(name, str) or not name.strip():
        raise DomainError("invalid_name", "a template needs a name", rule="WF-2")
    name = name.strip()
    problem = text_problem(name, limit=200)
    if problem is not None:
        raise DomainError("invalid_name", f"a template's name is 1 to 200 printable characters: {problem}",
                          rule="WF-2")
    key = name.casefold()
    q = select(func.count(Template.id)).where(Template.company_id == company_id, Template.name_key == key)
    if exclude:
        q = q.where(Template.id != exclude)
    if s.scalar(q):
        raise DomainError("duplicate_name", f"a template named `{name}` exists (names ignore case)",
                          rule="WF-2")
    return key


@idempotent("create_template", standing=_EDITOR)
def create_template(svc: Services, actor: str, company_id: str, name: str) -> TemplateView:
    """WF-1, WF-2: a new template, named uniquely in the company ignoring case; Not Configured
    until a version is published and configured (WF-7)."""
    with svc.tx() as s:
        company = get_company(s, company_id, lock=True)
        require_any(s, company_id, actor, (EDIT_TEMPLATES, PAYMENTS_ADMIN), rule="ROLE-7",
                    action="creating workflow templates")
        key = _check_name(s, company_id, name)
        t = Template(company_id=company_id, name=name.strip(), name_key=key, created_at=svc.now())
        s.add(t)
        s.flush()
        _audit(s, svc, company_id, actor, "template_created", t.id, after={"name": t.name}, rules=("WF-1", "WF-2"))
        return _view(s, company, t)


def _latest(s: Session, template_id: str) -> TemplateVersion | None:
    return s.scalars(select(TemplateVersion).where(TemplateVersion.template_id == template_id)
                     .order_by(TemplateVersion.major.desc(), TemplateVersion.minor.desc()).limit(1)).first()


def active_version(s: Session, template_id: str) -> TemplateVersion | None:
    return s.scalars(select(TemplateVersion).where(TemplateVersion.template_id == template_id,
                                                   TemplateVersion.state == "active")).first()


@dataclass(frozen=True)
class VersionInfo:
    id: str
    label: str
    state: str
    content_hash: str | None


def _info(v: TemplateVersion) -> VersionInfo:
    return VersionInfo(v.id, f"{v.major}.{v.minor}", v.state, v.content_hash)


@idempotent("save_draft", standing=_EDITOR)
def save_draft(svc: Services, actor: str, company_id: str, template_id: str,
               source: WorkflowSource) -> VersionInfo:
    """WF-3: a draft is a minor version; it may fail its checks."""
    with svc.tx() as s:
        t = _template(s, company_id, template_id, lock=True)
        require_any(s, company_id, actor, (EDIT_TEMPLATES, PAYMENTS_ADMIN), rule="ROLE-7",
                    action="editing workflow templates")
        last = _latest(s, template_id)
        major = (last.major if last else 0)
        minor = (last.minor + 1 if last and last.major == major else 1)
        doc = config_to_document(source.config) if source.config is not None else None
        v = TemplateVersion(template_id=t.id, major=major, minor=minor, state="draft",
                            source_kind=source.kind, source_text=source.text, document=doc,
                            content_hash=None, created_by=actor, created_at=svc.now())
        s.add(v)
        s.flush()
        _audit(s, svc, company_id, actor, "draft_saved", t.id, after={"version": f"{major}.{minor}"},
               rules=("WF-3",), version_id=v.id)
        return _info(v)


class PublishRefused(DomainError):
    """WF-5: the version has errors; ``diagnostics`` lists them."""

    def __init__(self, diagnostics: Sequence[Any]) -> None:
        errors = [d for d in diagnostics if getattr(d, "severity", "error") == "error"]
        super().__init__("workflow_invalid",
                         f"the workflow has {len(errors)} error{'s' if len(errors) != 1 else ''} and cannot be published",
                         rule="WF-5")
        self.diagnostics = list(errors)


@idempotent("publish", standing=_EDITOR)
def publish(svc: Services, actor: str, company_id: str, template_id: str,
            source: WorkflowSource) -> VersionInfo:
    """WF-4/WF-5: the next major version, immutable with its content hash."""
    if source.config is None:
        raise PublishRefused(source.diagnostics)
    # The engine's own checks decide (a caller cannot vouch for a config);
    # the front end's copy of the same diagnostics is reported when it has
    # them, because it is located by line and column.
    engine_errors = [d for d in run_checks(source.config) if d.severity == "error"]
    source_errors = [d for d in source.diagnostics if getattr(d, "severity", "error") == "error"]
    if engine_errors or source_errors:
        raise PublishRefused(source_errors or engine_errors)
    with svc.tx() as s:
        company = get_company(s, company_id, lock=True)
        t = _template(s, company_id, template_id, lock=True)
        require_any(s, company_id, actor, (EDIT_TEMPLATES, PAYMENTS_ADMIN), rule="ROLE-7",
                    action="publishing workflow templates")
        _guard_default(s, company, t, actor, "publishing a new version of")
        if t.archived:
            raise DomainError("template_archived", "an archived template cannot be published", rule="WF-14")
        last = _latest(s, template_id)
        major = (last.major if last else 0) + 1
        previous = active_version(s, template_id)
        if previous is not None:
            previous.state = "inactive"
        doc = config_to_document(source.config)
        v = TemplateVersion(template_id=t.id, major=major, minor=0, state="active",
                            source_kind=source.kind, source_text=source.text, document=doc,
                            content_hash=content_hash(source.config), created_by=actor,
                            created_at=svc.now())
        s.add(v)
        s.flush()
        _keep_default_configured(s, company, t)
        _audit(s, svc, company_id, actor, "version_published", t.id,
               before={"active": f"{previous.major}.{previous.minor}"} if previous else None,
               after={"active": f"{major}.0"}, rules=("WF-4", "WF-5"), version_id=v.id,
               content_hash=v.content_hash)
        return _info(v)


@idempotent("configure", standing=_EDITOR)
def configure(svc: Services, actor: str, company_id: str, template_id: str, *, manager: str | None,
              roles: Mapping[str, Sequence[str]] | None = None,
              groups: Mapping[str, Sequence[str]] | None = None) -> TemplateView:
    """WF-6: bind each workflow role to users (``roles``) and/or groups (``groups``), name the manager.

    Affects only instances started afterwards (WF-12). The default template must stay
    Configured (WF-9): a configuration that would leave it Not Configured is refused.
    """
    with svc.tx() as s:
        company = get_company(s, company_id, lock=True)
        t = _template(s, company_id, template_id, lock=True)
        require_any(s, company_id, actor, (EDIT_TEMPLATES, PAYMENTS_ADMIN), rule="ROLE-7",
                    action="configuring workflow templates")
        _guard_default(s, company, t, actor, "configuring")
        if manager is not None:
            require_member(s, company_id, manager, what="manager user")
        for role, user_ids in (roles or {}).items():
            for uid in user_ids:
                require_member(s, company_id, uid, what=f"user for role `{role}`")
        for role, group_ids in (groups or {}).items():
            for gid in group_ids:
                g = s.get(Group, gid)
                if g is None or g.company_id != company_id:
                    raise DomainError("not_found", f"no such group for role `{role}`", rule="GEN-5")
        before = _bindings_data(s, t)
        for row in s.scalars(select(RoleBinding).where(RoleBinding.template_id == t.id)):
            s.delete(row)
        s.flush()
        for role, users in (roles or {}).items():
            for uid in dict.fromkeys(users):
                s.add(RoleBinding(template_id=t.id, role=role, user_id=uid))
        for role, group_ids in (groups or {}).items():
            for gid in dict.fromkeys(group_ids):
                s.add(RoleBinding(template_id=t.id, role=role, group_id=gid))
        t.manager_id = manager
        t.lock_version += 1
        s.flush()
        _keep_default_configured(s, company, t)
        _audit(s, svc, company_id, actor, "template_configured", t.id, before=before,
               after=_bindings_data(s, t), rules=("WF-6",))
        return _view(s, company, t)


def _bindings_data(s: Session, t: Template) -> dict[str, Any]:
    rows = s.scalars(select(RoleBinding).where(RoleBinding.template_id == t.id)
                     .order_by(RoleBinding.role, RoleBinding.id))
    out: dict[str, list[str]] = {}
    for r in rows:
        out.setdefault(r.role, []).append(r.user_id or f"group:{r.group_id}")
    return {"manager": t.manager_id, "roles": out}


def _group_members(s: Session, group_id: str) -> tuple[str, ...]:
    return tuple(s.scalars(select(GroupMember.user_id).where(GroupMember.group_id == group_id)
                           .order_by(GroupMember.id)))


def snapshot_data(s: Session, t: Template, config: WorkflowConfig) -> dict[str, Any]:
    """WF-12: the configuration an instance pins at start — role members, groups, manager."""
    roles: dict[str, list[str]] = {}
    for r in s.scalars(select(RoleBinding).where(RoleBinding.template_id == t.id).order_by(RoleBinding.id)):
        members = (r.user_id,) if r.user_id else _group_members(s, r.group_id or "")
        roles.setdefault(r.role, [])
        for m in members:
            if m not in roles[r.role]:
                roles[r.role].append(m)
    groups: dict[str, list[str]] = {}
    names = {p.name for st in config.steps if isinstance(st, ResponseStep)
             for p in st.assignees if p.kind == "group"}
    for name in sorted(names):
        g = s.scalars(select(Group).where(Group.company_id == t.company_id, Group.name == name)).first()
        groups[name] = list(_group_members(s, g.id)) if g else []
    users: dict[str, str] = {}
    emails = {p.name for st in config.steps if isinstance(st, ResponseStep)
              for p in st.assignees if p.kind == "user"}
    for email in sorted(emails):
        uid = s.scalar(select(User.id).where(User.email == email.lower()))
        if uid:
            users[email] = uid
    return {"manager": t.manager_id, "roles": roles, "groups": groups, "users": users}


@dataclass(frozen=True)
class Configuration:
    """A template's active version as an instance would start on it now (WF-7, WF-11, WF-12)."""

    problems: list[str]
    version: TemplateVersion | None = None
    snapshot: dict[str, Any] | None = None


def configuration(s: Session, t: Template) -> Configuration:
    """WF-7/WF-8: the active version and the snapshot a start would pin, and why the
    template is Not Configured (no problems = Configured). An internal helper inside the
    caller's transaction (it checks no actor; :func:`is_configured` is the query)."""
    problems: list[str] = []
    v = active_version(s, t.id)
    if v is None:
        return Configuration(["it has no published version"])
    if t.archived:
        problems.append("it is archived")
    if t.manager_id is None:
        problems.append("it names no workflow manager")
    elif not can_manage(s, t.company_id, t.manager_id):
        problems.append("its workflow manager is not an eligible user with Can Be Workflow Manager")
    config = version_config(v)
    snap = snapshot_data(s, t, config)
    eligible = eligible_users(s, t.company_id)
    for st in config.steps:
        if not isinstance(st, ResponseStep):
            continue
        for p in st.assignees:
            if p.kind == "role":
                members = snap["roles"].get(p.name, [])
            elif p.kind == "group":
                members = snap["groups"].get(p.name, [])
            else:
                members = [snap["users"][p.name]] if p.name in snap["users"] else []
            if not any(m in eligible for m in members):
                problems.append(f"{p.kind} `{p.name}` resolves to no eligible user")
    return Configuration(list(dict.fromkeys(problems)), v, snap)


def configuration_problems(s: Session, t: Template) -> list[str]:
    """Why a template is Not Configured (empty list = Configured)."""
    return configuration(s, t).problems


def version_config(v: TemplateVersion) -> WorkflowConfig:
    from engine.spec.loader import config_from_document

    assert v.document is not None
    return config_from_document(v.document)


def is_configured(svc: Services, actor: str, company_id: str, template_id: str) -> tuple[bool, list[str]]:
    """WF-7: whether the template is Configured, and why not.

    The Configured status is part of what the templates page shows, so it needs what
    :func:`list_versions` needs (ROLE-7): View Workflow Templates, Create and Edit Workflow
    Templates, or Payments Admin (who manages workflow enablement and the default, ROLE-1).
    Anyone else, a non-member included, is ``permission_denied`` (as for ``list_versions``);
    another company's template is ``not_found`` (GEN-5)."""
    with svc.db.sessions() as s:
        require_any(s, company_id, actor, (VIEW_TEMPLATES, EDIT_TEMPLATES, PAYMENTS_ADMIN), rule="ROLE-7",
                    action="viewing workflow templates")
        t = _template(s, company_id, template_id)
        problems = configuration_problems(s, t)
        return (not problems, problems)


@idempotent("set_default", standing=_ADMIN)
def set_default(svc: Services, actor: str, company_id: str, template_id: str) -> TemplateView:
    """WF-9: only a Configured template; the old default is cleared in the same transaction."""
    with svc.tx() as s:
        company = get_company(s, company_id, lock=True)
        require(s, company_id, actor, PAYMENTS_ADMIN, rule="ROLE-1", action="choosing the default template")
        t = _template(s, company_id, template_id)
        problems = configuration_problems(s, t)
        if problems:
            raise DomainError("template_not_configured",
                              "only a Configured template can be the default: " + "; ".join(problems),
                              rule="WF-9")
        before = company.default_template_id
        company.default_template_id = t.id
        company.lock_version += 1
        _audit(s, svc, company_id, actor, "default_template_set", t.id,
               before={"default": before}, after={"default": t.id}, rules=("WF-9",))
        return _view(s, company, t)


@idempotent("archive", standing=_EDITOR)
def archive(svc: Services, actor: str, company_id: str, template_id: str) -> TemplateView:
    """WF-14: the default cannot be archived; running instances continue."""
    with svc.tx() as s:
        company = get_company(s, company_id, lock=True)
        require_any(s, company_id, actor, (EDIT_TEMPLATES, PAYMENTS_ADMIN), rule="ROLE-7",
                    action="archiving workflow templates")
        t = _template(s, company_id, template_id, lock=True)
        if company.default_template_id == t.id:
            raise DomainError("template_is_default", "the default template cannot be archived", rule="WF-14")
        t.archived = True
        _audit(s, svc, company_id, actor, "template_archived", t.id, rules=("WF-14",))
        return _view(s, company, t)


@idempotent("rename", standing=_EDITOR)
def rename(svc: Services, actor: str, company_id: str, template_id: str, name: str) -> TemplateView:
    """WF-2; renaming the default template is an Admin action (ROLE-1)."""
    with svc.tx() as s:
        company = get_company(s, company_id, lock=True)
        require_any(s, company_id, actor, (EDIT_TEMPLATES, PAYMENTS_ADMIN), rule="ROLE-7",
                    action="renaming workflow templates")
        t = _template(s, company_id, template_id, lock=True)
        _guard_default(s, company, t, actor, "renaming")
        key = _check_name(s, company_id, name, exclude=t.id)
        before = t.name
        t.name, t.name_key = name.strip(), key
        _audit(s, svc, company_id, actor, "template_renamed", t.id, before={"name": before},
               after={"name": t.name}, rules=("WF-2",))
        return _view(s, company, t)


def list_versions(svc: Services, actor: str, company_id: str, template_id: str) -> list[VersionInfo]:
    with svc.db.sessions() as s:
        require_any(s, company_id, actor, (VIEW_TEMPLATES, EDIT_TEMPLATES, PAYMENTS_ADMIN), rule="ROLE-7",
                    action="viewing workflow templates")
        _template(s, company_id, template_id)
        rows = s.scalars(select(TemplateVersion).where(TemplateVersion.template_id == template_id)
                         .order_by(TemplateVersion.major, TemplateVersion.minor))
        return [_info(v) for v in rows]


# ---------------------------------------------------------------- reading (queries)

#: ROLE-7, ROLE-1: who may read templates, their versions and their configuration
_READERS = (VIEW_TEMPLATES, EDIT_TEMPLATES, PAYMENTS_ADMIN)
_VERSION_LABEL = re.compile(r"(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})")


@dataclass(frozen=True)
class TemplateDetail:
    """A template as its page shows it: the summary, every version (oldest first), its
    configuration (WF-6: each role's users and groups, in the order they were bound) and the
    model of the version in force (None before the first publish), for its diagram."""

    id: str
    template: TemplateView
    versions: tuple[VersionInfo, ...]
    roles: dict[str, tuple[str, ...]]
    groups: dict[str, tuple[str, ...]]
    active_config: WorkflowConfig | None


@dataclass(frozen=True)
class PublishedWorkflow:
    """A published version ready to route disbursements (ROLL-6): its compiled workflow, cached
    per process by content hash (:meth:`Services.compiled`)."""

    id: str
    template_id: str
    company_id: str
    label: str
    state: str
    content_hash: str
    compiled: CompiledWorkflow


def list_templates(svc: Services, actor: str, company_id: str, *, after: str | None = None,
                   limit: int = 50) -> ListPage[TemplateView]:
    """The company's templates, archived ones included, in the order they were created (then by id);
    readable with View Workflow Templates, Create and Edit Workflow Templates or Payments Admin
    (ROLE-7, ROLE-1); a stranger or deactivated member is ``not_found`` (GEN-5)."""
    limit = page_limit(limit)
    with svc.db.sessions() as s:
        require_reader(s, company_id, actor, _READERS, rule="ROLE-7", action="viewing workflow templates")
        company = get_company(s, company_id)
        start = after_key(s, after, lambda tid: s.execute(select(Template.created_at, Template.id).where(
            Template.company_id == company_id, Template.id == tid)).first())
        q = select(Template).where(Template.company_id == company_id)
        if start is not None:
            q = q.where(keyset((Template.created_at, Template.id), tuple(start)))
        rows, next_after = paged(list(s.scalars(q.order_by(Template.created_at, Template.id).limit(limit + 1))),
                                 limit, lambda t: t.id)
        return ListPage(tuple(_view(s, company, t) for t in rows), next_after)


def read_template(svc: Services, actor: str, company_id: str, template_id: str) -> TemplateDetail:
    """One template with its versions, its configuration and the model of its active version;
    readable as :func:`list_templates`."""
    with svc.db.sessions() as s:
        require_reader(s, company_id, actor, _READERS, rule="ROLE-7", action="viewing workflow templates")
        company = get_company(s, company_id)
        t = _template(s, company_id, template_id) if is_id(template_id) else None
        if t is None:
            raise DomainError("not_found", "no such template", rule="GEN-5")
        versions = tuple(_info(v) for v in s.scalars(
            select(TemplateVersion).where(TemplateVersion.template_id == t.id)
            .order_by(TemplateVersion.major, TemplateVersion.minor)))
        roles: dict[str, list[str]] = {}
        groups: dict[str, list[str]] = {}
        for r in s.scalars(select(RoleBinding).where(RoleBinding.template_id == t.id).order_by(RoleBinding.id)):
            if r.user_id:
                roles.setdefault(r.role, []).append(r.user_id)
            elif r.group_id:
                groups.setdefault(r.role, []).append(r.group_id)
        active = active_version(s, t.id)
        return TemplateDetail(t.id, _view(s, company, t), versions,
                              {k: tuple(v) for k, v in roles.items()}, {k: tuple(v) for k, v in groups.items()},
                              version_config(active) if active is not None else None)


def published_workflow(svc: Services, actor: str, template_id: str, version: str | None = None) -> PublishedWorkflow:
    """The template's version in force (or its published ``version``, "2.0"), compiled, to route
    disbursements through without changing anything (``POST /v1/evaluate``, ROLL-6).

    Exempt from ``company_id``: the template's id names its company (ids are global and random),
    and the caller has no other way to name it. The check is the same as with one: the actor
    must be an active member of the template's company, else ``not_found`` exactly as for a
    template that does not exist (GEN-5), and hold a template permission there (ROLE-7). A
    draft is not a published version (it may fail its checks, WF-3): ``not_found``."""
    with svc.db.sessions() as s:
        t = s.get(Template, template_id) if isinstance(template_id, str) and is_id(template_id) else None
        member = membership(s, t.company_id, actor) if t is not None and isinstance(actor, str) else None
        if t is None or member is None or not member.active:
            raise DomainError("not_found", "no such template", rule="GEN-5")
        require_any(s, t.company_id, actor, _READERS, rule="ROLE-7", action="evaluating workflow templates")
        if version is None:
            v = active_version(s, t.id)
            if v is None:
                raise DomainError("not_found", "the template has no published version", rule="WF-4")
        else:
            found = _VERSION_LABEL.fullmatch(version) if isinstance(version, str) else None
            if found is None:
                raise DomainError("invalid_value", f"version: `{str(version)[:40]}` is not a version such as 2.0",
                                  rule="WF-3")
            v = s.scalars(select(TemplateVersion).where(
                TemplateVersion.template_id == t.id, TemplateVersion.major == int(found.group(1)),
                TemplateVersion.minor == int(found.group(2)),
                TemplateVersion.state.in_(("active", "inactive")))).first()
            if v is None:
                raise DomainError("not_found", f"the template has no published version {version}", rule="WF-4")
        assert v.content_hash is not None and v.document is not None  # a published version has both (WF-4)
        document = v.document
        compiled = svc.compiled(v.content_hash, lambda: document)
        return PublishedWorkflow(v.id, t.id, t.company_id, f"{v.major}.{v.minor}", v.state, v.content_hash, compiled)


@dataclass(frozen=True)
class SourceView:
    """The text a template's editor opens (its latest version, draft or published, WF-3/WF-4) and
    what the reader may do with it: save a draft and publish (Create and Edit Workflow Templates or
    Payments Admin, ROLE-7; publishing to the default template only an Admin, ROLE-1) and choose
    the default (Payments Admin, ROLE-1). The flags only let a page offer the right buttons: the
    commands check the actor again themselves."""

    template_id: str
    template: TemplateView
    label: str | None  #: None before the first version is saved
    state: str | None
    kind: str | None  #: "flow" or "json"
    text: str | None
    can_edit: bool
    can_publish: bool
    can_set_default: bool


def read_source(svc: Services, actor: str, company_id: str, template_id: str) -> SourceView:
    """A template's latest version's text (the rule editor's starting point) and the reader's powers
    over it; readable as :func:`read_template` (ROLE-7), another company's template ``not_found``
    (GEN-5)."""
    with svc.db.sessions() as s:
        perms = require_reader(s, company_id, actor, _READERS, rule="ROLE-7", action="viewing workflow templates")
        company = get_company(s, company_id)
        t = _template(s, company_id, template_id) if is_id(template_id) else None
        if t is None:
            raise DomainError("not_found", "no such template", rule="GEN-5")
        editor = bool(perms & {EDIT_TEMPLATES, PAYMENTS_ADMIN})
        admin = PAYMENTS_ADMIN in perms
        is_default = company.default_template_id == t.id
        v = _latest(s, t.id)
        return SourceView(t.id, _view(s, company, t), f"{v.major}.{v.minor}" if v else None,
                          v.state if v else None, v.source_kind if v else None, v.source_text if v else None,
                          editor and not t.archived, editor and not t.archived and (admin or not is_default),
                          admin)
