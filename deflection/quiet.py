"""Quiet hours in the customer's local time (pure)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


def parse_hhmm(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def quiet_until(now: datetime, tz: ZoneInfo, start: time, end: time) -> datetime | None:
    """None when ``now`` is outside quiet hours; else the (aware) instant they end.

    Quiet hours may wrap midnight (21:00-09:00) or not (13:00-15:00).
    """
    local = now.astimezone(tz)
    t = local.time()
    wraps = start > end
    inside = (t >= start or t < end) if wraps else (start <= t < end)
    if not inside:
        return None
    end_day = local.date()
    if wraps and t >= start:
        end_day = end_day + timedelta(days=1)
    return datetime.combine(end_day, end, tzinfo=tz)
