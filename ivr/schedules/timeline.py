"""Turning a schedule's local-time rules into UTC intervals, and evaluating them.

Every local boundary ("opens 08:00 on 2026-03-29") maps to exactly one instant
(:func:`ivr.schedules.localtime.local_to_utc`), so the intervals are plain UTC intervals, evaluation
is monotonic, and an 08:00-20:00 day is 11 or 13 real hours long on DST days, as the wall clock says.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ivr.schedules.localtime import local_to_utc
from ivr.schedules.parse import Schedule

OPEN_REASON = "within opening hours"
CLOSED_REASON = "outside opening hours"


@dataclass(frozen=True, slots=True)
class Interval:
    start: datetime
    end: datetime
    label: str


@dataclass(frozen=True, slots=True)
class RulesState:
    """The rules' verdict at one instant (before overrides)."""

    kind: str  # "open" / "closed" / "holiday"
    reason: str


class Timeline:
    """A schedule's UTC intervals for the local dates ``first`` .. ``last`` (inclusive).

    Instants before local midnight of ``last`` are fully determined (``horizon``)."""

    def __init__(self, schedule: Schedule, first: date, last: date) -> None:
        self.schedule = schedule
        tz = schedule.tz
        self.horizon = local_to_utc(datetime.combine(last, time()), tz)
        holidays: list[Interval] = []
        opens: list[tuple[datetime, datetime]] = []
        day = first
        while day <= last:
            holiday = next((h for h in schedule.holidays if h.matches(day)), None)
            if holiday is not None:
                # The whole local day is closed, and so are shifts that start on it.
                holidays.append(Interval(_at(day, 0, tz), _at(day, 24 * 60, tz), holiday.name))
            else:
                for r in schedule.weekly[day.weekday()]:
                    opens.append((_at(day, r.start, tz), _at(day, r.end, tz)))
            day += timedelta(days=1)
        self.holidays = holidays
        self.opens = _merge(opens)
        self._open_starts = [s for s, _ in self.opens]
        self._holiday_starts = [h.start for h in holidays]

    def state_at(self, at: datetime) -> RulesState:
        for c in self.schedule.closures:
            if c.start <= at < c.end:
                return RulesState("closed", c.reason)
        i = bisect.bisect_right(self._holiday_starts, at) - 1
        if i >= 0 and at < self.holidays[i].end:
            return RulesState("holiday", self.holidays[i].label)
        j = bisect.bisect_right(self._open_starts, at) - 1
        if j >= 0 and at < self.opens[j][1]:
            return RulesState("open", OPEN_REASON)
        return RulesState("closed", CLOSED_REASON)

    def boundaries(self) -> list[datetime]:
        points: set[datetime] = set()
        for s, e in self.opens:
            points.update((s, e))
        for h in self.holidays:
            points.update((h.start, h.end))
        for c in self.schedule.closures:
            points.update((c.start, c.end))
        return sorted(p for p in points if p < self.horizon)


def _at(day: date, minutes: int, tz: ZoneInfo) -> datetime:
    local = datetime.combine(day, time()) + timedelta(minutes=minutes)
    return local_to_utc(local, tz)


def _merge(spans: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    out: list[tuple[datetime, datetime]] = []
    for s, e in sorted(spans):
        if e <= s:
            continue  # a range swallowed entirely by a DST gap
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


_WINDOWS = (8, 64, 400)  # days looked ahead for the next change, widening only when needed


def rules_state(schedule: Schedule, at: datetime) -> tuple[RulesState, datetime | None]:
    """The state at ``at`` and the next instant it changes (None: not within ~400 days)."""
    if at.tzinfo is None:
        raise ValueError("schedule evaluation needs an aware datetime")
    local_day = at.astimezone(schedule.tz).date()
    current: RulesState | None = None
    for days in _WINDOWS:
        timeline = Timeline(schedule, local_day - timedelta(days=1), local_day + timedelta(days=days))
        if current is None:
            current = timeline.state_at(at)
        for point in timeline.boundaries():
            if point > at and timeline.state_at(point) != current:
                return current, point
    assert current is not None
    return current, None
