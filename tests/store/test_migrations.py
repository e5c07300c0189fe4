"""Alembic: an empty database upgraded to head matches the models exactly."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData, insert, text

from engine.errors import DomainError
from engine.payments import bank_accounts
from engine.security import permissions
from engine.service.demo import seed_funding_account, seed_role
from engine.security.permissions import PAYMENTS_ADMIN, PAYMENTS_DISBURSER
from engine.service import directory, disbursements
from engine.services import Services
from engine.store.db import Database, make_engine
from engine.store.migrate import alembic_config, current_heads, upgrade
from engine.store.tables import BankAccount, Base, Company, Disbursement, DisbursementItem, Invoice, Membership

#: the newest revision
HEAD = "0012"


def test_upgrade_empty_database_to_head_matches_models(database_url: str) -> None:
    upgrade(database_url)
    assert current_heads(database_url) == [HEAD]
    assert _schema_diff(database_url) == []


def _schema_diff(url: str) -> list:
    """What autogenerate would change to make the database match the models (types compared)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    finally:
        engine.dispose()


def test_upgrade_is_idempotent(database_url: str) -> None:
    upgrade(database_url)
    upgrade(database_url)
    assert current_heads(database_url) == [HEAD]


def _seed_0001(url: str) -> dict[str, str]:
    """Rows as revision 0001 stored them: free `vendor` and `funding_account` strings. Two
    companies pay a vendor called "Acme Concrete"; one spells its funding account two ways."""
    now = datetime(2026, 3, 2, 14, 0, tzinfo=timezone.utc)
    ids = {k: uuid.uuid4().hex for k in ("gc", "other", "admin", "project", "other_project", "d1", "d2", "d3",
                                           "i1", "i2", "i3", "i4")}
    engine = make_engine(url)
    try:
        meta = MetaData()
        meta.reflect(engine)
        t = meta.tables
        with engine.begin() as conn:
            conn.execute(insert(t["users"]), [{"id": ids["admin"], "email": "admin@gc.example", "name": "Admin",
                                               "active": True}])
            conn.execute(insert(t["companies"]), [
                {"id": ids[c], "name": name, "time_zone": "America/New_York", "holidays": [],
                 "workflows_enabled": True, "segregation": "invoice_approver", "default_template_id": None,
                 "is_payee": False, "lock_version": 0} for c, name in (("gc", "GC Builders"), ("other", "Other GC"))])
            conn.execute(insert(t["grants"]), [{"company_id": ids["gc"], "user_id": ids["admin"],
                                                "permission": "payments_admin"}])
            conn.execute(insert(t["projects"]), [
                {"id": ids[p], "company_id": ids[c], "name": "Tower A", "attributes": {},
                 "payment_workflows_enabled": True} for p, c in (("project", "gc"), ("other_project", "other"))])
            conn.execute(insert(t["disbursements"]), [
                {"id": ids[d], "company_id": ids[c], "project_id": ids[p], "is_draft": False,
                 "created_by": ids["admin"], "funding_account": fa, "workflow_applies": False,
                 "drawdown_status": "Draft", "created_at": now, "updated_at": now, "lock_version": 1}
                for d, c, p, fa in (("d1", "gc", "project", "FA-1"), ("d2", "gc", "project", "fa-1"),
                                    ("d3", "other", "other_project", "FA-1"))])
            conn.execute(insert(t["invoices"]), [
                {"id": ids[i], "company_id": ids[c], "project_id": ids[p], "vendor": vendor, "number": i,
                 "amount_due": Decimal("100.00"), "status": "Unpaid", "approved_by": ids["admin"],
                 "reserved_by": ids[d], "lock_version": 0}
                for i, c, p, d, vendor in (("i1", "gc", "project", "d1", "Acme Concrete"),
                                           ("i2", "gc", "project", "d2", "Acme Concrete"),
                                           ("i3", "gc", "project", "d2", "Bay Steel"),
                                           ("i4", "other", "other_project", "d3", "Acme Concrete"))])
            conn.execute(insert(t["disbursement_items"]), [
                {"disbursement_id": ids[d], "invoice_id": ids[i], "position": 0, "amount": Decimal("100.00"),
                 "retainage_released": Decimal("0.00"), "payment_status": "Not Initiated"}
                for d, i in (("d1", "i1"), ("d2", "i2"), ("d2", "i3"), ("d3", "i4"))])
    finally:
        engine.dispose()
    return ids


