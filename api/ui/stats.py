"""``GET /api/v1/stats/today``: today's figures for the wallboard charts, per local hour of the site's day
(``timezone`` setting): a supervisor in Madrid reads 09h as nine o'clock in Madrid.

Each series comes from the domain that owns it (calls store, callbacks, deflection links, ratings);
a domain that is not wired gives ``null`` for its series instead of failing the whole answer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter

from api.deps import AppContainer
from ivr.composition import Container
from ivr.db import utcnow
from ivr.ports import Disposition
from ivr.web.auth import SupervisorUser

router = APIRouter(prefix="/api/v1/stats", tags=["stats"])

# Bounds: a busy line's day fits; beyond it the chart is a lower bound (said in "truncated").
MAX_ROWS = 5000


@dataclass(frozen=True, slots=True)
class LocalDay:
    """The site's calendar day around an instant: its bounds in UTC and its zone."""

    zone: ZoneInfo
    start: datetime  # local midnight, as an aware UTC instant
    end: datetime

    @classmethod
    def around(cls, now: datetime, zone: ZoneInfo) -> LocalDay:
        local = now.astimezone(zone).date()
        start = datetime.combine(local, time(0), tzinfo=zone).astimezone(UTC)
        end = datetime.combine(local + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
        return cls(zone, start, end)


def hourly(times: Iterable[datetime], day: LocalDay) -> list[int]:
    """Counts per local clock hour (0-23) of ``day``; times outside the day are ignored. On the day
    clocks go back, the repeated hour's two real hours share one bucket."""
    counts = [0] * 24
    for t in times:
        if day.start <= t < day.end:
            counts[t.astimezone(day.zone).hour] += 1
    return counts


async def today_stats(container: Container, now: datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    day = LocalDay.around(now, container.settings.zone)
    start = day.start
    series: dict[str, list[int] | None] = {"calls": None, "abandons": None, "callbacks": None, "deflections": None}
    truncated: list[str] = []

    calls = await container.calls.store.list_calls(limit=MAX_ROWS, since=start)
    if len(calls) >= MAX_ROWS:
        truncated.append("calls")
    series["calls"] = hourly((c.started_at for c in calls), day)
    series["abandons"] = hourly((c.started_at for c in calls if c.disposition == Disposition.ABANDONED.value), day)

    callbacks = container.callback_service
    if callbacks is not None:
        found = await callbacks.find(limit=MAX_ROWS)
        series["callbacks"] = hourly((cb.created_at for cb in found), day)

    deflection = container.deflection
    links = await deflection.service.links.list(limit=MAX_ROWS)
    series["deflections"] = hourly((link.created_at for link in links), day)
    stages = await deflection.service.stats()
    ratings = [r for r in await deflection.ratings.list(limit=MAX_ROWS) if r.at >= start]
    by_score = Counter(r.score for r in ratings)
    ratings_out = {
        "count": len(ratings),
        "mean": round(sum(r.score for r in ratings) / len(ratings), 2) if ratings else None,
        "by_score": {str(score): by_score.get(score, 0) for score in range(1, 6)},
    }

    totals = {name: (sum(values) if values is not None else None) for name, values in series.items()}
    return {"date": now.astimezone(day.zone).date().isoformat(), "timezone": day.zone.key,
            "day_start": start.isoformat(), "until": day.end.isoformat(), "series": series, "totals": totals,
            "ratings": ratings_out, "deflection_stages": stages, "truncated": truncated}


@router.get("/today")
async def stats_today(_: SupervisorUser, container: AppContainer) -> dict[str, Any]:
    """Per local hour of the site's day (``timezone``): calls, abandons, callbacks, deflections; ratings."""
    return await today_stats(container)
