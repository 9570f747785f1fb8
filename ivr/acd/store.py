"""Persistence of the ACD: configuration, agent states, live waiting snapshot, history, metrics."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import aliased

from ivr.acd.config import AgentConfig, QueueConfig
from ivr.acd.models import (
    AgentCommandRow,
    AgentRow,
    ContactRow,
    PredictionRow,
    QueueLiveRow,
    QueueRow,
    WaitingRow,
)
from ivr.acd.types import AgentState, AgentView, StateReason, UnknownAgent
from ivr.db import Database, utcnow


@dataclass(frozen=True, slots=True)
class AgentCommand:
    command_id: int
    agent_id: str
    state: AgentState
    requested_by: str


@dataclass(frozen=True, slots=True)
class WaitingSnapshot:
    entry_id: str
    queue: str
    kind: str
    call_id: str | None
    arrival: datetime
    priority: int
    position: int
    ewt_seconds: float | None
    agent_id: str | None


@dataclass(frozen=True, slots=True)
class QueueLive:
    queue: str
    staffed: int
    ewt_seconds: float | None
    mean_handle_seconds: float | None
    abandon_rate: float | None


@dataclass(frozen=True, slots=True)
class ContactRecord:
    entry_id: str
    call_id: str | None
    queue: str
    kind: str
    arrival: datetime
    joined_at: datetime
    left_at: datetime
    outcome: str
    waited_seconds: float
    position_at_join: int | None = None
    position_at_exit: int | None = None
    agent_id: str | None = None
    handle_seconds: float | None = None
    priority: int | None = None  # in line (the queue's own included); None in rows older than acd_0005


@dataclass(frozen=True, slots=True)
class SeenContact:
    """A stored contact as the shared EWT learns it: its row id (every node applies them in id
    order) and, for an answered call, its first prediction (ahead, agents, model, actual wait)."""

    id: int
    contact: ContactRecord
    outcome: tuple[int, int, float, float] | None = None


@dataclass(frozen=True, slots=True)
class AnnouncedBand:
    """The band a caller heard ("about 10 min") and the waits it allows (high None: open-ended)."""

    label: str
    low_seconds: float
    high_seconds: float | None


@dataclass(frozen=True, slots=True)
class EwtAccuracy:
    """The truth of announced waits over a period, for callers who were answered."""

    announced: int
    within_band: int
    within_25_percent: int
    mae_seconds: float | None

    @classmethod
    def of(cls, rows: Sequence[tuple[float, float, float | None, float | None]]) -> EwtAccuracy:
        """``rows``: (predicted, actual, band low, band high or None for open-ended)."""
        in_band = sum(1 for _, actual, low, high in rows
                      if low is not None and low <= actual and (high is None or actual <= high))
        within = sum(1 for predicted, actual, _, _ in rows if abs(predicted - actual) <= 0.25 * actual)
        errors = [abs(p - a) for p, a, _, _ in rows]
        return cls(len(rows), in_band, within, sum(errors) / len(errors) if errors else None)

    @property
    def within_band_share(self) -> float | None:
        return self.within_band / self.announced if self.announced else None

    @property
    def within_25_share(self) -> float | None:
        return self.within_25_percent / self.announced if self.announced else None


@dataclass(frozen=True, slots=True)
class QueueFigures:
    """History figures for one queue over a period."""

    offered: int  # stays that ended (any outcome)
    answered: int
    abandoned: int  # all abandons, short ones included
    answered_within_sl: int
    mean_answer_seconds: float | None  # ASA
    ewt_mae_seconds: float | None
    ewt_samples: int
    short_abandoned: int = 0  # hung up sooner than the short-abandon threshold: left out of the service level

    @property
    def service_level(self) -> float | None:
        """Answered within the target ÷ (answered + abandoned after the short-abandon threshold)."""
        counted = self.answered + self.abandoned - self.short_abandoned
        return self.answered_within_sl / counted if counted else None

    @property
    def abandon_rate(self) -> float | None:
        return self.abandoned / self.offered if self.offered else None


def _agent_view(row: AgentRow) -> AgentView:
    return AgentView(row.id, row.name, row.endpoint, dict(row.skills), AgentState(row.state), row.state_since,
                     StateReason(row.state_reason))


class AcdStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    # ------------------------------------------------------------------ configuration
    async def save_queues(self, queues: Iterable[QueueConfig], *, source: str = "file") -> None:
        """Store queue configurations. From the file, a queue an admin edited is left alone."""
        now = utcnow()
        async with self._db.session() as s:
            for q in queues:
                row = await s.get(QueueRow, q.name)
                if row is None:
                    s.add(QueueRow(name=q.name, config=q.to_dict(), source=source, updated_at=now))
                elif source == "api" or row.source != "api":
                    row.config, row.source, row.updated_at = q.to_dict(), source, now

    async def queue_configs(self, *, source: str | None = None) -> dict[str, dict[str, Any]]:
        async with self._db.session() as s:
            query = select(QueueRow).order_by(QueueRow.name)
            if source is not None:
                query = query.where(QueueRow.source == source)
            rows = (await s.execute(query)).scalars().all()
            return {r.name: dict(r.config) for r in rows}

    async def save_agents(self, agents: Iterable[AgentConfig]) -> None:
        """Add or update agents from configuration; their live state is kept."""
        now = utcnow()
        async with self._db.session() as s:
            for a in agents:
                row = await s.get(AgentRow, a.agent_id)
                if row is None:
                    s.add(AgentRow(id=a.agent_id, name=a.name, endpoint=a.endpoint, skills=dict(a.skills),
                                   state=AgentState.OFFLINE.value, state_reason=StateReason.ADMIN.value,
                                   state_since=now, updated_at=now))
                else:
                    row.name, row.endpoint, row.skills, row.updated_at = a.name, a.endpoint, dict(a.skills), now

    async def agents(self) -> list[AgentView]:
        async with self._db.session() as s:
            rows = (await s.execute(select(AgentRow).order_by(AgentRow.id))).scalars().all()
            return [_agent_view(r) for r in rows]

    async def save_agent_states(self, views: Sequence[AgentView]) -> None:
        now = utcnow()
        async with self._db.session() as s:
            for v in views:
                row = await s.get(AgentRow, v.agent_id)
                if row is None:
                    continue
                row.state, row.state_reason, row.state_since = v.state.value, v.reason.value, v.state_since
                row.updated_at = now

    # ------------------------------------------------------------------ commands from other processes
    async def request_state(self, agent_id: str, state: AgentState, *, requested_by: str) -> int:
        """Ask the running server to change an agent's state (also shown at once in the table)."""
        now = utcnow()
        async with self._db.session() as s:
            row = await s.get(AgentRow, agent_id)
            if row is None:
                raise UnknownAgent(agent_id)
            command = AgentCommandRow(agent_id=agent_id, state=state.value, requested_by=requested_by,
                                      requested_at=now)
            s.add(command)
            if row.state != state.value:
                row.state, row.state_reason, row.state_since = state.value, StateReason.ADMIN.value, now
            row.updated_at = now
            await s.flush()
            return command.id

    async def last_command_id(self) -> int:
        async with self._db.session() as s:
            value = await s.scalar(select(func.max(AgentCommandRow.id)))
            return int(value or 0)

    async def commands_after(self, command_id: int) -> list[AgentCommand]:
        async with self._db.session() as s:
            rows = (await s.execute(select(AgentCommandRow).where(AgentCommandRow.id > command_id)
                                    .order_by(AgentCommandRow.id))).scalars().all()
            return [AgentCommand(r.id, r.agent_id, AgentState(r.state), r.requested_by) for r in rows]

    # ------------------------------------------------------------------ live snapshot
    async def replace_live(self, waiting: Sequence[WaitingSnapshot], queues: Sequence[QueueLive]) -> None:
        now = utcnow()
        async with self._db.session() as s:
            await s.execute(delete(WaitingRow))
            await s.execute(delete(QueueLiveRow))
            s.add_all(WaitingRow(entry_id=w.entry_id, queue=w.queue, kind=w.kind, call_id=w.call_id,
                                 arrival=w.arrival, priority=w.priority, position=w.position,
                                 ewt_seconds=w.ewt_seconds, agent_id=w.agent_id, updated_at=now) for w in waiting)
            s.add_all(QueueLiveRow(queue=q.queue, staffed=q.staffed, ewt_seconds=q.ewt_seconds,
                                   mean_handle_seconds=q.mean_handle_seconds, abandon_rate=q.abandon_rate,
                                   updated_at=now) for q in queues)

    async def waiting(self) -> list[WaitingSnapshot]:
        async with self._db.session() as s:
            rows = (await s.execute(select(WaitingRow).order_by(WaitingRow.queue, WaitingRow.position))).scalars()
            return [WaitingSnapshot(r.entry_id, r.queue, r.kind, r.call_id, r.arrival, r.priority, r.position,
                                    r.ewt_seconds, r.agent_id) for r in rows]

    async def queue_live(self) -> dict[str, QueueLive]:
        async with self._db.session() as s:
            rows = (await s.execute(select(QueueLiveRow))).scalars()
            return {r.queue: QueueLive(r.queue, r.staffed, r.ewt_seconds, r.mean_handle_seconds, r.abandon_rate)
                    for r in rows}

    # ------------------------------------------------------------------ history
    async def record_contact(self, c: ContactRecord) -> None:
        async with self._db.session() as s:
            s.add(ContactRow(entry_id=c.entry_id, call_id=c.call_id, queue=c.queue, kind=c.kind, arrival=c.arrival,
                             joined_at=c.joined_at, left_at=c.left_at, outcome=c.outcome,
                             waited_seconds=c.waited_seconds, position_at_join=c.position_at_join,
                             position_at_exit=c.position_at_exit, agent_id=c.agent_id,
                             handle_seconds=c.handle_seconds, priority=c.priority))

    async def recent_contacts(self, queue: str, *, limit: int = 200) -> list[ContactRecord]:
        """Newest last, for warming up the EWT estimates at start."""
        async with self._db.session() as s:
            rows = (await s.execute(select(ContactRow).where(ContactRow.queue == queue)
                                    .order_by(ContactRow.left_at.desc(), ContactRow.id.desc()).limit(limit))).scalars()
            out = [ContactRecord(r.entry_id, r.call_id, r.queue, r.kind, r.arrival, r.joined_at, r.left_at, r.outcome,
                                 r.waited_seconds, r.position_at_join, r.position_at_exit, r.agent_id,
                                 r.handle_seconds) for r in rows]
        out.reverse()
        return out

    async def contacts_after(self, after_id: int, *, per_queue: int) -> list[SeenContact]:
        """Contacts with an id above ``after_id``, at most the last ``per_queue`` of each queue, in id
        order, each answered one with its first prediction (the shared EWT, ivr/acd/sharedrates.py)."""
        ranked = (select(ContactRow, func.row_number().over(partition_by=ContactRow.queue,
                                                            order_by=ContactRow.id.desc()).label("rn"))
                  .where(ContactRow.id > after_id).subquery())
        row = aliased(ContactRow, ranked)
        async with self._db.session() as s:
            rows = (await s.execute(select(row).where(ranked.c.rn <= per_queue).order_by(ranked.c.id))).scalars().all()
            answered = [r.entry_id for r in rows if r.outcome == "connected"]
            outcomes: dict[str, tuple[int, int, float, float]] = {}
            if answered:
                first = (select(func.min(PredictionRow.id)).where(PredictionRow.entry_id.in_(answered))
                         .group_by(PredictionRow.entry_id))
                for entry_id, ahead, servers, model, actual in (await s.execute(
                        select(PredictionRow.entry_id, PredictionRow.ahead, PredictionRow.servers,
                               PredictionRow.model_seconds, PredictionRow.actual_seconds)
                        .where(PredictionRow.id.in_(first)))).all():
                    if model is not None and actual is not None:
                        outcomes[entry_id] = (ahead, servers, model, actual)
        return [SeenContact(r.id, ContactRecord(r.entry_id, r.call_id, r.queue, r.kind, r.arrival, r.joined_at,
                                                r.left_at, r.outcome, r.waited_seconds, r.position_at_join,
                                                r.position_at_exit, r.agent_id, r.handle_seconds, r.priority),
                            outcomes.get(r.entry_id)) for r in rows]

    async def add_prediction(self, *, entry_id: str, call_id: str | None, queue: str, at: datetime,
                             predicted_seconds: float, method: str, ahead: int, servers: int,
                             band: AnnouncedBand | None = None, model_seconds: float | None = None) -> None:
        """``band``: what the caller heard, when this prediction was spoken."""
        async with self._db.session() as s:
            s.add(PredictionRow(entry_id=entry_id, call_id=call_id, queue=queue, at=at,
                                predicted_seconds=predicted_seconds, method=method, ahead=ahead, servers=servers,
                                announced=band is not None, band=band.label if band else None,
                                band_low_seconds=band.low_seconds if band else None,
                                band_high_seconds=band.high_seconds if band else None, model_seconds=model_seconds))

    async def recent_outcomes(self, queue: str, *, limit: int = 1000) -> list[tuple[int, int, float, float]]:
        """(ahead, agents, model estimate, actual wait) of the first prediction of recently answered
        callers, oldest first: what the EWT's learnt correction is warmed up from at start."""
        async with self._db.session() as s:
            first = (select(func.min(PredictionRow.id)).where(PredictionRow.queue == queue)
                     .group_by(PredictionRow.entry_id).scalar_subquery())
            rows = (await s.execute(
                select(PredictionRow.ahead, PredictionRow.servers, PredictionRow.model_seconds,
                       PredictionRow.actual_seconds)
                .where(PredictionRow.id.in_(first), PredictionRow.outcome == "connected",
                       PredictionRow.model_seconds.is_not(None), PredictionRow.actual_seconds.is_not(None))
                .order_by(PredictionRow.id.desc()).limit(limit))).all()
        return [(a, s_, m, w) for a, s_, m, w in reversed(rows) if m is not None and w is not None]

    async def ewt_accuracy(self, queue: str, *, since: datetime, until: datetime | None = None) -> EwtAccuracy:
        """How true the announced waits were for callers who then reached an agent: the share
        whose wait fell inside the band they heard, the share within 25% of the estimate, the MAE."""
        async with self._db.session() as s:
            query = (select(PredictionRow.predicted_seconds, PredictionRow.actual_seconds,
                            PredictionRow.band_low_seconds, PredictionRow.band_high_seconds)
                     .where(PredictionRow.queue == queue, PredictionRow.at >= since, PredictionRow.announced.is_(True),
                            PredictionRow.outcome == "connected", PredictionRow.actual_seconds.is_not(None)))
            if until is not None:
                query = query.where(PredictionRow.at < until)
            rows = (await s.execute(query)).all()
        return EwtAccuracy.of([(p, a, low, high) for p, a, low, high in rows if a is not None])

    async def resolve_predictions(self, entry_id: str, *, left_at: datetime, outcome: str) -> int:
        """Attach the wait that followed each prediction for this entry."""
        async with self._db.session() as s:
            rows = (await s.execute(select(PredictionRow).where(PredictionRow.entry_id == entry_id,
                                                                PredictionRow.outcome.is_(None)))).scalars().all()
            for row in rows:
                row.actual_seconds = max((left_at - row.at).total_seconds(), 0.0)
                row.outcome = outcome
            return len(rows)

    async def figures(self, queue: str, *, since: datetime, service_level_seconds: float,
                      short_abandon_seconds: float = 0.0) -> QueueFigures:
        async with self._db.session() as s:
            rows = (await s.execute(select(ContactRow.outcome, ContactRow.waited_seconds)
                                    .where(ContactRow.queue == queue, ContactRow.left_at >= since))).all()
            preds = (await s.execute(select(PredictionRow.predicted_seconds, PredictionRow.actual_seconds)
                                     .where(PredictionRow.queue == queue, PredictionRow.at >= since,
                                            PredictionRow.outcome == "connected"))).all()
        answered = [w for o, w in rows if o == "connected"]
        errors = [abs(p - a) for p, a in preds if a is not None]
        return QueueFigures(
            offered=len(rows),
            answered=len(answered),
            abandoned=sum(1 for o, _ in rows if o == "abandoned"),
            answered_within_sl=sum(1 for w in answered if w <= service_level_seconds),
            short_abandoned=sum(1 for o, w in rows if o == "abandoned" and w < short_abandon_seconds),
            mean_answer_seconds=sum(answered) / len(answered) if answered else None,
            ewt_mae_seconds=sum(errors) / len(errors) if errors else None,
            ewt_samples=len(errors),
        )