@pytest.mark.rule("BANK-7", "DSB-7")
def test_upgrading_0001_turns_vendor_and_funding_strings_into_references(database_url: str, clock) -> None:
    """0002b: each (company, vendor) becomes a payee company its invoices point to; each (company,
    funding account text, ignoring case) becomes one funding account its disbursements point to;
    the engine then works on the migrated rows."""
    upgrade(database_url, "0001")
    ids = _seed_0001(database_url)
    upgrade(database_url)
    assert current_heads(database_url) == [HEAD]
    db = Database(database_url)
    try:
        with db.sessions() as s:
            payee = {i: s.get(Company, s.get(Invoice, ids[i]).payee_company_id) for i in ("i1", "i2", "i3", "i4")}
            assert payee["i1"] is payee["i2"] and payee["i1"].name == "Acme Concrete"
            assert payee["i3"].name == "Bay Steel"
            assert payee["i4"].name == "Acme Concrete" and payee["i4"].id != payee["i1"].id  # one per payor
            assert all(p.is_payee for p in payee.values())
            assert s.get(Invoice, ids["i1"]).approved_by == ids["admin"]
            account = {d: s.get(BankAccount, s.get(Disbursement, ids[d]).funding_account_id)
                       for d in ("d1", "d2", "d3")}
            assert account["d1"] is account["d2"] and account["d1"].company_id == ids["gc"]
            assert account["d3"].company_id == ids["other"] and account["d3"].id != account["d1"].id
            assert {(a.kind, a.nickname, a.active) for a in account.values()} == {("funding", "FA-1", True)}
        svc = Services(db, clock=clock)
        with pytest.raises(DomainError) as e:  # the migrated nickname is taken, ignoring case
            seed_funding_account(svc, ids["admin"], ids["gc"], "fa-1")
        assert (e.value.code, e.value.rule) == ("duplicate_nickname", "BANK-7")
        reserve = seed_funding_account(svc, ids["admin"], ids["gc"], "Reserve")
        disbursements.change_funding_account(svc, ids["admin"], ids["gc"], ids["d1"], funding_account=reserve)
        inv = directory.create_invoice(svc, ids["admin"], ids["gc"], ids["project"],
                                       payee=payee["i3"].id, number="N-1", amount_due="5.00").id
        with db.sessions() as s:
            assert s.get(Disbursement, ids["d1"]).funding_account_id == reserve
            assert s.get(Invoice, inv).payee_company_id == payee["i3"].id
    finally:
        db.dispose()


def test_downgrading_0002b_restores_the_strings(database_url: str) -> None:
    upgrade(database_url, "0001")
    ids = _seed_0001(database_url)
    upgrade(database_url)
    command.downgrade(alembic_config(database_url), "0001")
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            vendors = dict(conn.execute(text("SELECT id, vendor FROM invoices")).all())
            accounts = dict(conn.execute(text("SELECT id, funding_account FROM disbursements")).all())
    finally:
        engine.dispose()
    assert vendors == {ids["i1"]: "Acme Concrete", ids["i2"]: "Acme Concrete", ids["i3"]: "Bay Steel",
                       ids["i4"]: "Acme Concrete"}
    assert accounts == {ids["d1"]: "FA-1", ids["d2"]: "FA-1", ids["d3"]: "FA-1"}


