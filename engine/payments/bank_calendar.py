"""When the bank acts on an instruction: the 16:00 America/New_York cut-off on business days (FLOW-2).

Why the Federal Reserve's calendar (``holidays.financial_holidays("XFED")``, the
calendar ACH and wires settle on) and not the company's (GEN-6): due dates are
the company's business, but money moves on the banks' days. It differs from
the federal civil calendar where it matters, e.g. a holiday falling on a
Saturday is not observed on the Friday. We do not keep our own holiday table:
the ``holidays`` package maintains it.

Pure: the moment is passed in.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

BANK_TIME_ZONE = ZoneInfo("America/New_York")
#: FLOW-2: instructions received at or after 16:00 New York time go out the next business day
CUT_OFF = time(16, 0)


@lru_cache(maxsize=64)
def _closed(year: int) -> frozenset[date]:
    return frozenset(holidays.financial_holidays("XFED", years=year))


def is_business_day(day: date) -> bool:
    """Monday to Friday, and not a Federal Reserve holiday."""
    return day.weekday() < 5 and day not in _closed(day.year)


def next_business_day(day: date) -> date:
    """The first business day after ``day``."""
    day += timedelta(days=1)
    while not is_business_day(day):
        day += timedelta(days=1)
    return day


def request_date(at: datetime) -> date:
    """FLOW-2: the banking day an instruction made at ``at`` is requested on — that day when ``at``
    is before 16:00 New York time on a business day, otherwise the next business day."""
    if at.tzinfo is None:
        raise ValueError("the moment must be timezone-aware")
    local = at.astimezone(BANK_TIME_ZONE)
    day = local.date()
    if is_business_day(day) and local.time() < CUT_OFF:
        return day
    return next_business_day(day)
