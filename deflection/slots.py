"""Callback time slots for the landing page: only instants when the schedule is open."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol


class _Status(Protocol):
    @property
    def is_open(self) -> bool: ...


class ScheduleLookup(Protocol):
    async def status(self, name: str, at: datetime | None = None) -> _Status: ...


async def callback_slots(schedules: ScheduleLookup, schedule: str, now: datetime, *, step_minutes: int = 30,
                         days: int = 3, lead_minutes: int = 15, limit: int = 24) -> list[datetime]:
    """Slot starts from ``now + lead`` on a ``step_minutes`` grid, open per the schedule, at most ``limit``."""
    step = timedelta(minutes=step_minutes)
    first = now + timedelta(minutes=lead_minutes)
    # Align to the grid (in UTC: a 30-minute grid is the same in every whole- or half-hour zone).
    epoch = datetime(2000, 1, 1, tzinfo=first.tzinfo)
    at = epoch + step * -(-(first - epoch) // step)
    end = now + timedelta(days=days)
    out: list[datetime] = []
    while at < end and len(out) < limit:
        if (await schedules.status(schedule, at)).is_open:
            out.append(at)
        at += step
    return out