def _old_rows(url: str) -> None:
    """A 0001 database as the engine wrote it: global users.active, NUMERIC money."""
    def table(name: str, *cols: sa.ColumnClause) -> sa.TableClause:
        return sa.table(name, *cols)

    s, b, n, dt = sa.String, sa.Boolean, sa.Numeric(14, 2), sa.DateTime(timezone=True)
    now = datetime(2026, 3, 2, 14, 0, tzinfo=timezone.utc)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(table("users", sa.column("id", s), sa.column("email", s), sa.column("name", s),
                               sa.column("active", b)).insert(),
                         [{"id": "u-admin", "email": "admin@gc.example", "name": "Admin", "active": True},
                          {"id": "u-gone", "email": "gone@gc.example", "name": "Gone", "active": False},
                          {"id": "u-none", "email": "none@gc.example", "name": "No grant", "active": True}])
            conn.execute(table("companies", sa.column("id", s), sa.column("name", s), sa.column("time_zone", s),
                               sa.column("holidays", sa.JSON), sa.column("workflows_enabled", b),
                               sa.column("segregation", s), sa.column("is_payee", b),
                               sa.column("lock_version", sa.Integer)).insert(),
                         [{"id": "c-1", "name": "GC", "time_zone": "America/New_York", "holidays": [],
                           "workflows_enabled": True, "segregation": "invoice_approver", "is_payee": False,
                           "lock_version": 0}])
            conn.execute(table("grants", sa.column("company_id", s), sa.column("user_id", s),
                               sa.column("permission", s)).insert(),
                         [{"company_id": "c-1", "user_id": "u-admin", "permission": PAYMENTS_ADMIN},
                          {"company_id": "c-1", "user_id": "u-admin", "permission": PAYMENTS_DISBURSER},
                          {"company_id": "c-1", "user_id": "u-gone", "permission": PAYMENTS_DISBURSER}])
            conn.execute(table("projects", sa.column("id", s), sa.column("company_id", s), sa.column("name", s),
                               sa.column("attributes", sa.JSON), sa.column("payment_workflows_enabled", b)).insert(),
                         [{"id": "p-1", "company_id": "c-1", "name": "Tower", "attributes": {},
                           "payment_workflows_enabled": True}])
            conn.execute(table("invoices", sa.column("id", s), sa.column("company_id", s), sa.column("project_id", s),
                               sa.column("vendor", s), sa.column("number", s), sa.column("amount_due", n),
                               sa.column("status", s), sa.column("approved_by", s),
                               sa.column("lock_version", sa.Integer)).insert(),
                         [{"id": "i-1", "company_id": "c-1", "project_id": "p-1", "vendor": "Acme", "number": "1",
                           "amount_due": Decimal("999999999999.99"), "status": "Unpaid", "approved_by": "u-gone",
                           "lock_version": 0},
                          {"id": "i-2", "company_id": "c-1", "project_id": "p-1", "vendor": "Acme", "number": "2",
                           "amount_due": Decimal("0.07"), "status": "Unpaid", "approved_by": None,
                           "lock_version": 0}])
            conn.execute(table("disbursements", sa.column("id", s), sa.column("company_id", s),
                               sa.column("project_id", s), sa.column("is_draft", b), sa.column("workflow_applies", b),
                               sa.column("drawdown_status", s), sa.column("updated_at", dt),
                               sa.column("lock_version", sa.Integer)).insert(),
                         [{"id": "d-1", "company_id": "c-1", "project_id": "p-1", "is_draft": True,
                           "workflow_applies": False, "drawdown_status": "Draft", "updated_at": now,
                           "lock_version": 1}])
            conn.execute(table("disbursement_items", sa.column("disbursement_id", s), sa.column("invoice_id", s),
                               sa.column("position", sa.Integer), sa.column("amount", n),
                               sa.column("retainage_released", n), sa.column("payment_status", s)).insert(),
                         [{"disbursement_id": "d-1", "invoice_id": "i-1", "position": 0,
                           "amount": Decimal("123456789012.34"), "retainage_released": Decimal("0.10"),
                           "payment_status": "Not Initiated"}])
    finally:
        engine.dispose()


