"""The disbursement document: what a workflow routes (facts come from it, COND-5..COND-9).

One document describes one disbursement as the engine sees it: its project,
its creator, its funding account and its invoice payments. The same shape is
published as ``schemas/disbursement.schema.json`` (generated from the model
below), so a program that validates with the schema and payroute agree.

Why the validators are hand-written rather than pydantic's defaults:

- Money must never pass through ``float`` (GEN-1), and a JSON *number* for
  money is refused rather than converted (GEN-2): by the time it reaches us it
  may already have been rounded by a binary float. :func:`engine.money.parse_money`
  owns that rule and its messages.
- Every problem is reported with a location a person can find in their JSON
  (``invoices[2].amount``) and a sentence, never pydantic's internals.

The value rules themselves (patterns, limits) and :class:`DisbursementError`
live in :mod:`engine.spec.disbursement_rules`, which imports no pydantic, and are
re-exported here.
"""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StrictStr,
    ValidationError,
    WithJsonSchema,
)

from engine.money import MoneyError, MoneyTooLarge, parse_money
from engine.spec.disbursement_rules import (
    DATE_BODY,
    DATE_PATTERN,
    EMAIL_BODY,
    EMAIL_PATTERN,
    MAX_INVOICES,
    MAX_MONEY_DIGITS,
    MONEY_BODY,
    MONEY_PATTERN,
    POSITIVE_MONEY_BODY,
    POSITIVE_MONEY_PATTERN,
    SCHEMA_ID,
    DisbursementError,
    Problem,
    format_location,
)

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

__all__ = [
    "SCHEMA_ID",
    "MAX_INVOICES",
    "MAX_MONEY_DIGITS",
    "MONEY_BODY",
    "POSITIVE_MONEY_BODY",
    "EMAIL_BODY",
    "DATE_BODY",
    "MONEY_PATTERN",
    "POSITIVE_MONEY_PATTERN",
    "EMAIL_PATTERN",
    "DATE_PATTERN",
    "Project",
    "Invoice",
    "Disbursement",
    "DisbursementError",
    "Problem",
    "parse_disbursement",
    "problem_message",
    "parse_disbursement_json",
    "format_location",
]

_EMAIL = re.compile(EMAIL_PATTERN)
_DATE = re.compile(DATE_PATTERN)


# ---------------------------------------------------------------- value validators
#
# Each raises ValueError with the sentence the user sees; pydantic attaches the
# location and :func:`_problems` strips pydantic's "Value error, " prefix.


def _json_kind(value: object) -> str:
    """What a Python value was in JSON, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, Decimal)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _money(value: object) -> Decimal:
    try:
        return parse_money(value)
    except MoneyTooLarge as exc:
        raise ValueError(str(exc)) from None
    except MoneyError as exc:
        raise ValueError(f"{exc} (GEN-2)") from None


def _positive_money(value: object) -> Decimal:
    amount = _money(value)
    if amount <= 0:
        raise ValueError("a payment amount must be more than $0.00 (DSB-2)")
    return amount


def _optional_money(value: object) -> Decimal | None:
    return None if value is None else _money(value)


def _email(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be an email address in a string, not {_json_kind(value)}")
    if _EMAIL.search(value) is None:
        raise ValueError(f"`{value}` is not an email address such as \"ana@example.com\"")
    return value


def _optional_email(value: object) -> str | None:
    return None if value is None else _email(value)


def _optional_date(value: object) -> date | None:
    if value is None or value == "":  # empty, like every optional project field (COND-9)
        return None
    if not isinstance(value, str):
        raise ValueError(f"must be a date string such as \"2024-01-31\", not {_json_kind(value)}")
    if _DATE.search(value) is None:
        raise ValueError(f"`{value}` is not a date such as \"2024-01-31\"")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"`{value}` is not a real calendar date") from None


_MONEY_SCHEMA = {"type": "string", "pattern": MONEY_PATTERN,
                 "description": "US dollars as a decimal string such as \"1250.50\": at most two decimals "
                                "and 15 digits before the point, never a JSON number (GEN-2)"}

Text = Annotated[StrictStr, Field(min_length=1)]
_EMAIL_SCHEMA = {"type": "string", "format": "email", "pattern": EMAIL_PATTERN}
Email = Annotated[str, PlainValidator(_email), WithJsonSchema(_EMAIL_SCHEMA)]
OptionalEmail = Annotated[str | None, PlainValidator(_optional_email), WithJsonSchema(
    {"anyOf": [_EMAIL_SCHEMA, {"type": "null"}]})]
Money = Annotated[Decimal, PlainValidator(_money), WithJsonSchema(_MONEY_SCHEMA)]
PositiveMoney = Annotated[Decimal, PlainValidator(_positive_money), WithJsonSchema(
    {**_MONEY_SCHEMA, "pattern": POSITIVE_MONEY_PATTERN,
     "description": "the payment amount (paid now, COND-7): like other money, and more than 0 (DSB-2)"})]
OptionalMoney = Annotated[Decimal | None, PlainValidator(_optional_money), WithJsonSchema(
    {"anyOf": [_MONEY_SCHEMA, {"type": "null"}]})]
OptionalDate = Annotated[date | None, PlainValidator(_optional_date), WithJsonSchema(
    {"anyOf": [{"type": "string", "format": "date", "pattern": DATE_PATTERN}, {"const": ""}, {"type": "null"}]})]


# ---------------------------------------------------------------- the model


class Project(BaseModel):
    """The disbursement's project (DSB-4: one project); each field is a `project.<field>` fact."""

    model_config = ConfigDict(frozen=True, extra="allow", use_attribute_docstrings=True)
    __pydantic_extra__: dict[str, StrictStr | None]

    id: Text
    """the project's id"""
    name: Text
    """the project's name"""
    office: StrictStr | None = None
    """the office running the project (`project.office`); empty when absent, null or an empty string"""
    sector: StrictStr | None = None
    """the market sector (`project.sector`); empty when absent, null or an empty string"""
    start_date: OptionalDate = None
    """the project's start date, YYYY-MM-DD (`project.start_date`, a date fact); empty when absent, null or an empty string"""

    def field_value(self, field: str) -> str | date | None:
        """The value of ``project.<field>``, None when the project has none (COND-9)."""
        if field in type(self).model_fields:
            value = getattr(self, field)
        else:
            value = (self.model_extra or {}).get(field)
        return None if value == "" else value


