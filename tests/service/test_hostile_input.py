"""Hostile input never ends in a traceback or a raw database error (both backends).

Every engine command below either succeeds or refuses with a registered
DomainError; the CLI answers a located one-line error. PostgreSQL refuses NUL
in text with a raw DataError where SQLite stores it, so the engine must refuse
it first, on both backends alike.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

import pytest

from engine.errors import ERRORS, DomainError
from engine.payments import bank_accounts
from tests.payments.banking import numbers
from engine.service import directory, disbursements, instances, templates
from engine.service.disbursements import PaymentLine
from engine.services import Services
from tests.world import World, build_world

ODD = ["", " ", "\x00", "a\x00b", "\ud800", "a\r\nb", "\u202eevil", "x" * 201, "x" * 10_000, "\t", "ok"]
WRONG = [None, 5, 10**400, 1.5, float("nan"), ["a"], {"a": 1}, b"bytes", Decimal("1")]


_PROBLEMS: list[str] = []


def add_funding(svc: Services, w: World, nickname: Any, **kwargs: Any) -> Any:
    """A funding account whose nickname is under test (refused before the deposit mapping and MFA)."""
    return bank_accounts.add_funding_account(svc, w.admin, w.company, nickname, bank_name="Bank", holder_name="GC",
                                             numbers=numbers(), deposit_account_id="0" * 32, mfa_code="000000",
                                             **kwargs)


def outcome(call: Callable[[], Any]) -> str:
    """``ok`` or the DomainError's code; any other exception is recorded and fails the test."""
    try:
        call()
    except DomainError as exc:
        assert exc.code in ERRORS
        return exc.code
    except Exception as exc:  # noqa: BLE001 - what this test hunts for: a raw driver error, a TypeError, ...
        _PROBLEMS.append(f"{type(exc).__name__}: {str(exc)[:120]!r} "
                         f"(the call on line {call.__code__.co_firstlineno})")
        return "error"
    return "ok"


@pytest.fixture(autouse=True)
def _no_problems() -> Any:
    _PROBLEMS.clear()
    yield
    problems, _PROBLEMS[:] = list(_PROBLEMS), []
    assert not problems, "\n".join(problems)


@pytest.fixture
def w(svc: Services) -> World:
    return build_world(svc)


@pytest.mark.parametrize("value", ODD + WRONG, ids=repr)
def test_directory_text(w: World, value: Any) -> None:
    svc = w.svc
    outcome(lambda: directory.create_user(svc, value, "Name"))
    outcome(lambda: directory.create_user(svc, "someone@x.example", value))
    outcome(lambda: directory.add_member(svc, w.admin, w.company, value))
    outcome(lambda: directory.create_company(svc, value, first_admin=w.admin))
    outcome(lambda: directory.create_project(svc, w.admin, w.company, directory.ProjectInfo(name=value)))
    outcome(lambda: directory.create_project(svc, w.admin, w.company,
                                             directory.ProjectInfo(name="P", office=value, sector=value)))
    outcome(lambda: directory.create_project(svc, w.admin, w.company,
                                             directory.ProjectInfo(name="Q", attributes={"k": value})))
    outcome(lambda: directory.create_invoice(svc, w.admin, w.company, w.project, payee=w.payee("Acme Concrete"),
                                             number=value, amount_due="10.00"))
    outcome(lambda: directory.create_invoice(svc, w.admin, w.company, w.project, payee=w.payee("Acme Concrete"),
                                             number="N-1", amount_due=value))
    outcome(lambda: directory.create_invoice(svc, w.admin, w.company, w.project, payee=value,
                                             number="N-2", amount_due="10.00"))
    outcome(lambda: directory.create_group(svc, w.admin, w.company, value))
    outcome(lambda: add_funding(svc, w, value))
    outcome(lambda: templates.create_template(svc, w.admin, w.company, value))
    outcome(lambda: templates.rename(svc, w.admin, w.company, w.template, value))


@pytest.mark.parametrize("value", ODD + WRONG + [[None], [["2026-01-01"]], [{"a": 1}], [10**400], ["\ud800"],
                                                 [float("nan")], {date(2026, 1, 1)}], ids=repr)
def test_settings(w: World, value: Any) -> None:
    for key in ("time_zone", "holidays", "segregation", "workflows_enabled"):
        outcome(lambda: directory.update_settings(w.svc, w.admin, w.company, **{key: value}))
        outcome(lambda: directory.validate_settings({key: value}))


@pytest.mark.parametrize("key", ODD + WRONG, ids=repr)
def test_idempotency_keys(w: World, key: Any) -> None:
    outcome(lambda: add_funding(w.svc, w, "Ops", idempotency_key=key))


@pytest.mark.parametrize("body", [{date(2026, 1, 1)}, Decimal("1.5"), b"\xff", object(), {1, "a"}, 10**400,
                                  float("nan"), "\ud800", "\x00"], ids=repr)
def test_idempotency_bodies(w: World, body: Any) -> None:
    outcome(lambda: directory.update_settings(w.svc, w.admin, w.company, holidays=body, idempotency_key="k1"))
    outcome(lambda: directory.create_group(w.svc, w.admin, w.company, "G", members=body, idempotency_key="k2"))