@pytest.mark.rule("GEN-1", "GEN-5")
def test_upgrading_a_0001_database_keeps_members_and_exact_amounts(database_url: str) -> None:
    """GEN-5: each (company, user) with a grant becomes a member, active as before; GEN-1: cents exact."""
    upgrade(database_url, "0001")
    _old_rows(database_url)
    upgrade(database_url)
    assert current_heads(database_url) == [HEAD]
    db = Database(database_url)
    try:
        with db.sessions() as s:
            members = {(m.company_id, m.user_id, m.active) for m in s.scalars(sa.select(Membership))}
            assert members == {("c-1", "u-admin", True), ("c-1", "u-gone", False)}
            assert permissions.held(s, "c-1", "u-admin") == {PAYMENTS_ADMIN, PAYMENTS_DISBURSER}
            assert permissions.held(s, "c-1", "u-gone") == set()
            amounts = {i.id: i.amount_due for i in s.scalars(sa.select(Invoice))}
            assert {k: str(v) for k, v in amounts.items()} == {"i-1": "999999999999.99", "i-2": "0.07"}
            item = s.scalars(sa.select(DisbursementItem)).one()
            assert (str(item.amount), str(item.retainage_released)) == ("123456789012.34", "0.10")
            stored = s.scalar(sa.text("SELECT amount_due FROM invoices WHERE id = 'i-1'"))
            assert isinstance(stored, int) and stored == 99999999999999  # whole cents, not a float
        # the migrated company works through the engine: members act, non-members are not found
        svc = Services(db, clock=lambda: datetime(2026, 3, 2, 14, 0, tzinfo=timezone.utc))
        directory.set_user_active(svc, "u-admin", "c-1", "u-gone", True)
        directory.add_member(svc, "u-admin", "c-1", "none@gc.example")
        seed_role(svc, "u-admin", "c-1", "u-none", PAYMENTS_DISBURSER)  # the Admin has no MFA yet
        with db.sessions() as s:
            assert permissions.eligible_users(s, "c-1") == {"u-admin", "u-gone", "u-none"}
    finally:
        db.dispose()
    assert _schema_diff(database_url) == []


def test_downgrading_0002_restores_the_old_columns(database_url: str) -> None:
    upgrade(database_url, "0001")
    _old_rows(database_url)
    upgrade(database_url)
    command.downgrade(alembic_config(database_url), "0001")
    assert current_heads(database_url) == ["0001"]
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            users = {r.id: r.active for r in conn.execute(sa.text("SELECT id, active FROM users"))}
            assert {k: bool(v) for k, v in users.items()} == {"u-admin": True, "u-gone": False, "u-none": True}
            due = conn.execute(sa.select(sa.column("amount_due", sa.Numeric(14, 2)))
                               .select_from(sa.table("invoices")).where(sa.text("id = 'i-2'"))).scalar_one()
            assert due == Decimal("0.07")
            assert sa.inspect(conn).has_table("memberships") is False
    finally:
        engine.dispose()


@pytest.mark.rule("ROLE-12")
def test_0006_adds_api_tokens_and_downgrading_drops_them(database_url: str, clock) -> None:
    """0006: api_tokens (the hash unique and indexed) on an upgraded database works through the
    engine; downgrading to 0005 drops the table, and upgrading again matches the models."""
    from engine.service import tokens

    upgrade(database_url, "0005")
    upgrade(database_url)
    assert current_heads(database_url) == [HEAD]
    db = Database(database_url)
    try:
        svc = Services(db, clock=clock)
        directory.create_user(svc, "ops@gc.example", "Ops")
        minted = tokens.mint(svc, "ops@gc.example", name="ci")
        assert tokens.authenticate(svc, minted.secret).token_id == minted.token.id
    finally:
        db.dispose()
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            indexes = {i["name"]: i["unique"] for i in sa.inspect(conn).get_indexes("api_tokens")}
        assert indexes == {"ix_api_tokens_token_hash": True, "ix_api_tokens_user_id": False}
    finally:
        engine.dispose()
    command.downgrade(alembic_config(database_url), "0005")
    assert current_heads(database_url) == ["0005"]
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            assert sa.inspect(conn).has_table("api_tokens") is False
            assert conn.execute(text("SELECT count(*) FROM users")).scalar_one() == 1
    finally:
        engine.dispose()
    upgrade(database_url)
    assert _schema_diff(database_url) == []


