"""Due dates and overdue days in a company's time zone (STEP-8..STEP-13, GEN-6).

Pure functions over an injected ``now``: the runtime, the worker and the
tests all ask the same questions ("when is this occurrence due?", "is it
overdue now?", "has today's reminder time passed?") and get the same answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Iterable, Literal
from zoneinfo import ZoneInfo

DEFAULT_TIME_ZONE = "America/New_York"
REMINDER_TIME = time(8, 0)  # STEP-13: reminders go out at 08:00 company time

DueUnit = Literal["calendar", "business"]


@dataclass(frozen=True)
class CompanyCalendar:
    """A company's time zone and holiday list (GEN-6)."""

    time_zone: str = DEFAULT_TIME_ZONE
    holidays: frozenset[date] = field(default_factory=frozenset)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def local_date(self, moment: datetime) -> date:
        """The company-local calendar date of an aware instant."""
        if moment.tzinfo is None:
            raise ValueError("datetimes must be timezone-aware (the clock is injected in UTC)")
        return moment.astimezone(self.tz).date()

    def is_business_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.holidays

    def due_date(self, entered_at: datetime, days: int, unit: DueUnit) -> date:
        """STEP-9: calendar = entry date + N days; business = the Nth business day after entry."""
        if days < 1:
            raise ValueError("a due period is a positive whole number of days")
        start = self.local_date(entered_at)
        if unit == "calendar":
            return start + timedelta(days=days)
        day, counted = start, 0
        while counted < days:
            day += timedelta(days=1)
            if self.is_business_day(day):
                counted += 1
        return day

    def overdue_since(self, due: date) -> datetime:
        """The instant an occurrence becomes overdue: 00:00 local the day after its due date."""
        return datetime.combine(due + timedelta(days=1), time(0, 0), self.tz)

    def is_overdue(self, due: date, now: datetime) -> bool:
        return now >= self.overdue_since(due)

    def overdue_days(self, due: date, now: datetime) -> int:
        """How many overdue days have begun by ``now`` (0 when not overdue)."""
        if not self.is_overdue(due, now):
            return 0
        return (self.local_date(now) - due).days

    def reminder_moments(self, due: date, now: datetime) -> Iterable[tuple[date, datetime]]:
        """Each overdue day whose 08:00 reminder time has passed by ``now``, oldest first."""
        day = due + timedelta(days=1)
        today = self.local_date(now)
        while day <= today:
            moment = datetime.combine(day, REMINDER_TIME, self.tz)
            if moment <= now:
                yield day, moment
            day += timedelta(days=1)