class Invoice(BaseModel):
    """One invoice payment of the disbursement."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    id: Text
    """the invoice's id"""
    vendor: Text
    """the vendor (payee) being paid"""
    amount: PositiveMoney
    """the payment amount: what is paid now, not the amount due (COND-7)"""
    amount_due: OptionalMoney = None
    """the invoice's amount due, when known"""
    retainage_released: Money = Decimal("0.00")
    """retainage released by this payment; "0.00" when none (COND-9)"""
    status: Text | None = None
    """the invoice's status, such as `Approved`, when known (routing does not read it)"""
    approved_by: OptionalEmail = None
    """who last approved the invoice, when known: what segregation of duties reads (AUTH-5)"""


class Disbursement(BaseModel):
    """A disbursement as routed by a workflow: see ``schemas/disbursement.schema.json``."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    id: Text
    """the disbursement's id"""
    project: Project
    created_by: Email
    """the Admin or Disburser who created it (DSB-11), the item creator"""
    funding_account: Text
    """the id of the funding account it draws from (DSB-7)"""
    invoices: Annotated[tuple[Invoice, ...], Field(min_length=1, max_length=MAX_INVOICES)]
    """the invoice payments, 1 to 100 (DSB-1)"""


# ---------------------------------------------------------------- parsing with located errors

_FIELDS_AT: dict[str, tuple[str, ...]] = {
    "": tuple(Disbursement.model_fields),
    "invoice": tuple(Invoice.model_fields),
}


def _did_you_mean(word: str, container: str) -> str:
    from engine.diagnostics import did_you_mean  # the shared leaf module; only errors pay for it

    hint = did_you_mean(word, _FIELDS_AT.get(container, ()))
    return f" ({hint})" if hint else ""


def problem_message(err: ErrorDetails) -> str | None:
    """The sentence for one pydantic error of a :class:`Disbursement`, located at ``err["loc"]``
    relative to the disbursement; None when another error on its items already says why.

    Public so that a model embedding disbursements (the HTTP service's request
    bodies) reports the same sentences with its own location (a JSON Pointer).
    """
    kind = err["type"]
    loc = err["loc"]
    value = err.get("input")
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        container = "invoice" if len(loc) == 3 and loc[0] == "invoices" else ""
        allowed = ", ".join(_FIELDS_AT.get(container, ()))
        return f"unknown field{_did_you_mean(str(loc[-1]), container)}; the fields are {allowed}"
    if kind == "string_type":
        return f"must be a string, not {_json_kind(value)}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "too_short" and tuple(loc) == ("invoices",):
        if isinstance(value, (list, tuple)) and value:
            return None  # pydantic counts items *after* validation: the items' own errors say why
        return "a disbursement needs at least one invoice payment (DSB-1)"
    if kind == "too_long" and tuple(loc) == ("invoices",):
        n = len(value) if isinstance(value, (list, tuple)) else "more"
        return f"a disbursement holds at most {MAX_INVOICES} invoice payments, this one has {n} (DSB-1)"
    if kind in ("tuple_type", "list_type"):
        return f"must be an array, not {_json_kind(value)}"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        if not loc:
            return f"a disbursement must be a JSON object, not {_json_kind(value)}"
        return f"must be an object, not {_json_kind(value)}"
    if kind == "value_error":
        return str(err["ctx"]["error"])
    return str(err["msg"])


def _problems(exc: ValidationError) -> list[Problem]:
    out: list[Problem] = []
    for err in exc.errors(include_url=False):
        message = problem_message(err)
        if message is not None:
            out.append((format_location(err["loc"]), message))
    return out


def parse_disbursement(data: object) -> Disbursement:
    """Validate a decoded JSON value (dicts, lists, strings) into a :class:`Disbursement`.

    Raises :class:`DisbursementError` listing every problem, each located.
    """
    if isinstance(data, Disbursement):
        return data
    try:
        return Disbursement.model_validate(data)
    except ValidationError as exc:
        raise DisbursementError(_problems(exc)) from None


def parse_disbursement_json(text: str | bytes) -> Disbursement:
    """Decode JSON text and validate it; invalid JSON is a :class:`DisbursementError` too."""
    try:
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise
        except ValueError:
            # An integer past int()'s digit limit (sys.get_int_max_str_digits()).
            # No field of a disbursement is a number, so its value does not
            # matter: read as a float, it is refused where it stands ("not a
            # JSON number"), located like any other.
            data = json.loads(text, parse_int=float)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}" if "\n" in exc.doc else f"column {exc.colno}"
        raise DisbursementError([("", f"invalid JSON: {exc.msg} at {where}")]) from None
    except UnicodeDecodeError as exc:
        raise DisbursementError([("", f"not UTF-8 text (byte {exc.start})")]) from None
    except RecursionError:
        raise DisbursementError([("", "invalid JSON: nested too deeply")]) from None
    return parse_disbursement(data)
