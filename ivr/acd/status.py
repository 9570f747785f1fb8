"""Live queue status (``ivr queues status``, ``GET /api/v1/queues/status``), read from the store so
any process can compute it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ivr.acd.config import QueueConfig
from ivr.acd.store import AcdStore
from ivr.acd.thresholds import parse_thresholds
from ivr.acd.types import AgentState
from ivr.db import utcnow

EWT_METHOD = "QL-m with abandonment: online service and abandon rates, learnt correction"


async def queue_status(store: AcdStore, configured: dict[str, QueueConfig], *, hours: float) -> dict[str, Any]:
    now = utcnow()
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    waiting = await store.waiting()
    live = await store.queue_live()
    agents = await store.agents()
    out: dict[str, Any] = {}
    for name, q in configured.items():
        mine = [w for w in waiting if w.queue == name]
        longest = max(((now - w.arrival).total_seconds() for w in mine), default=0.0)
        by_state = {s.value: 0 for s in AgentState}
        for a in agents:
            if all(a.skills.get(skill, -1) >= level for skill, level in q.skills.items()):
                by_state[a.state.value] += 1
        sl = q.service_level
        figures = await store.figures(name, since=now - timedelta(hours=hours), service_level_seconds=sl.seconds,
                                      short_abandon_seconds=sl.short_abandon_seconds)
        accuracy = await store.ewt_accuracy(name, since=day_start)
        queue_live = live.get(name)
        ewt = None if queue_live is None or queue_live.ewt_seconds is None else round(queue_live.ewt_seconds, 1)
        achieved = None if figures.service_level is None else round(100 * figures.service_level, 1)
        counted_abandons = figures.abandoned - figures.short_abandoned
        abandon_percent = (None if figures.offered - figures.short_abandoned <= 0
                           else round(100 * counted_abandons / (figures.offered - figures.short_abandoned), 1))
        asa = None if figures.mean_answer_seconds is None else round(figures.mean_answer_seconds, 1)
        thresholds = parse_thresholds(q.extra.get("wallboard"), sl_percent=sl.percent, sl_seconds=sl.seconds)
        judged = {"waiting": len(mine), "longest_wait_seconds": longest, "service_level_percent": achieved,
                  "abandon_percent": abandon_percent, "asa_seconds": asa}
        out[name] = {
            "waiting": len(mine),
            "longest_wait_seconds": round(longest, 1),
            "ewt_seconds": ewt,
            "agents": by_state,
            "service_level": {
                "target_percent": sl.percent, "target_seconds": sl.seconds, "achieved_percent": achieved,
                "short_abandon_seconds": sl.short_abandon_seconds,
                "answered_within": figures.answered_within_sl,
                "counted": figures.answered + counted_abandons,
                "definition": (f"answered within {sl.seconds:g} s ÷ (answered + abandoned after "
                               f"{sl.short_abandon_seconds:g} s); abandons within {sl.short_abandon_seconds:g} s "
                               "are left out and counted apart"),
            },
            "abandon_rate": None if figures.abandon_rate is None else round(figures.abandon_rate, 3),
            "asa_seconds": None if figures.mean_answer_seconds is None else round(figures.mean_answer_seconds, 1),
            "ewt_mae_seconds": None if figures.ewt_mae_seconds is None else round(figures.ewt_mae_seconds, 1),
            "ewt_samples": figures.ewt_samples,
            # today's (UTC) truth of the waits callers heard and were then answered
            "ewt_accuracy": {
                "day": day_start.date().isoformat(),
                "announced": accuracy.announced,
                "within_band_percent": _percent(accuracy.within_band_share),
                "within_25_percent": _percent(accuracy.within_25_share),
                "mae_seconds": None if accuracy.mae_seconds is None else round(accuracy.mae_seconds, 1),
            },
            "handled": figures.answered,
            "abandoned": figures.abandoned,
            "short_abandoned": figures.short_abandoned,
            "abandon_percent": abandon_percent,  # abandons after the short-abandon threshold, of those offered
            # The EWT a new caller would be told, how it was estimated and how wrong it has been. A new
            # caller's estimate is always QL-m on the queue's online rates (ivr/acd/ewt.py: LES and
            # head-of-line waits are never announced).
            "ewt": {"seconds": ewt, "method": None if ewt is None else EWT_METHOD,
                    "mae_seconds": None if figures.ewt_mae_seconds is None else round(figures.ewt_mae_seconds, 1),
                    "samples": figures.ewt_samples},
            "thresholds": {metric: t.to_dict() for metric, t in thresholds.items()},
            "levels": {metric: (None if (lv := t.level(judged[metric])) is None else lv.value)
                       for metric, t in thresholds.items()},
            "period_hours": hours,
        }
    return out


def _percent(share: float | None) -> float | None:
    return None if share is None else round(100 * share, 1)