def test_0007_adds_mfa_enrollments_and_signed_out_at_and_downgrading_drops_them(database_url: str) -> None:
    """0007: users keep their rows (signed_out_at null), mfa_enrollments exists; downgrading to
    0006 drops both, and upgrading again matches the models."""
    upgrade(database_url, "0006")
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:  # the models already have the new column: a row as 0006 stored it
            conn.execute(text("INSERT INTO users (id, email, name) VALUES ('u1', 'ops@gc.example', 'Ops')"))
    finally:
        engine.dispose()
    upgrade(database_url)
    assert current_heads(database_url) == [HEAD]
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT signed_out_at FROM users")).scalars().all() == [None]
            assert sa.inspect(conn).has_table("mfa_enrollments")
    finally:
        engine.dispose()
    command.downgrade(alembic_config(database_url), "0006")
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            assert sa.inspect(conn).has_table("mfa_enrollments") is False
            assert "signed_out_at" not in {c["name"] for c in sa.inspect(conn).get_columns("users")}
            assert conn.execute(text("SELECT count(*) FROM users")).scalar_one() == 1
    finally:
        engine.dispose()
    upgrade(database_url)
    assert _schema_diff(database_url) == []


def _json(value):
    import json

    return json.loads(value) if isinstance(value, str) else value


def _instance_rows(url: str) -> list[tuple]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(
                "SELECT id, state, first_seq, last_seq, open_seq, open_step, open_due, open_assignees, "
                "open_replaced, open_answered, assigned FROM workflow_instances ORDER BY id"))]
    finally:
        engine.dispose()


def test_0008_moves_occurrences_into_the_instance_row_and_back(database_url: str) -> None:
    """0008: each instance's occurrences and responses become its ``state`` (with the open
    occurrence's copy in ``open_*``); downgrading to 0007 writes them back into their tables,
    and upgrading again gives every instance row exactly what the engine wrote."""
    from dsl.load import load_workflow
    from engine.service.demo import seed_demo
    from tests.world import REFERENCE

    upgrade(database_url)
    db = Database(database_url)
    try:
        seed_demo(Services(db), load_workflow(REFERENCE, "workflow.flow"))  # instances in every state
    finally:
        db.dispose()
    written = _instance_rows(database_url)
    assert any(r[4] is not None for r in written) and any(r[4] is None for r in written)

    command.downgrade(alembic_config(database_url), "0007")
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            occurrences = conn.execute(text("SELECT count(*) FROM occurrences")).scalar_one()
            responses = conn.execute(text("SELECT count(*) FROM responses")).scalar_one()
    finally:
        engine.dispose()
    assert occurrences == sum(len(_json(r[1])) for r in written)
    assert responses == sum(len(o.get("responses", ())) for r in written for o in _json(r[1]))

    upgrade(database_url)
    assert _schema_diff(database_url) == []
    again = _instance_rows(database_url)
    normal = lambda rows: [tuple(_json(v) if i in (1, 7, 8, 9, 10) else v for i, v in enumerate(r))  # noqa: E731
                           for r in rows]
    assert normal(again) == normal(written)


