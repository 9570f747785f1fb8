"""Call records: the engine's :class:`~ivr.ports.CallRecorder` and :class:`~ivr.ports.CallHistory`.

Writes go through a :class:`CallWriter` (batched, never raising into the call); ``call_ended``
waits (bounded) until the call's rows are written, so a read after it returns sees the whole call.
Every fact of a call comes from the bus, typed: the store listens to the flow's and the ACD's
events (:mod:`ivr.calls.timeline`) for the calls it is recording, and writes their rows (and the
call's language, queue, wait and agent) from them. The listener is synchronous, so a call's rows
keep the order its facts were published in. The call's start and end are published here, once.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy.exc import SQLAlchemyError

from ivr.calls.models import CallEventRow, CallRow
from ivr.calls.records import CallEventRecord, CallRecord
from ivr.calls.timeline import fact_row, timeline_rows
from ivr.calls.writer import CallWriter
from ivr.channel import CallInfo, InputMode
from ivr.context import InputRecord
from ivr.db import Database, utcnow
from ivr.events import EventBus
from ivr.events.flow import CallResumed, LanguageSet
from ivr.events.types import AgentConnected, CallEnded, CallStarted, Event, QueueLeft
from ivr.logs import mask_number
from ivr.ports import CallEventKind, Disposition, EarlierLegs, RecentContact

log = logging.getLogger(__name__)

_LIMITS = {"caller": 64, "dialled": 64, "flow": 64, "language": 8, "queue": 64, "agent_id": 64,
           "linked_id": 128, "node": 128, "backend": 16,
           "owner": 128}


@dataclass
class _Live:
    """What the store remembers about a call in progress."""

    flow: str
    started_at: datetime
    seq: int = 0
    queue: str | None = None
    waited: float | None = None
    agent_id: str | None = None


# stored as text; LOST_ON_RESTART: the process carrying the call died (ivr.nodes closed it)
_DROPPED = frozenset({Disposition.CALLER_HANGUP.value, Disposition.FAILED.value, Disposition.LOST_ON_RESTART.value})

# Built once: every call asks it, and building the expression costs more than running it on SQLite.
_RECENT_ENDED = (
    select(CallRow)
    .where(CallRow.caller == bindparam("caller"), CallRow.ended_at.is_not(None),
           CallRow.ended_at >= bindparam("since", type_=CallRow.__table__.c.ended_at.type))
    .order_by(CallRow.ended_at.desc())
    .limit(20)
)


class CallStore:
    """Records calls and answers questions about them."""

    def __init__(self, db: Database, bus: EventBus, *, writer: CallWriter | None = None,
                 end_sync_timeout: float = 5.0, owner: str | None = None) -> None:
        self._db = db
        self._owner = owner  # this process (ivr.nodes), written on every call it starts
        self._bus = bus
        self.writer = writer or CallWriter(db)
        self._live: dict[str, _Live] = {}
        self._earlier: dict[str, EarlierLegs] = {}  # resumed calls, until the engine asks
        self._end_timeout = end_sync_timeout
        self.name = self.writer.name  # a Component: the batching writer runs in the server's TaskGroup
        # Synchronous, so each row keeps its place in the call's sequence (the writer only buffers).
        bus.add_listener(self._on_event)

    async def run(self, started: asyncio.Event) -> None:
        await self.writer.run(started)

    async def aclose(self) -> None:
        await self.writer.flush()

    # ------------------------------------------------------------------ CallRecorder
    async def call_started(self, info: CallInfo, *, flow: str, language: str) -> None:
        if info.call_id in self._live:
            log.warning("call_started twice for one call; ignoring the second", extra={"call_id": info.call_id})
            return
        if info.resumed_from is not None and await self._resume(info, flow=flow):
            return
        self._live[info.call_id] = _Live(flow=flow, started_at=info.started_at)
        self.writer.add_call(_clip({
            "call_id": info.call_id, "linked_id": info.linked_id, "caller": info.caller or "",
            "dialled": info.dialled or "", "backend": info.backend.value, "flow": flow, "language": language,
            "started_at": info.started_at, "ended_at": None, "disposition": None, "queue": None,
            "waited_seconds": None, "agent_id": None, "owner": self._owner,
            "legs": 1 if info.resumed_from is None else 2,  # (a later leg whose first was never written)
        }))
        self._bus.publish(CallStarted(call_id=info.call_id, dialled=info.dialled, backend=info.backend.value,
                                      flow=flow))

    async def _resume(self, info: CallInfo, *, flow: str) -> bool:
        """A later leg of a call already recorded (its node died; the dialplan sent the caller on to
        this one, same call id): the same record, reopened here (owner, no end yet, one leg more),
        its timeline continued after the earlier legs' events with a ``resumed`` event. False when
        there is no record to continue (the first leg's rows were never written)."""
        call_id = info.call_id
        try:
            async with self._db.session() as s:
                row = await s.get(CallRow, call_id)
                if row is None:
                    return False
                events = (await s.execute(select(CallEventRow.seq, CallEventRow.kind, CallEventRow.node,
                                                 CallEventRow.data, CallEventRow.at)
                                          .where(CallEventRow.call_id == call_id)
                                          .order_by(CallEventRow.seq).limit(5000))).all()
                previous = {"owner": row.owner, "disposition": row.disposition}
                legs = row.legs = (row.legs or 1) + 1
                row.owner, row.ended_at, row.disposition = self._owner, None, None
                started_at, queue, agent_id = row.started_at, row.queue, row.agent_id
        except (SQLAlchemyError, OSError):
            log.exception("cannot continue the call's record; its events go on under its id",
                          extra={"call_id": call_id})
            # (seq past any earlier leg's events, whose count could not be read)
            self._live[call_id] = _Live(flow=flow, started_at=info.started_at, seq=10_000)
            return True
        # earlier legs' finished queue stays; the stay the dead node left open is counted by this
        # leg's (it rejoins with its original arrival, as credit)
        waits = [float(e.data["waited_seconds"]) for e in events if e.kind == CallEventKind.QUEUE_LEFT.value
                 and isinstance(e.data, dict) and isinstance(e.data.get("waited_seconds"), int | float)]
        self._live[call_id] = _Live(flow=flow, started_at=started_at, seq=max((e.seq for e in events), default=0),
                                    queue=queue, waited=sum(waits) if waits else None, agent_id=agent_id)
        self._earlier[call_id] = _earlier_legs(events)
        self.publish(CallResumed(call_id=call_id, leg=legs, owner=self._owner,
                                 resumed_on=(self._owner or "").split(":", 1)[0] or None,
                                 previous_owner=previous["owner"], previous_disposition=previous["disposition"]))
        return True

    async def earlier_legs(self, call_id: str) -> EarlierLegs | None:
        """What the earlier legs of a call resumed here recorded (once; None for a first leg)."""
        return self._earlier.pop(call_id, None)

    def publish(self, event: Event) -> None:
        """A fact of a call, onto the bus (metrics, MQTT, and this store's own listener, which
        writes its row): the one way a fact reaches the record."""
        self._bus.publish(event)

    async def call_ended(self, call_id: str, disposition: Disposition, *, language: str | None = None) -> None:
        live = self._live.pop(call_id, None)
        self._earlier.pop(call_id, None)
        ended = utcnow()
        fields: dict[str, Any] = {"ended_at": ended, "disposition": str(disposition)}
        if language:
            fields["language"] = language
        if live is not None:
            fields.update(queue=live.queue, waited_seconds=live.waited, agent_id=live.agent_id)
        self.writer.update_call(call_id, _clip(fields))
        started = live.started_at if live else ended
        self._bus.publish(CallEnded(call_id=call_id, disposition=str(disposition),
                                    duration_seconds=max(0.0, (ended - started).total_seconds())))
        await self.writer.sync(self._end_timeout)

    def _add_event(self, call_id: str, live: _Live, kind: str, node: str | None,
                   data: dict[str, Any] | None, *, at: datetime) -> None:
        """One timeline row, timed by its event (delivered synchronously, so the fact's own time)."""
        live.seq += 1
        self.writer.add_event(_clip({"call_id": call_id, "seq": live.seq, "at": at, "kind": kind[:32],
                                     "node": node, "data": _jsonable(data)}))

    def _on_event(self, event: Event) -> None:
        """The bus's listener: an event of a call this store is recording becomes its rows (events
        of calls it is not recording are another recorder's, or a callback's, and left alone)."""
        fact = fact_row(event)
        if fact is not None:
            if (live := self._live.get(fact.call_id)) is not None:
                self._add_event(fact.call_id, live, fact.kind.value, fact.node, fact.data, at=event.at)
                if isinstance(event, LanguageSet):
                    self.writer.update_call(fact.call_id, _clip({"language": event.language}))
            return
        for row in timeline_rows(event):
            live = self._live.get(row.call_id)
            if live is None:  # not a call this store records (a callback's call, another recorder's)
                return
            self._add_event(row.call_id, live, row.kind.value, row.node, row.data, at=event.at)
            live.queue = row.queue
        if isinstance(event, QueueLeft) and (live := self._live.get(event.call_id)) is not None:
            # a caller may queue twice; a returning caller's credit counts in their wait
            live.waited = (live.waited or 0.0) + event.waited_seconds + event.credit_seconds
        elif isinstance(event, AgentConnected) and (live := self._live.get(event.call_id)) is not None:
            live.agent_id = event.agent_id

    # ------------------------------------------------------------------ CallHistory
    async def recent_unresolved(self, caller: str, *, within_minutes: float) -> RecentContact | None:
        """The caller's latest call in the window that left the queue without an agent, unless a
        later call reached one. Fails open (None) when the database is unavailable."""
        if not caller:
            return None
        since = utcnow() - timedelta(minutes=within_minutes)
        try:
            async with self._db.session() as s:
                rows = (await s.scalars(_RECENT_ENDED, {"caller": caller, "since": since})).all()
        except (SQLAlchemyError, OSError):
            log.exception("cannot read call history; treating the caller as new",
                          extra={"caller": mask_number(caller)})
            return None
        for row in rows:
            if row.agent_id is not None or row.disposition == Disposition.CONNECTED:
                return None  # reached an agent since: resolved
            # Left the line: hung up while queued, or the call dropped there (a failure on our side).
            queued_then_left = row.disposition in _DROPPED and row.queue is not None
            if (row.disposition == Disposition.ABANDONED or queued_then_left) and row.ended_at and row.disposition:
                return RecentContact(call_id=row.call_id, queue=row.queue, waited_seconds=row.waited_seconds or 0.0,
                                     ended_at=row.ended_at, disposition=Disposition(row.disposition))
        return None

    # ------------------------------------------------------------------ queries
    async def list_calls(self, limit: int = 50, caller: str | None = None,
                         since: datetime | None = None) -> list[CallRecord]:
        await self.writer.flush()
        query = select(CallRow).order_by(CallRow.started_at.desc(), CallRow.call_id).limit(limit)
        if caller:
            query = query.where(CallRow.caller == caller)
        if since is not None:
            query = query.where(CallRow.started_at >= since)
        async with self._db.session() as s:
            rows = (await s.scalars(query)).all()
        return [_record(r) for r in rows]

    async def calls_for_number(self, number: str, limit: int = 20) -> list[CallRecord]:
        return await self.list_calls(limit=limit, caller=number)

    async def purge(self, before: datetime) -> int:
        """Delete calls that ended before ``before`` with their timelines (retention); returns how many."""
        await self.writer.flush()
        removed = await _purge(self._db, before)
        log.info("call records purged", extra={"before": before.isoformat(), "calls": removed})
        return removed

    async def get_call(self, call_id: str) -> CallRecord | None:
        await self.writer.flush()
        async with self._db.session() as s:
            row = await s.get(CallRow, call_id)
            if row is None:
                return None
            events = (await s.scalars(
                select(CallEventRow).where(CallEventRow.call_id == call_id).order_by(CallEventRow.seq)
            )).all()
        return _record(row, tuple(
            CallEventRecord(seq=e.seq, at=e.at, kind=e.kind, node=e.node, data=e.data) for e in events
        ))


async def _purge(db: Database, before: datetime) -> int:
    async with db.session() as s:
        ids = select(CallRow.call_id).where(CallRow.ended_at.is_not(None), CallRow.ended_at < before)
        await s.execute(delete(CallEventRow).where(CallEventRow.call_id.in_(ids)))
        result = await s.execute(delete(CallRow).where(CallRow.ended_at.is_not(None), CallRow.ended_at < before))
    return int(getattr(result, "rowcount", 0) or 0)


def _record(row: CallRow, events: tuple[CallEventRecord, ...] = ()) -> CallRecord:
    return CallRecord(
        call_id=row.call_id, linked_id=row.linked_id, caller=row.caller, dialled=row.dialled,
        backend=row.backend, flow=row.flow, language=row.language, started_at=row.started_at,
        ended_at=row.ended_at, disposition=row.disposition, queue=row.queue,
        waited_seconds=row.waited_seconds, agent_id=row.agent_id, events=events, legs=row.legs or 1,
    )


def _earlier_legs(events: Any) -> EarlierLegs:
    """The path, the inputs, the language and the need from a call's recorded timeline."""
    path: list[str] = []
    inputs: list[InputRecord] = []
    language = need = None
    for e in events:
        data = e.data if isinstance(e.data, dict) else {}
        if e.kind == CallEventKind.NODE_ENTERED.value and e.node:
            path.append(e.node)
        elif e.kind == CallEventKind.INPUT.value and e.node:
            try:
                mode = InputMode(str(data.get("mode") or "dtmf"))
            except ValueError:
                mode = InputMode.DTMF
            confidence = data.get("confidence")
            inputs.append(InputRecord(node=e.node, mode=mode, digits=str(data.get("digits") or ""),
                                      transcript=str(data.get("transcript") or ""),
                                      confidence=float(confidence) if isinstance(confidence, int | float) else None,
                                      engine=_text(data.get("engine")), at=e.at))
        elif e.kind == CallEventKind.LANGUAGE_SET.value:
            language = _text(data.get("language")) or language
        elif e.kind == CallEventKind.VARIABLE_SET.value:
            need = _text(data.get("need")) or need
    return EarlierLegs(tuple(path), tuple(inputs), language, need)


def _jsonable(data: dict[str, Any] | None) -> dict[str, Any] | None:
    """A plain-JSON copy (enums, datetimes -> strings; NaN -> null, which PostgreSQL's JSON refuses)
    so one odd value cannot fail a whole batch."""
    if data is None:
        return None
    return {str(k): _plain(v, 0) for k, v in data.items()}


def _plain(value: Any, depth: int) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if depth > 8:
        return repr(value)[:200]
    if isinstance(value, dict):
        return {str(k): _plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v, depth + 1) for v in value]
    if isinstance(value, enum.Enum):
        return _plain(value.value, depth + 1)
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    if hasattr(value, "to_dict"):
        return _plain(value.to_dict(), depth + 1)
    return str(value)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _clip(row: dict[str, Any]) -> dict[str, Any]:
    for key, limit in _LIMITS.items():
        value = row.get(key)
        if isinstance(value, str) and len(value) > limit:
            row[key] = value[:limit]
    return row
