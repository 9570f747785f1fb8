"""Durable callbacks: create/merge, queries, and the dispatchers' claim/lease protocol.

A callback is *claimed* by setting ``lease_owner``/``leased_until``; a dispatcher holds it while it
waits for an agent and dials, renewing the lease. A lease that runs out (the dispatcher died) makes
the callback claimable again (one taken over mid-attempt is settled by :mod:`callbacks.takeover`).
On PostgreSQL the claim is one ``UPDATE ... WHERE id IN (SELECT ...
FOR UPDATE SKIP LOCKED)``; on SQLite (one writer at a time) each candidate is taken with an atomic
conditional ``UPDATE`` whose row count says whether we won it. Every later write by a dispatcher is
conditional on still owning the lease, so a dispatcher that lost it can never overwrite the winner.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from callbacks.errors import CallbackNotFound, InvalidTransition
from callbacks.models import (
    FINAL_STATES,
    AttemptOutcome,
    CallbackAttemptRow,
    CallbackRow,
    CallbackState,
)
from callbacks.policy import richer_context
from callbacks.values import Attempt, AttemptEnd, Callback, NewCallback, active_key
from ivr.calls.scope import handled_calls
from ivr.db import Database

_WAITING = (CallbackState.PENDING.value, CallbackState.SCHEDULED.value)


class CallbackStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # ------------------------------------------------------------------ create / merge
    async def create_or_merge(self, new: NewCallback, *, now: datetime) -> tuple[Callback, bool]:
        """One active callback per number and queue: a second request merges into the first
        (earliest arrival, earliest due time, richer context). Returns (callback, merged)."""
        for _ in range(3):  # a concurrent insert of the same pair: merge into it instead
            try:
                return await self._create_or_merge(new, now)
            except IntegrityError:
                continue
        raise RuntimeError("could not create or merge the callback (concurrent writers)")

    async def _create_or_merge(self, new: NewCallback, now: datetime) -> tuple[Callback, bool]:
        key = active_key(new.number, new.queue)
        async with self.db.session() as s:
            row = (await s.execute(select(CallbackRow).where(CallbackRow.active_key == key)
                                   .with_for_update())).scalar_one_or_none()
            if row is None:
                row = CallbackRow(
                    id=uuid.uuid4().hex, number=new.number, queue=new.queue, source=new.source.value,
                    state=CallbackState.PENDING.value, active_key=key, arrival_time=new.arrival_time,
                    due_at=new.due_at, created_at=now, updated_at=now, attempts=0, max_attempts=new.max_attempts,
                    language=new.language, waited_seconds=new.waited_seconds, position=new.position,
                    context=new.context, merged=0, timezone=new.timezone)
                s.add(row)
                await s.flush()
                return Callback.of(row), False
            row.arrival_time = min(row.arrival_time, new.arrival_time)
            if row.state != CallbackState.DIALING.value and row.lease_owner is None:
                row.due_at = min(row.due_at, new.due_at)
            row.context = dict(richer_context(row.context, new.context) or {}) or None
            row.waited_seconds = max(row.waited_seconds, new.waited_seconds)
            row.language = row.language or new.language
            row.timezone = new.timezone or row.timezone
            row.merged += 1
            row.updated_at = now
            return Callback.of(row), True

    # ------------------------------------------------------------------ queries
    async def get(self, callback_id: str, *, with_attempts: bool = True) -> Callback:
        async with self.db.session() as s:
            row = await s.get(CallbackRow, callback_id)
            if row is None:
                raise CallbackNotFound(callback_id)
            history = await self._history(s, callback_id) if with_attempts else ()
            return Callback.of(row, history)

    async def _history(self, s: AsyncSession, callback_id: str) -> tuple[Attempt, ...]:
        rows = (await s.execute(select(CallbackAttemptRow).where(CallbackAttemptRow.callback_id == callback_id)
                                .order_by(CallbackAttemptRow.seq))).scalars()
        return tuple(Attempt.of(r) for r in rows)

    async def find(self, *, state: CallbackState | None = None, queue: str | None = None,
                   number: str | None = None, limit: int = 100, handled_by: str | None = None) -> list[Callback]:
        """``handled_by``: only that agent's callbacks (see :func:`owned_by`)."""
        q = select(CallbackRow)
        if handled_by is not None:
            q = q.where(owned_by(handled_by))
        if state is not None:
            q = q.where(CallbackRow.state == state.value)
        if queue is not None:
            q = q.where(CallbackRow.queue == queue)
        if number is not None:
            q = q.where(CallbackRow.number == number)
        async with self.db.session() as s:
            rows = (await s.execute(q.order_by(CallbackRow.due_at, CallbackRow.id).limit(limit))).scalars()
            return [Callback.of(r) for r in rows]

    async def belongs_to(self, callback_id: str, agent_id: str) -> bool:
        async with self.db.session() as s:
            found = await s.scalar(select(CallbackRow.id).where(CallbackRow.id == callback_id, owned_by(agent_id)))
            return found is not None

    async def counts(self) -> dict[str, int]:
        async with self.db.session() as s:
            rows = await s.execute(select(CallbackRow.state, func.count()).group_by(CallbackRow.state))
            return {str(state): int(n) for state, n in rows.all()}

    # ------------------------------------------------------------------ admin changes
    async def cancel(self, callback_id: str, *, reason: str, now: datetime) -> Callback:
        async with self.db.session() as s:
            row = await s.get(CallbackRow, callback_id, with_for_update=True)
            if row is None:
                raise CallbackNotFound(callback_id)
            if CallbackState(row.state) in FINAL_STATES:
                raise InvalidTransition(f"callback {callback_id} is already {row.state}")
            _finish(row, CallbackState.CANCELLED, reason, now)
            return Callback.of(row)

    async def cancel_active(self, number: str, queue: str, *, reason: str, now: datetime) -> list[str]:
        """Cancel the pair's active callback unless an attempt is in progress (that one ends itself)."""
        async with self.db.session() as s:
            rows = (await s.execute(select(CallbackRow).where(
                CallbackRow.active_key == active_key(number, queue), CallbackRow.state.in_(_WAITING))
                .with_for_update())).scalars().all()
            for row in rows:
                _finish(row, CallbackState.CANCELLED, reason, now)
            return [r.id for r in rows]

    async def reschedule(self, callback_id: str, *, at: datetime, now: datetime,
                         timezone: str | None = None) -> Callback:
        """A new due time (and, when given, the customer's zone) for a waiting callback."""
        async with self.db.session() as s:
            row = await s.get(CallbackRow, callback_id, with_for_update=True)
            if row is None:
                raise CallbackNotFound(callback_id)
            if row.state not in (*_WAITING, CallbackState.NEEDS_REVIEW.value):
                raise InvalidTransition(f"callback {callback_id} is {row.state}: only pending, scheduled or "
                                        "needs_review callbacks can be rescheduled")
            row.state, row.due_at, row.updated_at = CallbackState.SCHEDULED.value, at, now
            row.timezone = timezone or row.timezone
            row.lease_owner = row.leased_until = None
            return Callback.of(row)

    # ------------------------------------------------------------------ dispatchers
    async def claim(self, owner: str, *, now: datetime, lease_seconds: float, limit: int) -> list[Callback]:
        """Take up to ``limit`` due callbacks (and callbacks whose lease ran out) for ``owner``.

        A callback returned in state ``dialing`` was taken over from a dispatcher that died
        mid-attempt: its open attempt is left as it is, for :mod:`callbacks.takeover` to settle."""
        until = now + timedelta(seconds=lease_seconds)
        claimable = or_(
            and_(CallbackRow.state.in_(_WAITING), CallbackRow.due_at <= now,
                 or_(CallbackRow.leased_until.is_(None), CallbackRow.leased_until < now)),
            and_(CallbackRow.state == CallbackState.DIALING.value, CallbackRow.leased_until < now),
        )
        async with self.db.session() as s:
            if self.db.is_sqlite:
                ids = await self._claim_one_by_one(s, claimable, owner=owner, until=until, now=now, limit=limit)
            else:
                pick = (select(CallbackRow.id).where(claimable).order_by(CallbackRow.due_at).limit(limit)
                        .with_for_update(skip_locked=True).scalar_subquery())
                result = await s.execute(update(CallbackRow).where(CallbackRow.id.in_(pick))
                                         .values(lease_owner=owner, leased_until=until, updated_at=now)
                                         .returning(CallbackRow.id))
                ids = [i for (i,) in result.all()]
            if not ids:
                return []
            rows = (await s.execute(select(CallbackRow).where(CallbackRow.id.in_(ids))
                                    .order_by(CallbackRow.due_at))).scalars().all()
            return [Callback.of(r) for r in rows]

    async def _claim_one_by_one(self, s: AsyncSession, claimable: Any, *, owner: str, until: datetime,
                                now: datetime, limit: int) -> list[str]:
        candidates = (await s.execute(select(CallbackRow.id).where(claimable)
                                      .order_by(CallbackRow.due_at).limit(limit))).scalars().all()
        won: list[str] = []
        for callback_id in candidates:
            result = await s.execute(update(CallbackRow).where(CallbackRow.id == callback_id, claimable)
                                     .values(lease_owner=owner, leased_until=until, updated_at=now))
            if result.rowcount == 1:  # type: ignore[attr-defined]
                won.append(callback_id)
        return won

    async def renew(self, ids: Sequence[str], owner: str, *, until: datetime) -> set[str]:
        """Extend our leases; returns the ids still ours."""
        if not ids:
            return set()
        async with self.db.session() as s:
            result = await s.execute(update(CallbackRow).where(CallbackRow.id.in_(list(ids)),
                                                               CallbackRow.lease_owner == owner)
                                     .values(leased_until=until).returning(CallbackRow.id))
            return {r for (r,) in result.all()}

    async def release(self, callback_id: str, owner: str, *, due_at: datetime, now: datetime,
                      reason: str | None = None) -> bool:
        """Give the lease back without an attempt (deferred by policy, or shutting down)."""
        async with self.db.session() as s:
            result = await s.execute(update(CallbackRow).where(
                CallbackRow.id == callback_id, CallbackRow.lease_owner == owner, CallbackRow.state.in_(_WAITING))
                .values(lease_owner=None, leased_until=None, due_at=due_at, updated_at=now,
                        reason=reason))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def close(self, callback_id: str, owner: str, *, state: CallbackState, reason: str, now: datetime,
                    refused_attempt: str | None = None) -> bool:
        """End a leased callback without dialling (expired; opted out: with a ``refused`` attempt)."""
        async with self.db.session() as s:
            row = await s.get(CallbackRow, callback_id, with_for_update=True)
            if row is None or row.lease_owner != owner or row.state not in _WAITING:
                return False
            if refused_attempt is not None:
                seq = await _next_seq(s, callback_id)
                s.add(CallbackAttemptRow(callback_id=callback_id, seq=seq, started_at=now, ended_at=now,
                                         outcome=AttemptOutcome.REFUSED.value, mode="policy", dispatcher=owner,
                                         counted=0, detail=refused_attempt[:200]))
                row.last_outcome = AttemptOutcome.REFUSED.value
            _finish(row, state, reason, now)
            return True

    async def start_attempt(self, callback_id: str, owner: str, *, mode: str, target: str | None,
                            agent_id: str | None, now: datetime) -> int | None:
        """Mark the callback dialing and open an attempt; None when it is no longer ours to dial
        (cancelled, rescheduled or taken over meanwhile)."""
        async with self.db.session() as s:
            result = await s.execute(update(CallbackRow).where(
                CallbackRow.id == callback_id, CallbackRow.lease_owner == owner, CallbackRow.state.in_(_WAITING))
                .values(state=CallbackState.DIALING.value, updated_at=now))
            if not result.rowcount:  # type: ignore[attr-defined]
                return None
            # one statement: the next sequence number is computed by the database
            inserted = await s.execute(insert(CallbackAttemptRow).values(
                callback_id=callback_id, seq=_next_seq_of(callback_id), started_at=now, mode=mode, target=target,
                agent_id=agent_id, dispatcher=owner, counted=1).returning(CallbackAttemptRow.seq))
            return int(inserted.scalar_one())

    async def record_leg(self, callback_id: str, seq: int, outcome: AttemptOutcome, *, channel: str | None,
                         now: datetime) -> None:
        """The origination side's answer for the first leg, committed before the call goes on: a
        fact about the world, written whoever holds the lease."""
        async with self.db.session() as s:
            await s.execute(update(CallbackAttemptRow).where(
                CallbackAttemptRow.callback_id == callback_id, CallbackAttemptRow.seq == seq)
                .values(leg_outcome=outcome.value, leg_at=now, channel=(channel or "")[:128] or None))

    async def last_attempt(self, callback_id: str) -> Attempt | None:
        """The latest attempt: still open when its dispatcher died during it; closed when a
        dispatcher that had lost its lease recorded it (``finish_attempt`` keeps the fact)."""
        async with self.db.session() as s:
            row = (await s.execute(select(CallbackAttemptRow).where(CallbackAttemptRow.callback_id == callback_id)
                                   .order_by(CallbackAttemptRow.seq.desc()).limit(1))).scalar_one_or_none()
            return Attempt.of(row) if row is not None else None

    async def recheck_later(self, callback_id: str, owner: str, *, at: datetime, now: datetime) -> bool:
        """Leave a taken-over attempt open (its call is still up) and let it be claimed again at ``at``."""
        async with self.db.session() as s:
            result = await s.execute(update(CallbackRow).where(
                CallbackRow.id == callback_id, CallbackRow.lease_owner == owner,
                CallbackRow.state == CallbackState.DIALING.value)
                .values(lease_owner=None, leased_until=at, updated_at=now))
            return bool(result.rowcount)  # type: ignore[attr-defined]

    async def hold_for_review(self, callback_id: str, owner: str, seq: int, *, detail: str, now: datetime) -> bool:
        """Close a taken-over attempt as ``unknown`` and hold the callback for a person."""
        async with self.db.session() as s:
            result = await s.execute(update(CallbackRow).where(
                CallbackRow.id == callback_id, CallbackRow.lease_owner == owner,
                CallbackRow.state == CallbackState.DIALING.value)
                .values(state=CallbackState.NEEDS_REVIEW.value, lease_owner=None, leased_until=None,
                        last_outcome=AttemptOutcome.UNKNOWN.value, reason=detail[:200], updated_at=now))
            if not result.rowcount:  # type: ignore[attr-defined]
                return False
            await s.execute(update(CallbackAttemptRow).where(
                CallbackAttemptRow.callback_id == callback_id, CallbackAttemptRow.seq == seq)
                .values(ended_at=now, outcome=AttemptOutcome.UNKNOWN.value, counted=0, detail=detail[:200]))
            return True

    async def finish_attempt(self, callback_id: str, owner: str, seq: int, end: AttemptEnd, *,
                             now: datetime) -> bool:
        """Close the attempt and move the callback on; False if we had lost the lease (the
        attempt is still recorded, the callback is left to whoever owns it now)."""
        async with self.db.session() as s:
            await s.execute(update(CallbackAttemptRow).where(
                CallbackAttemptRow.callback_id == callback_id, CallbackAttemptRow.seq == seq)
                .values(ended_at=now, outcome=end.outcome.value, counted=int(end.counted),
                        detail=(end.detail or "")[:200] or None))
            values: dict[str, Any] = {
                "attempts": CallbackRow.attempts + int(end.counted), "last_outcome": end.outcome.value,
                "state": end.state.value, "reason": end.reason, "lease_owner": None, "leased_until": None,
                "updated_at": now}
            if end.state in FINAL_STATES:
                values["active_key"] = None
            else:
                values["due_at"] = end.due_at or now
            # conditional on still owning the lease: a dispatcher that lost it changes nothing
            result = await s.execute(update(CallbackRow).where(
                CallbackRow.id == callback_id, CallbackRow.lease_owner == owner,
                CallbackRow.state == CallbackState.DIALING.value).values(**values))
            return bool(result.rowcount)  # type: ignore[attr-defined]


async def _next_seq(s: AsyncSession, callback_id: str) -> int:
    value = await s.scalar(select(_next_seq_of(callback_id)))
    return int(value or 1)


def _next_seq_of(callback_id: str) -> Any:
    return (select(func.coalesce(func.max(CallbackAttemptRow.seq), 0) + 1)
            .where(CallbackAttemptRow.callback_id == callback_id).scalar_subquery())


def _finish(row: CallbackRow, state: CallbackState, reason: str | None, now: datetime) -> None:
    row.state = state.value
    row.active_key = None
    row.reason = reason
    row.lease_owner = row.leased_until = None
    row.updated_at = now


def owned_by(agent_id: str) -> ColumnElement[bool]:
    """An agent's callbacks: one they dialled, or one asked for on a call they handled."""
    dialled = select(CallbackAttemptRow.callback_id).where(CallbackAttemptRow.agent_id == agent_id)
    return or_(CallbackRow.id.in_(dialled), CallbackRow.context["call_id"].as_string().in_(handled_calls(agent_id)))