@pytest.mark.parametrize("value", ODD + WRONG + [-1, 0, 10**30], ids=repr)
def test_disbursements_and_workflows(w: World, value: Any) -> None:
    svc = w.svc
    inv = w.invoice("100.00")
    outcome(lambda: disbursements.create_disbursement(
        svc, w.creator, w.company, project_id=w.project, funding_account=w.funding,
        payments=[PaymentLine(inv, amount=value)]))
    outcome(lambda: disbursements.create_disbursement(
        svc, w.creator, w.company, project_id=w.project, funding_account=w.funding,
        payments=[PaymentLine(inv, amount="50.00", note=value)]))
    inv2 = w.invoice("100.00")
    d = disbursements.create_disbursement(svc, w.creator, w.company, project_id=w.project,
                                          funding_account=w.funding, payments=[PaymentLine(inv2)]).id
    outcome(lambda: instances.respond(svc, w.controller, w.company, d, occurrence=value, answer="Approve"))
    outcome(lambda: instances.respond(svc, w.controller, w.company, d, occurrence=1, answer=value))
    outcome(lambda: instances.respond(svc, w.controller, w.company, d, occurrence=1, answer="Approve",
                                      comment=value))
    outcome(lambda: instances.add_assignees(svc, w.manager, w.company, d, users=[w.cfo], reason=value))
    outcome(lambda: instances.add_assignees(svc, w.manager, w.company, d, users=[w.cfo], reason="other",
                                            comment=value))
    outcome(lambda: disbursements.edit_payments(svc, w.admin, w.company, d, add=[PaymentLine(inv)], reason=value))
    outcome(lambda: disbursements.change_funding_account(svc, w.admin, w.company, d, funding_account=w.funding,
                                                         reason=value))
    outcome(lambda: disbursements.cancel(svc, w.admin, w.company, d, reason=value))


@pytest.mark.parametrize("value", ["a\x00b", "\ud800", "x" * 201], ids=repr)
def test_what_one_backend_would_store_both_refuse_alike(w: World, value: str) -> None:
    """SQLite would store NUL and over-long text; PostgreSQL raised a raw DataError. Now both refuse first."""
    svc = w.svc
    assert outcome(lambda: directory.create_project(svc, w.admin, w.company, directory.ProjectInfo(name=value))) \
        == "invalid_value"
    assert outcome(lambda: directory.create_user(svc, "x@y.example", value)) == "invalid_name"
    assert outcome(lambda: templates.create_template(svc, w.admin, w.company, value)) == "invalid_name"
    assert outcome(lambda: add_funding(svc, w, value)) \
        == "invalid_bank_account"
    assert outcome(lambda: add_funding(svc, w, "Ops", idempotency_key=value)) == "invalid_idempotency_key"
    assert outcome(lambda: directory.add_member(svc, w.admin, w.company, value)) == "invalid_email"


# ------------------------------------------------------------------ CLI


CHECKPOINTS: list[bytes] = [
    b"\xff\xfe not utf-8",
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    b"9" * 10_000,
    json.dumps({"format": "payroute-audit-checkpoint", "version": 1, "chains": [], "created_at": "x",
                "key_id": "k", "development_key": True, "entries": 1e999, "signature": "s"}).encode(),
    json.dumps({"format": "payroute-audit-checkpoint", "version": 1, "chains": [], "created_at": "x",
                "key_id": "k", "development_key": True, "entries": 1, "signature": "\u00e9"}).encode(),
    json.dumps({"format": "payroute-audit-checkpoint", "version": 1, "chains": [], "created_at": "x",
                "key_id": "\ud800", "development_key": True, "entries": 1, "signature": "s"}).encode(),
    json.dumps({"format": "payroute-audit-checkpoint", "version": 1, "chains": [{"chain": "\ud800", "seq": 1,
                "hash": "h"}], "created_at": "x", "key_id": "k", "development_key": True, "entries": 1,
                "signature": "s"}).encode(),
    b"",
]


@pytest.mark.parametrize("content", CHECKPOINTS, ids=lambda c: repr(c[:30]))
def test_audit_verify_against_hostile_checkpoint(database_url: str, cli: Any, tmp_path: Path, content: bytes,
                                                 svc: Services) -> None:
    build_world(svc)
    path = tmp_path / "cp.json"
    path.write_bytes(content)
    r = cli("audit", "verify", "--against", str(path), "--database-url", database_url)
    assert "Traceback" not in r.err and "bug in payroute" not in r.err, r.err
    assert r.code != 0
    if r.code == 1:  # read, but its signature does not verify: reported, never compared with
        assert f"broken: checkpoint {path}: its signature does not verify" in r.out, r.out
    else:
        last = r.err.strip().splitlines()[-1]
        assert last.startswith("payroute audit: ") and str(path) in last, r.err


@pytest.mark.parametrize("ident", ["\x00", "a\x00b", "\ud800", "x" * 10_000, "\u202e", "'; drop table x; --",
                                   "-", " "], ids=repr)
def test_worker_retry_odd_ids(database_url: str, cli: Any, ident: str, svc: Services) -> None:
    build_world(svc)
    r = cli("worker", "retry", ident, "--database-url", database_url)
    assert "Traceback" not in r.err
    assert r.code != 0 and r.err.startswith("payroute") and "bug in payroute" not in r.err, r.err
    r = cli("worker", "status", "--database-url", database_url)
    assert r.code == 0, r.err
