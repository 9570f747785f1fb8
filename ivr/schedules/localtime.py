"""A local wall time to the one UTC instant it denotes, shared by the parser (closures) and the timeline:
- a wall time that happens twice (DST fall-back overlap) means its first occurrence;
- a wall time that never happens (spring-forward gap) means the instant the clocks jump past it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def local_to_utc(local: datetime, tz: ZoneInfo) -> datetime:
    """A naive local wall time in ``tz`` -> the aware UTC instant it denotes."""
    naive = local.replace(tzinfo=None)
    first = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == naive:
        return first
    # In a gap: find the earliest instant whose wall time is at or after ``naive``.
    other = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    lo, hi = sorted((int(first.timestamp()), int(other.timestamp())))

    def wall(ts: int) -> datetime:
        return datetime.fromtimestamp(ts, UTC).astimezone(tz).replace(tzinfo=None)

    while hi - lo > 1:
        mid = (lo + hi) // 2
        if wall(mid) >= naive:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)
