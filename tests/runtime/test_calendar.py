"""Due dates, overdue and reminder times in the company time zone (STEP-9, STEP-13, GEN-6)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.runtime.calendar import CompanyCalendar

NY = CompanyCalendar()
UTC = timezone.utc


def at(y: int, m: int, d: int, h: int = 12, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=UTC)


@pytest.mark.rule("STEP-9")
def test_calendar_days_count_from_the_local_entry_date() -> None:
    """STEP-9: 02:00 UTC on the 6th is still the 5th in New York."""
    assert NY.due_date(at(2026, 1, 6, 2), 5, "calendar") == date(2026, 1, 10)
    assert NY.due_date(at(2026, 1, 6, 12), 5, "calendar") == date(2026, 1, 11)


@pytest.mark.rule("STEP-9", "GEN-6")
def test_business_days_skip_weekends_and_holidays() -> None:
    """STEP-9: the Nth Monday–Friday after entry that is not a company holiday."""
    friday = at(2026, 1, 9)  # a Friday
    assert NY.due_date(friday, 1, "business") == date(2026, 1, 12)  # Monday
    assert NY.due_date(friday, 5, "business") == date(2026, 1, 16)
    with_holiday = CompanyCalendar(holidays=frozenset({date(2026, 1, 12)}))
    assert with_holiday.due_date(friday, 1, "business") == date(2026, 1, 13)


@pytest.mark.rule("STEP-9")
def test_overdue_from_midnight_local_after_the_due_date() -> None:
    """STEP-9: overdue from 00:00 company time the day after the due date."""
    due = date(2026, 3, 10)
    # 23:59 local on the due date (New York is UTC-4 after the DST change on March 8)
    assert not NY.is_overdue(due, datetime(2026, 3, 11, 3, 59, tzinfo=UTC))
    assert NY.is_overdue(due, datetime(2026, 3, 11, 4, 0, tzinfo=UTC))
    assert NY.overdue_days(due, datetime(2026, 3, 13, 4, 0, tzinfo=UTC)) == 3


@pytest.mark.rule("STEP-13")
def test_reminders_at_eight_local_each_overdue_day() -> None:
    """STEP-13: one reminder moment per overdue day, at 08:00 company time, no cap."""
    due = date(2026, 3, 10)
    now = datetime(2026, 3, 13, 11, 59, tzinfo=UTC)  # 07:59 in New York on the 13th
    days = [d for d, _ in NY.reminder_moments(due, now)]
    assert days == [date(2026, 3, 11), date(2026, 3, 12)]
    later = now + timedelta(minutes=1)
    assert [d for d, _ in NY.reminder_moments(due, later)][-1] == date(2026, 3, 13)


@pytest.mark.rule("GEN-6")
def test_other_time_zones_are_honoured() -> None:
    """GEN-6: a company's IANA time zone decides the local date."""
    tokyo = CompanyCalendar(time_zone="Asia/Tokyo")
    assert tokyo.local_date(at(2026, 1, 1, 20)) == date(2026, 1, 2)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        NY.local_date(datetime(2026, 1, 1))


@pytest.mark.rule("STEP-9")
@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)), st.integers(1, 60))
def test_business_due_date_is_a_business_day_after_entry(day: date, n: int) -> None:
    entered = datetime(day.year, day.month, day.day, 17, tzinfo=UTC)
    due = NY.due_date(entered, n, "business")
    assert due > NY.local_date(entered)
    assert NY.is_business_day(due)
    span = [NY.local_date(entered) + timedelta(days=i) for i in range(1, (due - NY.local_date(entered)).days + 1)]
    assert sum(NY.is_business_day(d) for d in span) == n
