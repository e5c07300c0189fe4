"""``/v1/me``, ``/v1/companies`` and a company's people, groups, projects and invoices.

Each view parses the request, makes one engine call (:mod:`engine.service.directory`) and
renders its frozen view: the engine checks who may read or change what (GEN-4), so a
stranger to the company is 404 (GEN-5) and a member without the permission 403. Every
change passes the request's ``Idempotency-Key`` to the engine command (GEN-8).

Invoices are listed and created under their project
(``/projects/{project_id}/invoices``) and read at ``/invoices/{invoice_id}``: an invoice's
id names it within its company, and a disbursement refers to it without its project.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from flask import Response, current_app, jsonify
from flask_openapi3 import APIBlueprint, Tag
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    WithJsonSchema,
    model_validator,
)

from engine.security.permissions import ALL_PERMISSIONS, LABELS, PAYMENT_ROLES
from engine.spec.disbursement import Money
from web.api import paging
from web.api.common import Page, PageQuery, actor, created, idempotency_key
from web.api.models import BEARER, COMMON_ERRORS, problem_responses

bp = APIBlueprint("directory", __name__, url_prefix="/v1",
                  abp_tags=[Tag(name="companies", description="you, your companies, their people, groups, "
                                                             "projects and invoices")],
                  abp_security=BEARER)

#: A payments role or workflow permission, by its stable identifier (engine.security.permissions).
Permission = Literal[ALL_PERMISSIONS]  # type: ignore[valid-type]
_PERMISSIONS_TEXT = "; ".join(f"`{p}` ({LABELS[p]})" for p in ALL_PERMISSIONS)

#: what a list answers beside 200 (400: a cursor it did not make; 422: a bad ?limit=), what a read of
#: one object answers, and what a change answers beside its own status
LIST_ERRORS = problem_responses(400, 401, 403, 404, 422, 500)
READ_ERRORS = problem_responses(401, 403, 404, 500)
CHANGE_ERRORS = problem_responses(*COMMON_ERRORS, 403, 404, 409)
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _svc() -> Any:
    return current_app.extensions["payroute"]


def _iso_date(value: object) -> date | None:
    """A date in JSON: ``"YYYY-MM-DD"`` (a real calendar date), or null."""
    if value is None:
        return None
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise ValueError('must be a date string such as "2026-01-31"')
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"`{value}` is not a real calendar date") from None


IsoDate = Annotated[date | None, BeforeValidator(_iso_date),
                    WithJsonSchema({"anyOf": [{"type": "string", "format": "date"}, {"type": "null"}]})]


def _patch_schema(schema: dict[str, Any]) -> None:
    """What the validator below accepts, in the contract: at least one field, none of them null
    (the fields are optional in Python only so that "absent" can be told from "given")."""
    schema["minProperties"] = 1
    for prop in schema.get("properties", {}).values():
        options = [o for o in prop.get("anyOf", ()) if o != {"type": "null"}]
        if "anyOf" in prop and len(options) == 1:
            del prop["anyOf"]
            prop.update(options[0])
        elif "anyOf" in prop:
            prop["anyOf"] = options
        prop.pop("default", None)


class Patch(BaseModel):
    """A PATCH body: the fields given change, the others stay; at least one, and none null."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_patch_schema)

    @model_validator(mode="after")
    def _something_not_null(self) -> Patch:
        if not self.model_fields_set:
            raise ValueError("give at least one field to change")
        nulls = sorted(f for f in self.model_fields_set if getattr(self, f) is None)
        if nulls:
            raise ValueError(f"`{nulls[0]}` cannot be null: leave it out to keep it")
        return self

    def changes(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.model_fields_set}


# ---------------------------------------------------------------- paths


class CompanyPath(BaseModel):
    company_id: str = Field(description="the company's id")


class UserPath(CompanyPath):
    user_id: str = Field(description="the user's id")


class GrantPath(UserPath):
    permission: str = Field(description="the permission to revoke: " + _PERMISSIONS_TEXT,
                            json_schema_extra={"enum": list(ALL_PERMISSIONS)})


class GroupPath(CompanyPath):
    group_id: str


class ProjectPath(CompanyPath):
    project_id: str


class InvoicePath(CompanyPath):
    invoice_id: str


# ---------------------------------------------------------------- companies


