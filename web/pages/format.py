"""How pages write money and moments: ``$1,234.56`` and the company's own clock (GEN-6).

Jinja filters, registered by :func:`web.pages.register`. Money stays a Decimal to the
last character (a string amount from a view is read with :func:`engine.money.parse_money`
semantics: exact, never through float).
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo


def money(value: object) -> str:
    """``$1,234.56``; negative ``-$1.00``; None (no amount) as an em dash."""
    if value is None or value == "":
        return "—"
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if not amount.is_finite():
        return str(value)
    cents = amount.quantize(Decimal("0.01"))
    sign = "-" if cents < 0 else ""
    return f"{sign}${abs(cents):,.2f}"


def when(moment: datetime | None, zone: ZoneInfo | None = None) -> str:
    """``Dec 2, 2026 14:05 EST`` in ``zone`` (the company's); a naive moment is UTC (how the store keeps it)."""
    if moment is None:
        return "—"
    aware = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    local = aware.astimezone(zone) if zone else aware
    return f"{local:%b} {local.day}, {local:%Y %H:%M} {local.tzname()}"


def day(value: date | datetime | None) -> str:
    """``Dec 2, 2026``."""
    if value is None:
        return "—"
    return f"{value:%b} {value.day}, {value:%Y}"
