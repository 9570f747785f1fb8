"""Quiet hours: the customer's local night (or lunch), when nobody calls or messages them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class QuietHours:
    """``start``-``end`` in local time; may wrap midnight (21:00-09:00). Equal ends: never quiet."""

    start: time
    end: time

    @classmethod
    def parse(cls, start: str, end: str) -> QuietHours:
        """From ``"HH:MM"`` texts; ``ValueError`` names the bad one."""
        return cls(parse_hhmm(start), parse_hhmm(end))

    def is_quiet(self, local: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end  # across midnight

    def end_after(self, at: datetime, zone: ZoneInfo) -> datetime:
        """The first end of quiet hours after ``at`` (an aware instant), in UTC."""
        local = at.astimezone(zone)
        day = local.date() if local.time() < self.end else local.date() + timedelta(days=1)
        return datetime.combine(day, self.end, tzinfo=zone).astimezone(UTC)

    def until(self, at: datetime, zone: ZoneInfo) -> datetime | None:
        """None when ``at`` is outside quiet hours in ``zone``; else the instant (UTC) they end."""
        return self.end_after(at, zone) if self.is_quiet(at.astimezone(zone).time()) else None


def parse_hhmm(text: str) -> time:
    """``"21:00"`` -> ``time(21)``; ``ValueError`` for anything else."""
    try:
        hours, minutes = text.split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise ValueError(f"{text!r} is not a time of day (HH:MM, such as 21:00)") from None


def polite_time(at: datetime, zone: ZoneInfo, quiet: QuietHours | None) -> datetime:
    """The earliest instant at or after ``at`` outside quiet hours in ``zone``."""
    if quiet is None:
        return at
    return quiet.until(at, zone) or at