@pytest.mark.rule("BANK-3", "BANK-9")
def test_0009_keeps_nickname_only_funding_accounts_pending_and_not_default(database_url: str, clock) -> None:
    """0009: a funding account from before (a nickname only) is still Pending Verification, active,
    not default, not sandbox and without numbers; the engine reads it and maps new accounts beside
    it; the one-default and one-designated indexes exist; downgrading to 0008 and upgrading again
    matches the models."""
    upgrade(database_url, "0008")
    now = datetime(2026, 3, 2, 14, 0, tzinfo=timezone.utc)
    engine = make_engine(database_url)
    try:
        meta = MetaData()
        meta.reflect(engine)
        t = meta.tables
        with engine.begin() as conn:
            conn.execute(insert(t["users"]), [{"id": "u" * 32, "email": "admin@gc.example", "name": "Admin"}])
            conn.execute(insert(t["companies"]), [{"id": "c" * 32, "name": "GC", "time_zone": "America/New_York",
                                                   "holidays": [], "workflows_enabled": True,
                                                   "segregation": "invoice_approver", "is_payee": False,
                                                   "lock_version": 0}])
            conn.execute(insert(t["memberships"]), [{"company_id": "c" * 32, "user_id": "u" * 32, "active": True}])
            conn.execute(insert(t["grants"]), [{"company_id": "c" * 32, "user_id": "u" * 32,
                                                "permission": "payments_admin"}])
            conn.execute(insert(t["bank_accounts"]), [{
                "id": "a" * 32, "company_id": "c" * 32, "kind": "funding", "nickname": "Operating",
                "nickname_key": "operating", "verification_status": "Pending Verification", "active": True,
                "created_at": now, "lock_version": 0}])
    finally:
        engine.dispose()
    upgrade(database_url)
    assert current_heads(database_url) == [HEAD]
    db = Database(database_url)
    try:
        svc = Services(db, clock=clock)
        old = bank_accounts.read_bank_account(svc, "u" * 32, "c" * 32, "a" * 32)
        assert (old.verification_status, old.active, old.is_default, old.sandbox, old.last4) == (
            "Pending Verification", True, False, False, None)
        made = seed_funding_account(svc, "u" * 32, "c" * 32, "Reserve")
        assert bank_accounts.read_bank_account(svc, "u" * 32, "c" * 32, made).deposit_account_id is not None
    finally:
        db.dispose()
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            indexes = {i["name"]: i["unique"] for i in sa.inspect(conn).get_indexes("bank_accounts")}
        assert indexes["uq_bank_accounts_one_default"] and indexes["uq_bank_accounts_one_designated"]
    finally:
        engine.dispose()
    command.downgrade(alembic_config(database_url), "0008")
    assert current_heads(database_url) == ["0008"]
    upgrade(database_url)
    assert _schema_diff(database_url) == []


@pytest.mark.rule("ROLE-10", "MFA-4")
def test_0012_adds_passwords_sessions_and_the_recovery_code_confirmation_and_downgrading_drops_them(
        database_url: str, clock) -> None:
    """0012: users keep their rows without a password, enrollments read as "codes not confirmed";
    ``user_sessions`` (the token hash unique and indexed) works through the engine; downgrading to
    the revision before drops the table and both columns, and upgrading again matches the models."""
    from alembic.script import ScriptDirectory

    from engine.security import sign_in

    before = ScriptDirectory.from_config(alembic_config(database_url)).get_revision("0012").down_revision
    upgrade(database_url, before)
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:  # rows as the revision before stored them
            conn.execute(text("INSERT INTO users (id, email, name) VALUES ('u1', 'ops@gc.example', 'Ops')"))
            conn.execute(text("INSERT INTO mfa_enrollments (user_id, active, must_enroll, failures, locked, "
                              "recovery_hashes, updated_at, lock_version) VALUES ('u1', false, true, 0, false, "
                              "'[]', '2026-03-02 14:00:00+00:00', 0)"))
    finally:
        engine.dispose()
    upgrade(database_url)
    assert current_heads(database_url) == [HEAD]
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT password_hash FROM users")).scalars().all() == [None]
            assert conn.execute(text("SELECT recovery_codes_acknowledged_at FROM mfa_enrollments")).scalars().all() \
                == [None]
            indexes = {i["name"]: i["unique"] for i in sa.inspect(conn).get_indexes("user_sessions")}
        assert indexes == {"ix_user_sessions_token_hash": True, "ix_user_sessions_user_id": False}
    finally:
        engine.dispose()
    db = Database(database_url)
    try:
        svc = Services(db, clock=clock)
        sign_in.set_password(svc, "ops@gc.example", "correct horse battery staple")
        signed = sign_in.sign_in(svc, "ops@gc.example", "correct horse battery staple")
        assert sign_in.authenticate_session(svc, signed.token).user_id == "u1"
    finally:
        db.dispose()
    command.downgrade(alembic_config(database_url), before)
    assert current_heads(database_url) == [before]
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            assert inspector.has_table("user_sessions") is False
            assert "password_hash" not in {c["name"] for c in inspector.get_columns("users")}
            assert "recovery_codes_acknowledged_at" not in {c["name"] for c in inspector.get_columns("mfa_enrollments")}
            assert conn.execute(text("SELECT count(*) FROM users")).scalar_one() == 1
    finally:
        engine.dispose()
    upgrade(database_url)
    assert _schema_diff(database_url) == []