class Company(BaseModel):
    """A company and its settings (GEN-6, WF-10, AUTH-6) and default template (WF-9)."""

    id: str
    name: str
    is_payee: bool = Field(description="a payee company (a subcontractor receiving payments)")
    workflows_enabled: bool = Field(description="WF-10: workflows on disbursements")
    time_zone: str = Field(description="IANA time zone (GEN-6)")
    holidays: list[date] = Field(description="YYYY-MM-DD, sorted (GEN-6)")
    segregation: Literal["invoice_approver", "strict"] = Field(description="AUTH-6")
    default_template_id: str | None = Field(description="the Payments default template (WF-9)")
    sandbox: bool = Field(default=False, description="ROLL-3: disbursements made from now on are tests, "
                                                     "against sandbox accounts and the simulated bank")


class CompanyMembership(BaseModel):
    id: str
    name: str
    is_payee: bool
    permissions: list[Permission] = Field(description="what you hold there: " + _PERMISSIONS_TEXT)


class Me(BaseModel):
    """The token's user (ROLE-12) and the companies they are an active member of."""

    id: str
    email: str
    name: str
    companies: list[CompanyMembership]


class CompanyList(BaseModel):
    items: list[CompanyMembership]


class SettingsPatch(Patch):
    """Company settings to change (Payments Admin, ROLE-1)."""

    workflows_enabled: StrictBool | None = None
    time_zone: StrictStr | None = Field(default=None, description="an IANA time zone, e.g. America/Chicago")
    holidays: list[StrictStr] | None = Field(default=None, description="the whole list, YYYY-MM-DD each")
    segregation: Literal["invoice_approver", "strict"] | None = None
    sandbox: StrictBool | None = Field(default=None, description="ROLL-3: sandbox mode for disbursements "
                                                                  "made afterwards")


def company_json(c: Any) -> dict[str, Any]:
    return {"id": c.id, "name": c.name, "is_payee": c.is_payee, "workflows_enabled": c.workflows_enabled,
            "time_zone": c.time_zone, "holidays": [d.isoformat() for d in c.holidays],
            "segregation": c.segregation, "default_template_id": c.default_template_id, "sandbox": c.sandbox}


def _membership_json(m: Any) -> dict[str, Any]:
    return {"id": m.id, "name": m.name, "is_payee": m.is_payee, "permissions": list(m.permissions)}


@bp.get("/me", responses={200: Me, **problem_responses(401, 404, 500)})
def me() -> Response:
    """Who the token acts as, and every company they are an active member of with what they hold there."""
    from engine.service import directory

    a = directory.account(_svc(), actor())
    return jsonify(id=a.id, email=a.email, name=a.name, companies=[_membership_json(m) for m in a.companies])


@bp.get("/companies", responses={200: CompanyList, **problem_responses(401, 404, 500)})
def companies() -> Response:
    """The companies the token's user is an active member of, by name (a user belongs to a few)."""
    from engine.service import directory

    return jsonify(items=[_membership_json(m) for m in directory.account(_svc(), actor()).companies])


@bp.get("/companies/<company_id>", responses={200: Company, **problem_responses(401, 404, 500)})
def company(path: CompanyPath) -> Response:
    """The company and its settings; any active member may read them."""
    from engine.service import directory

    return jsonify(company_json(directory.read_company(_svc(), actor(), path.company_id)))


@bp.patch("/companies/<company_id>", responses={200: Company, **CHANGE_ERRORS})
def update_company(path: CompanyPath, body: SettingsPatch) -> Response:
    """Change settings (Payments Admin): workflows_enabled (WF-10), time_zone and holidays (GEN-6),
    segregation (AUTH-6), sandbox (ROLL-3)."""
    from engine.service import directory

    view = directory.update_settings(_svc(), actor(), path.company_id, **body.changes(),
                                     idempotency_key=idempotency_key())
    return jsonify(company_json(view))


# ---------------------------------------------------------------- members


class Member(BaseModel):
    """A person as a member of the company: active or deactivated there (GEN-5, ROLE-8)."""

    id: str
    email: str
    name: str
    active: bool
    permissions: list[Permission] = Field(description="held here, in a fixed order: " + _PERMISSIONS_TEXT)


class AddMember(BaseModel):
    """An existing person (by email) to make a member (Payments Admin, GEN-5)."""

    model_config = ConfigDict(extra="forbid")

    email: StrictStr = Field(description="the person's email; people are created by an operator, so an "
                                         "unknown address is 404")


class MemberPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    active: StrictBool = Field(description="false deactivates the member in this company only (ROLE-8)")


#: ROLE-11, MFA-8: the acting Admin's code, needed for a payments role only
_MFA_CODE_TEXT = ("the acting Admin's current TOTP code (MFA-8): required to grant or revoke a payments role ("
                  + ", ".join(f"`{p}`" for p in PAYMENT_ROLES) + "), checked after every other rule; not needed "
                  "for a workflow permission; never echoed or logged")


class GrantBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    permission: Permission = Field(description=_PERMISSIONS_TEXT)
    mfa_code: StrictStr | None = Field(default=None, min_length=1, max_length=12, description=_MFA_CODE_TEXT)


class RevokeBody(BaseModel):
    """A revoke's optional body: the MFA code a payments role needs (ROLE-11). A DELETE without a
    body is an empty one (a workflow permission needs no code)."""

    model_config = ConfigDict(extra="forbid", openapi_extra={
        "required": False, "description": "`{\"mfa_code\"}` to revoke a payments role (ROLE-11, MFA-8)"})

    mfa_code: StrictStr | None = Field(default=None, min_length=1, max_length=12, description=_MFA_CODE_TEXT)

    @model_validator(mode="before")
    @classmethod
    def _no_body(cls, data: Any) -> Any:
        return {} if data is None else data


def member_json(m: Any) -> dict[str, Any]:
    return {"id": m.id, "email": m.email, "name": m.name, "active": m.active, "permissions": list(m.permissions)}


def _users_url(company_id: str, user_id: str) -> str:
    return f"/v1/companies/{company_id}/users/{user_id}"


@bp.get("/companies/<company_id>/users", responses={200: Page[Member], **LIST_ERRORS})
def list_users(path: CompanyPath, query: PageQuery) -> Response:
    """The members, active and deactivated, in the order they joined (Payments Admin, Create and Edit
    Workflow Templates or Can Be Workflow Manager)."""
    from engine.service import directory

    return paging.page(directory.list_members(_svc(), actor(), path.company_id, after=paging.after(query),
                                              limit=query.limit), member_json)


@bp.post("/companies/<company_id>/users", responses={201: Member, **CHANGE_ERRORS})
def add_user(path: CompanyPath, body: AddMember) -> Response:
    """Make an existing person a member (Payments Admin). Adding a member again changes nothing and
    answers the member as they are (a deactivated one stays deactivated)."""
    from engine.service import directory

    view = directory.add_member(_svc(), actor(), path.company_id, body.email, idempotency_key=idempotency_key())
    return created(member_json(view), _users_url(path.company_id, view.id))


@bp.get("/companies/<company_id>/users/<user_id>", responses={200: Member, **READ_ERRORS})
def get_user(path: UserPath) -> Response:
    """One member (readable as the list is; every active member may read themselves)."""
    from engine.service import directory

    return jsonify(member_json(directory.read_member(_svc(), actor(), path.company_id, path.user_id)))


@bp.patch("/companies/<company_id>/users/<user_id>", responses={200: Member, **CHANGE_ERRORS})
def update_user(path: UserPath, body: MemberPatch) -> Response:
    """Activate or deactivate a member in this company (Payments Admin); never the last active
    Admin (409 `last_admin`, ROLE-11)."""
    from engine.service import directory

    view = directory.set_user_active(_svc(), actor(), path.company_id, path.user_id, body.active,
                                     idempotency_key=idempotency_key())
    return jsonify(member_json(view))


@bp.post("/companies/<company_id>/users/<user_id>/grants", responses={200: Member, **CHANGE_ERRORS})
def grant(path: UserPath, body: GrantBody) -> Response:
    """Grant a payments role or workflow permission (Payments Admin, ROLE-11); answers the member.
    A payments role needs the Admin's `mfa_code`, checked last (403 `mfa_failed`, MFA-8). Granting
    what they hold changes nothing and spends no code."""
    from engine.service import directory

    view = directory.grant(_svc(), actor(), path.company_id, path.user_id, body.permission,
                           mfa_code=body.mfa_code, idempotency_key=idempotency_key())
    return jsonify(member_json(view))


