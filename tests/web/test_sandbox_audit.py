"""ROLL-4: audit entries about sandbox records say so — written into the entry itself (its details
carry ``"sandbox": true``, inside the hashed content) and shown by the history over HTTP — while
production entries carry no mark and read as before; on SQLite and PostgreSQL (where a response is
written by the one-statement hot path)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from engine.errors import DomainError
from engine.payments import account_lifecycle, authorization
from engine.payments.dispatch import move_money
from engine.payments import stored_bank
from engine.service import audit, directory
from engine.service.demo import seed_beneficiary_account, seed_funding_account
from engine.store.tables import AuditEntry
from tests.payments.authorizing import make_ready
from tests.web.test_api_directory import Api, api  # noqa: F401 - the fixture


@pytest.fixture
def ready(api: Api, clock):  # noqa: F811 - the fixture above
    api.svc.clock = clock
    return api, make_ready(api.svc, clock, api.w)


def _chain(svc, chain: str) -> list[AuditEntry]:
    with svc.db.sessions() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.chain == chain).order_by(AuditEntry.seq)))


@pytest.mark.rule("ROLL-4", "AUD-7")
def test_entries_about_sandbox_records_are_marked_as_tests_and_the_history_and_export_say_so(
        ready, clock, cli, tmp_path) -> None:
    api, r = ready
    svc = api.svc
    production = r.disbursement(("250.00", None))  # before the project goes to sandbox mode
    directory.update_project(svc, r.w.admin, r.w.company, r.w.project, sandbox=True)
    sandbox_funding = seed_funding_account(svc, r.w.admin, r.w.company, "Sandbox Operating",
                                           account_number="000111222333", sandbox=True)
    deposit = authorization_deposit(svc, r, sandbox_funding)
    account_lifecycle.verify(svc, r.w.admin, r.w.company, deposit)
    account_lifecycle.verify(svc, r.w.admin, r.w.company, sandbox_funding)
    payee = r.w.payee("Sandbox Supply")
    beneficiary = seed_beneficiary_account(svc, r.w.admin, r.w.company, payee, approver=r.w.admin,
                                           account_number="660000000001", sandbox=True)
    account_lifecycle.verify(svc, r.w.admin, r.w.company, beneficiary)
    r.beneficiary["Sandbox Supply"] = beneficiary
    r.w.funding, kept = sandbox_funding, r.w.funding
    d = r.disbursement(("400.00", None), vendor="Sandbox Supply")  # created, then approved by the Controller
    r.w.funding = kept
    with pytest.raises(DomainError):  # a refused attempt on it: an audited refusal about a sandbox record
        authorization.authorize(svc, r.w.admin, r.w.company, d, mfa_code=r.admin.wrong())
    authorization.authorize(svc, r.w.admin, r.w.company, d, mfa_code=r.admin.code())
    stored_bank.credit(svc.db, stored_bank.SANDBOX, sandbox_funding, "1000.00", now=clock())
    move_money(svc)  # the drawdown is submitted
    clock.moment = clock.moment.replace(hour=23, minute=0)  # 18:00 New York: it settles
    move_money(svc)  # the settlement's entries (engine.payments.settlement) are marked too

    # every entry on the sandbox disbursement's chain is marked, whichever writer wrote it
    entries = _chain(svc, audit.disbursement_chain(d))
    actions = [e.action for e in entries]
    assert {"disbursement_created", "workflow_started", "response_submitted", "end_reached",
            "disbursement_authorized", "funding_completed"} <= set(actions), actions
    assert all(e.details.get("sandbox") is True for e in entries), [(e.action, e.details) for e in entries]
    # the production disbursement's carry no mark at all (entries read and hash as they always did)
    assert all("sandbox" not in e.details for e in _chain(svc, audit.disbursement_chain(production)))
    # on the company chain: the sandbox accounts' entries and the refusal on the sandbox disbursement
    company = _chain(svc, audit.company_chain(r.w.company))
    about = {sandbox_funding, deposit, beneficiary}
    sandbox_accounts = [e for e in company if e.object_type == "bank_account" and e.object_id in about]
    assert len(sandbox_accounts) >= 5 and all(audit.is_sandbox(e.details) for e in sandbox_accounts)
    refusals = [e for e in company if e.action == "refused" and e.object_id == d]
    assert [e.details["code"] for e in refusals] == ["mfa_failed"] and audit.is_sandbox(refusals[0].details)
    production_accounts = [e for e in company if e.object_type == "bank_account" and e.object_id not in about]
    assert production_accounts and not any(audit.is_sandbox(e.details) for e in production_accounts)
    # the mark is part of the hashed entry: the chains verify
    with audit.snapshot(svc.db) as s:
        assert audit.verify(s) == []

    # over HTTP, the history says so, on the whole and on each event
    history = api.admin.get(f"{api.c}/disbursements/{d}/history")
    assert history.status_code == 200, history.get_json()
    body = history.get_json()
    assert body["sandbox"] is True and body["events"]
    assert all(e["sandbox"] is True and e["details"]["sandbox"] is True for e in body["events"])
    other = api.admin.get(f"{api.c}/disbursements/{production}/history").get_json()
    assert other["sandbox"] is False and other["events"]
    assert all(e["sandbox"] is False and "sandbox" not in e["details"] for e in other["events"])

    # payroute audit export: one JSON entry a line, each saying whether it is about a sandbox record
    url = svc.db.engine.url.render_as_string(hide_password=False)
    out = tmp_path / "audit.jsonl"
    result = cli("audit", "export", "--database-url", url, "--company", r.w.company, "-o", str(out))
    assert result.code == 0, result.err
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    with svc.db.sessions() as s:
        assert len(rows) == audit.count(s, company_id=r.w.company)
    assert all(set(row) == {*audit.EXPORTED, "sandbox"} for row in rows)
    assert [(row["chain"], row["seq"]) for row in rows] == sorted((row["chain"], row["seq"]) for row in rows)
    by_chain = {chain: [row for row in rows if row["chain"] == chain]
                for chain in (audit.disbursement_chain(d), audit.disbursement_chain(production))}
    assert len(by_chain[audit.disbursement_chain(d)]) == len(entries)
    assert all(row["sandbox"] is True for row in by_chain[audit.disbursement_chain(d)])
    assert by_chain[audit.disbursement_chain(production)]
    assert not any(row["sandbox"] for row in by_chain[audit.disbursement_chain(production)])
    marked = sum(row["sandbox"] for row in rows)
    assert f"exported {len(rows)} audit entries ({marked} about sandbox records" in result.err
    one = cli("audit", "export", "--database-url", url, "--chain", audit.disbursement_chain(d))
    assert one.code == 0 and [json.loads(line)["sandbox"] for line in one.out.splitlines()] == [True] * len(entries)


def authorization_deposit(svc, r, funding: str) -> str:
    from engine.payments import bank_accounts

    return bank_accounts.read_bank_account(svc, r.w.admin, r.w.company, funding).deposit_account_id
