"""Company settings are checked by one validator before anything changes (GEN-6, AUTH-6, WF-10)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.errors import DomainError
from engine.service import directory, disbursements, instances
from engine.service.disbursements import PaymentLine
from engine.services import Services
from engine.store.tables import AuditEntry, Company
from tests.world import build_world

BAD = [
    ({"time_zone": "Mars/Olympus"}, "invalid_time_zone", "GEN-6", "time_zone: `Mars/Olympus`"),
    ({"time_zone": ""}, "invalid_time_zone", "GEN-6", "time_zone: ``"),
    ({"time_zone": "../../etc/passwd"}, "invalid_time_zone", "GEN-6", "time_zone: `../../etc/passwd`"),
    ({"time_zone": 5}, "invalid_time_zone", "GEN-6", "time_zone: `5`"),
    ({"holidays": ["not-a-date"]}, "invalid_setting", "GEN-6", "holidays: `not-a-date`"),
    ({"holidays": ["2026-02-30"]}, "invalid_setting", "GEN-6", "holidays: `2026-02-30`"),
    ({"holidays": ["20260101"]}, "invalid_setting", "GEN-6", "holidays: `20260101`"),
    ({"holidays": [datetime(2026, 1, 1, 12)]}, "invalid_setting", "GEN-6", "holidays: `2026-01-01 12:00:00`"),
    ({"holidays": "2026-01-01"}, "invalid_setting", "GEN-6", "holidays: `2026-01-01` is not a list of dates"),
    ({"holidays": None}, "invalid_setting", "GEN-6", "holidays: `None` is not a list of dates"),
    ({"segregation": "lax"}, "invalid_setting", "AUTH-6", "segregation: `lax`"),
    ({"workflows_enabled": "no"}, "invalid_setting", "GEN-6", "workflows_enabled: `no`"),
    ({"workflows_enabled": 1}, "invalid_setting", "GEN-6", "workflows_enabled: `1`"),
    ({"colour": "blue"}, "invalid_setting", "GEN-6", "unknown setting: colour"),
]


def company_row(svc: Services, company_id: str) -> dict[str, Any]:
    with svc.db.sessions() as s:
        c = s.get(Company, company_id)
        assert c is not None
        return {"time_zone": c.time_zone, "holidays": list(c.holidays), "segregation": c.segregation,
                "workflows_enabled": c.workflows_enabled}


@pytest.mark.rule("GEN-6", "AUTH-6")
@pytest.mark.parametrize(("settings", "code", "rule", "says"), BAD)
def test_update_settings_refuses_what_the_engine_could_not_use(svc, settings: dict[str, Any], code: str,
                                                               rule: str, says: str) -> None:
    """GEN-6: a bad setting is refused, naming it and its value; nothing changes, disbursements still work."""
    w = build_world(svc)
    before = company_row(svc, w.company)
    with svc.db.sessions() as s:
        entries = s.scalar(select(func.count(AuditEntry.id)))
    with pytest.raises(DomainError) as e:
        directory.update_settings(svc, w.admin, w.company, **{"workflows_enabled": False, **settings})
    assert (e.value.code, e.value.rule) == (code, rule)
    assert says in e.value.message
    assert company_row(svc, w.company) == before  # the valid setting in the same call did not land either
    with svc.db.sessions() as s:
        assert s.scalar(select(func.count(AuditEntry.id))) == entries
    d = disbursements.create_disbursement(svc, w.creator, w.company, project_id=w.project, funding_account=w.funding,
                                          payments=[PaymentLine(w.invoice("5.00"))]).id
    assert instances.view(svc, w.admin, w.company, d).current_step == "Controller Review"


@pytest.mark.rule("GEN-6", "AUTH-6")
@pytest.mark.parametrize(("settings", "code", "rule", "says"), [b for b in BAD if "colour" not in b[0]])
def test_create_company_uses_the_same_validator(svc, settings: dict[str, Any], code: str, rule: str,
                                                says: str) -> None:
    admin = directory.create_user(svc, "admin@new.example", "Admin").id
    with pytest.raises(DomainError) as e:
        directory.create_company(svc, "New GC", first_admin=admin, **settings)
    assert (e.value.code, e.value.rule) == (code, rule) and says in e.value.message
    with svc.db.sessions() as s:
        assert s.scalar(select(func.count(Company.id))) == 0


@pytest.mark.rule("GEN-6")
def test_valid_settings_are_stored_in_one_form(svc) -> None:
    """GEN-6: dates or ISO strings, stored sorted and once each; the calendar then reads them."""
    w = build_world(svc)
    directory.update_settings(svc, w.admin, w.company, time_zone="Europe/Paris", segregation="strict",
                              holidays=["2026-12-25", date(2026, 1, 1), date(2026, 12, 25)],
                              workflows_enabled=False)
    assert company_row(svc, w.company) == {"time_zone": "Europe/Paris", "holidays": ["2026-01-01", "2026-12-25"],
                                           "segregation": "strict", "workflows_enabled": False}
    directory.update_settings(svc, w.admin, w.company, workflows_enabled=True, holidays=())
    d = disbursements.create_disbursement(svc, w.creator, w.company, project_id=w.project, funding_account=w.funding,
                                          payments=[PaymentLine(w.invoice("5.00"))]).id
    assert instances.view(svc, w.admin, w.company, d).current_step == "Controller Review"


@pytest.mark.rule("GEN-6")
def test_a_new_company_is_in_new_york_with_no_holidays(svc) -> None:
    admin = directory.create_user(svc, "admin@new.example", "Admin").id
    company = directory.create_company(svc, "New GC", first_admin=admin).id
    row = company_row(svc, company)
    assert (row["time_zone"], row["holidays"]) == ("America/New_York", [])