@bp.delete("/companies/<company_id>/users/<user_id>/grants/<permission>",
           responses={200: Member, **problem_responses(400, 401, 403, 404, 409, 422, 500)})
def revoke(path: GrantPath, body: RevokeBody) -> Response:
    """Revoke a role or permission (Payments Admin, ROLE-11); answers the member. Never the last
    active Admin's Payments Admin (409 `last_admin`); an unknown permission is 422. A payments role
    needs the Admin's `mfa_code` in the body, checked last (403 `mfa_failed`, MFA-8)."""
    from engine.service import directory

    view = directory.revoke(_svc(), actor(), path.company_id, path.user_id, path.permission,
                            mfa_code=body.mfa_code, idempotency_key=idempotency_key())
    return jsonify(member_json(view))


# ---------------------------------------------------------------- groups


class Group(BaseModel):
    id: str
    name: str
    members: list[str] = Field(description="user ids, in the order they were added")


class NewGroup(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: StrictStr = Field(description="unique in the company")
    members: list[StrictStr] = Field(default_factory=list, description="ids of members of the company")


def group_json(g: Any) -> dict[str, Any]:
    return {"id": g.id, "name": g.name, "members": list(g.members)}


@bp.get("/companies/<company_id>/groups", responses={200: Page[Group], **LIST_ERRORS})
def list_groups(path: CompanyPath, query: PageQuery) -> Response:
    """The groups, by name (readable as the members are)."""
    from engine.service import directory

    return paging.page(directory.list_groups(_svc(), actor(), path.company_id, after=paging.after(query),
                                             limit=query.limit), group_json)


@bp.post("/companies/<company_id>/groups", responses={201: Group, **CHANGE_ERRORS})
def create_group(path: CompanyPath, body: NewGroup) -> Response:
    """A new group of members (Payments Admin); a name already taken is 409."""
    from engine.service import directory

    view = directory.create_group(_svc(), actor(), path.company_id, body.name, body.members,
                                  idempotency_key=idempotency_key())
    return created(group_json(view), f"/v1/companies/{path.company_id}/groups/{view.id}")


@bp.get("/companies/<company_id>/groups/<group_id>", responses={200: Group, **READ_ERRORS})
def get_group(path: GroupPath) -> Response:
    """One group with its members."""
    from engine.service import directory

    return jsonify(group_json(directory.read_group(_svc(), actor(), path.company_id, path.group_id)))


# ---------------------------------------------------------------- projects


class ProjectRecord(BaseModel):
    """A project and its rollout switches (ROLL-1)."""

    id: str
    name: str
    office: str | None
    sector: str | None
    start_date: date | None
    attributes: dict[str, str]
    payments_enabled: bool
    payment_workflows_enabled: bool
    sandbox: bool = Field(default=False, description="ROLL-3: its disbursements made from now on are tests")


class NewProject(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: StrictStr
    office: StrictStr | None = None
    sector: StrictStr | None = None
    start_date: IsoDate = Field(default=None, description="YYYY-MM-DD")
    attributes: dict[StrictStr, StrictStr] | None = Field(default=None, description="project.<name> facts")
    payments_enabled: StrictBool = True
    payment_workflows_enabled: StrictBool = True


class ProjectPatch(Patch):
    """Rollout switches to change (Payments Admin, ROLL-1); only disbursements created afterwards
    are affected (ROLL-2)."""

    payments_enabled: StrictBool | None = None
    payment_workflows_enabled: StrictBool | None = None
    sandbox: StrictBool | None = Field(default=None, description="ROLL-3: sandbox mode for disbursements "
                                                                  "made afterwards")


def project_json(p: Any) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "office": p.office, "sector": p.sector,
            "start_date": p.start_date.isoformat() if p.start_date is not None else None,
            "attributes": dict(p.attributes), "payments_enabled": p.payments_enabled,
            "payment_workflows_enabled": p.payment_workflows_enabled, "sandbox": p.sandbox}


@bp.get("/companies/<company_id>/projects", responses={200: Page[ProjectRecord], **LIST_ERRORS})
def list_projects(path: CompanyPath, query: PageQuery) -> Response:
    """The projects, by name (Payments Admin, Disburser or Disbursement Contributor)."""
    from engine.service import directory

    return paging.page(directory.list_projects(_svc(), actor(), path.company_id, after=paging.after(query),
                                               limit=query.limit), project_json)


@bp.post("/companies/<company_id>/projects", responses={201: ProjectRecord, **CHANGE_ERRORS})
def create_project(path: CompanyPath, body: NewProject) -> Response:
    """A new project (Payments Admin)."""
    from engine.service import directory

    info = directory.ProjectInfo(name=body.name, office=body.office, sector=body.sector,
                                 start_date=body.start_date, attributes=body.attributes,
                                 payment_workflows_enabled=body.payment_workflows_enabled,
                                 payments_enabled=body.payments_enabled)
    view = directory.create_project(_svc(), actor(), path.company_id, info, idempotency_key=idempotency_key())
    return created(project_json(view), f"/v1/companies/{path.company_id}/projects/{view.id}")


@bp.get("/companies/<company_id>/projects/<project_id>", responses={200: ProjectRecord, **READ_ERRORS})
def get_project(path: ProjectPath) -> Response:
    """One project."""
    from engine.service import directory

    return jsonify(project_json(directory.read_project(_svc(), actor(), path.company_id, path.project_id)))


@bp.patch("/companies/<company_id>/projects/<project_id>", responses={200: ProjectRecord, **CHANGE_ERRORS})
def update_project(path: ProjectPath, body: ProjectPatch) -> Response:
    """Turn Payments, payment workflows (ROLL-1) or sandbox mode (ROLL-3) on or off on the project (Payments Admin)."""
    from engine.service import directory

    view = directory.update_project(_svc(), actor(), path.company_id, path.project_id, **body.changes(),
                                    idempotency_key=idempotency_key())
    return jsonify(project_json(view))


# ---------------------------------------------------------------- invoices


class InvoiceRecord(BaseModel):
    """An invoice as payments see it (GEN-1: the amount due is exact, a decimal string)."""

    id: str
    project_id: str
    number: str
    payee_id: str = Field(description="the payee company paid")
    payee_name: str
    amount_due: str = Field(description='US dollars, a decimal string with two decimals ("1250.00")')
    status: str
    approved_by: str | None = Field(description="the user who approved it (AUTH-5)")


class NewInvoice(BaseModel):
    """An Unpaid invoice to register (Payments Admin)."""

    model_config = ConfigDict(extra="forbid")

    payee: StrictStr = Field(description="the id of the payee company paid")
    number: StrictStr
    amount_due: Money
    approved_by: StrictStr | None = Field(default=None, description="the member who approved it (AUTH-5)")


def invoice_json(i: Any) -> dict[str, Any]:
    amount: Decimal = i.amount_due
    return {"id": i.id, "project_id": i.project_id, "number": i.number, "payee_id": i.payee_id,
            "payee_name": i.payee_name, "amount_due": str(amount), "status": i.status,
            "approved_by": i.approved_by}


@bp.get("/companies/<company_id>/projects/<project_id>/invoices",
        responses={200: Page[InvoiceRecord], **LIST_ERRORS})
def list_invoices(path: ProjectPath, query: PageQuery) -> Response:
    """The project's invoices, by number (readable as projects are)."""
    from engine.service import directory

    return paging.page(directory.list_invoices(_svc(), actor(), path.company_id, path.project_id,
                                               after=paging.after(query), limit=query.limit), invoice_json)


@bp.post("/companies/<company_id>/projects/<project_id>/invoices",
         responses={201: InvoiceRecord, **CHANGE_ERRORS})
def create_invoice(path: ProjectPath, body: NewInvoice) -> Response:
    """Register an Unpaid invoice on the project (Payments Admin); money is a string (a JSON number is 422)."""
    from engine.service import directory

    view = directory.create_invoice(_svc(), actor(), path.company_id, path.project_id, payee=body.payee,
                                    number=body.number, amount_due=str(body.amount_due),
                                    approved_by=body.approved_by, idempotency_key=idempotency_key())
    return created(invoice_json(view), f"/v1/companies/{path.company_id}/invoices/{view.id}")


@bp.get("/companies/<company_id>/invoices/<invoice_id>", responses={200: InvoiceRecord, **READ_ERRORS})
def get_invoice(path: InvoicePath) -> Response:
    """One invoice of the company."""
    from engine.service import directory

    return jsonify(invoice_json(directory.read_invoice(_svc(), actor(), path.company_id, path.invoice_id)))
