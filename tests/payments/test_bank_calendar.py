"""FLOW-2: a drawdown authorized before 16:00 New York time on a banking day is requested that day."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from engine.payments import bank_calendar

NY = ZoneInfo("America/New_York")


@pytest.mark.rule("FLOW-2")
@pytest.mark.parametrize(("local", "expected"), [
    (datetime(2026, 12, 1, 15, 59, 59), date(2026, 12, 1)),   # Tuesday before the cut-off
    (datetime(2026, 12, 1, 16, 0), date(2026, 12, 2)),        # at the cut-off: next business day
    (datetime(2026, 12, 4, 17, 30), date(2026, 12, 7)),       # Friday evening: Monday
    (datetime(2026, 12, 5, 9, 0), date(2026, 12, 7)),         # Saturday: Monday
    (datetime(2026, 12, 24, 16, 1), date(2026, 12, 28)),      # Christmas Eve late: past Christmas and the weekend
    (datetime(2026, 11, 25, 18, 0), date(2026, 11, 27)),      # before Thanksgiving: the Friday after
    (datetime(2026, 1, 19, 10, 0), date(2026, 1, 20)),        # Martin Luther King Jr. Day
])
def test_flow_2_the_cut_off_and_business_days(local: datetime, expected: date) -> None:
    assert bank_calendar.request_date(local.replace(tzinfo=NY)) == expected


@pytest.mark.rule("FLOW-2")
def test_flow_2_the_cut_off_is_new_york_time_whatever_the_moments_zone() -> None:
    # 20:30 UTC is 15:30 in New York in December (EST) but 16:30 in July (EDT)
    assert bank_calendar.request_date(datetime(2026, 12, 1, 20, 30, tzinfo=timezone.utc)) == date(2026, 12, 1)
    assert bank_calendar.request_date(datetime(2026, 7, 14, 20, 30, tzinfo=timezone.utc)) == date(2026, 7, 15)


@pytest.mark.rule("FLOW-2")
def test_the_federal_reserve_calendar_not_the_civil_one() -> None:
    # 2026-07-04 is a Saturday: the civil calendar observes Friday 07-03, the Federal Reserve does not
    assert bank_calendar.is_business_day(date(2026, 7, 3))
    assert not bank_calendar.is_business_day(date(2026, 7, 4))
    assert not bank_calendar.is_business_day(date(2026, 12, 25))


def test_a_naive_moment_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        bank_calendar.request_date(datetime(2026, 12, 1, 10, 0))
