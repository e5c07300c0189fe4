"""How a workflow's response steps perform, computed from the occurrences its instances recorded.

A workflow manager tunes a workflow by asking, per step: how often is it visited, how long do
its assignees take to answer, how often do they answer late, and how often do they reject?
The answers are in the instances' recorded occurrences (the same transitions the audit chain
holds: entered at, due date, closed at, the decision), so this module only counts:

- **visits**: occurrences of the step entered (every instance, every restart and return);
- **time to respond**: from entering the step to the answer that decided it (STEP-3, STEP-4:
  for a step deciding on `all`, the last approval or the first other answer). Occurrences the
  manager closed (``returned``, ``terminated``) were not answered and are not timed. The
  **median** is the middle value (the mean of the two middle ones for an even count); the
  **90th percentile** is the nearest-rank value: the smallest time that at least 90% of the
  answers took no longer than;
- **overdue**: of the occurrences with a due date that were answered or are still open, those
  answered on or after the moment they became overdue (00:00 company time the day after the
  due date, STEP-9) or still open and overdue now;
- **rejections**: occurrences decided ``Reject``; every decision is tallied too.

Pure: instance states, the company calendar and ``now`` in, :class:`StepInsight` rows out.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Iterable, Sequence

from engine.runtime.calendar import CompanyCalendar
from engine.runtime.instance import InstanceState, Occurrence

__all__ = ["REJECT", "StepInsight", "median", "nearest_rank", "step_insights"]

#: the answer counted as a rejection (the reference workflow's, RESP-3)
REJECT = "Reject"
#: decisions that close an occurrence without an answer (MGR-6, MGR-9)
_MANAGER_CLOSES = frozenset({"returned", "terminated"})


@dataclass(frozen=True)
class StepInsight:
    """One response step over every instance given."""

    step: str
    visits: int
    #: occurrences decided by an answer
    answered: int
    #: occurrences still waiting
    open: int
    median: timedelta | None
    p90: timedelta | None
    #: occurrences answered late or open and overdue, out of :attr:`overdue_base`
    overdue: int
    #: occurrences with a due date that were answered or are still open
    overdue_base: int
    rejections: int
    #: each decision and how many occurrences it decided, most frequent first (then by name)
    decisions: tuple[tuple[str, int], ...] = ()

    @property
    def overdue_rate(self) -> Decimal | None:
        """The share overdue, 0..1 to four places (None when no occurrence had a due date)."""
        if not self.overdue_base:
            return None
        return (Decimal(self.overdue) / Decimal(self.overdue_base)).quantize(Decimal("0.0001"), ROUND_HALF_UP)


def median(values: Sequence[timedelta]) -> timedelta | None:
    """The middle of ``values`` (the mean of the two middle ones for an even count); None when empty."""
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return None
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def nearest_rank(values: Sequence[timedelta], percent: int) -> timedelta | None:
    """The nearest-rank ``percent``-th percentile: the smallest value at least ``percent``% of
    ``values`` are no greater than; None when empty."""
    if not 0 < percent <= 100:
        raise ValueError("a percentile is from 1 to 100")
    ordered = sorted(values)
    if not ordered:
        return None
    return ordered[max(1, math.ceil(percent * len(ordered) / 100)) - 1]


def _late(occ: Occurrence, calendar: CompanyCalendar, now: datetime) -> bool:
    assert occ.due is not None
    if occ.closed_at is None:
        return calendar.is_overdue(occ.due, now)
    return calendar.is_overdue(occ.due, occ.closed_at)


def step_insights(states: Iterable[InstanceState], steps: Sequence[str], calendar: CompanyCalendar,
                  now: datetime) -> tuple[StepInsight, ...]:
    """A row per response step: those named in ``steps`` first, in that order (the workflow's
    own, even when never visited), then any other step the instances visited (a step of an
    earlier version), in the order first seen."""
    order: dict[str, None] = dict.fromkeys(steps)
    by_step: dict[str, list[Occurrence]] = {name: [] for name in order}
    for state in states:
        for occ in state.occurrences:
            if occ.kind != "response":
                continue
            if occ.step not in by_step:
                order[occ.step] = None
                by_step[occ.step] = []
            by_step[occ.step].append(occ)
    rows = []
    for name in order:
        occs = by_step[name]
        answered = [o for o in occs if o.closed_at is not None and o.decision not in _MANAGER_CLOSES
                    and o.decision is not None]
        waiting = [o for o in occs if o.closed_at is None]
        times = [o.closed_at - o.entered_at for o in answered if o.closed_at is not None]
        due = [o for o in (*answered, *waiting) if o.due is not None]
        decisions = Counter(o.decision for o in answered if o.decision is not None)
        rows.append(StepInsight(
            name, len(occs), len(answered), len(waiting), median(times), nearest_rank(times, 90),
            sum(1 for o in due if _late(o, calendar, now)), len(due), decisions.get(REJECT, 0),
            tuple(sorted(decisions.items(), key=lambda kv: (-kv[1], kv[0])))))
    return tuple(rows)
