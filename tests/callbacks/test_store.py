"""The store on SQLite and the real PostgreSQL: merge, claims, leases, attempts, admin changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from callbacks.errors import CallbackNotFound, InvalidTransition
from callbacks.models import AttemptOutcome, CallbackState
from callbacks.store import CallbackStore
from callbacks.values import AttemptEnd, NewCallback
from ivr.db import Database
from ivr.ports import CallbackSource

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def new(number: str = "+34600111222", queue: str = "support", *, due: datetime = T0,
        arrival: datetime = T0 - timedelta(minutes=5), context: dict[str, Any] | None = None) -> NewCallback:
    return NewCallback(number=number, queue=queue, source=CallbackSource.ABANDON, arrival_time=arrival, due_at=due,
                       max_attempts=3, language="es", waited_seconds=300.0, context=context)


async def test_one_active_callback_per_number_and_queue_merges(database: Database) -> None:
    store = CallbackStore(database)
    first, merged = await store.create_or_merge(new(context={"inputs": [], "path": ["a"]}), now=T0)
    assert not merged and first.state is CallbackState.PENDING
    rich = {"inputs": [{"node": "menu", "digits": "2"}], "variables": {"need": "billing"}, "path": ["a", "menu"]}
    second, merged = await store.create_or_merge(
        new(arrival=T0 - timedelta(minutes=9), due=T0 + timedelta(hours=1), context=rich), now=T0)
    assert merged and second.id == first.id
    assert second.arrival_time == T0 - timedelta(minutes=9)  # the earliest arrival is kept
    assert second.due_at == T0  # and the earliest due time
    assert second.context == rich and second.merged == 1
    other_queue, merged = await store.create_or_merge(new(queue="billing"), now=T0)
    assert not merged and other_queue.id != first.id
    await store.cancel(first.id, reason="test", now=T0)
    again, merged = await store.create_or_merge(new(), now=T0)  # once final, a new one may start
    assert not merged and again.id != first.id


async def test_claim_only_due_and_not_twice(database: Database) -> None:
    store = CallbackStore(database)
    due, _ = await store.create_or_merge(new("+34600000001"), now=T0)
    await store.create_or_merge(new("+34600000002", due=T0 + timedelta(hours=1)), now=T0)
    claimed = await store.claim("a", now=T0, lease_seconds=60, limit=10)
    assert [c.id for c in claimed] == [due.id] and claimed[0].lease_owner == "a"
    assert await store.claim("b", now=T0 + timedelta(seconds=30), lease_seconds=60, limit=10) == []
    # the lease runs out: someone else may take it
    again = await store.claim("b", now=T0 + timedelta(seconds=61), lease_seconds=60, limit=10)
    assert [c.id for c in again] == [due.id] and again[0].lease_owner == "b"
    assert await store.renew([due.id], "a", until=T0 + timedelta(hours=1)) == set()
    assert await store.renew([due.id], "b", until=T0 + timedelta(hours=1)) == {due.id}


async def test_attempts_retry_and_final_states(database: Database) -> None:
    store = CallbackStore(database)
    cb, _ = await store.create_or_merge(new(), now=T0)
    await store.claim("a", now=T0, lease_seconds=60, limit=1)
    seq = await store.start_attempt(cb.id, "a", mode="agent_first", target="PJSIP/agent1", agent_id="a1", now=T0)
    assert seq == 1
    assert await store.start_attempt(cb.id, "a", mode="agent_first", target=None, agent_id=None, now=T0) is None
    later = T0 + timedelta(seconds=20)
    end = AttemptEnd(AttemptOutcome.BUSY, True, CallbackState.SCHEDULED, later + timedelta(minutes=5), "busy")
    assert await store.finish_attempt(cb.id, "a", seq, end, now=later)
    got = await store.get(cb.id)
    assert got.state is CallbackState.SCHEDULED and got.attempts == 1 and got.last_outcome is AttemptOutcome.BUSY
    assert got.due_at == later + timedelta(minutes=5) and got.lease_owner is None
    assert [(a.seq, a.outcome, a.ended_at) for a in got.history] == [(1, AttemptOutcome.BUSY, later)]
    t2 = later + timedelta(minutes=5)
    await store.claim("a", now=t2, lease_seconds=60, limit=1)
    seq2 = await store.start_attempt(cb.id, "a", mode="agent_first", target="PJSIP/agent1", agent_id="a1", now=t2)
    assert seq2 == 2
    await store.finish_attempt(cb.id, "a", 2, AttemptEnd(AttemptOutcome.ANSWERED, True, CallbackState.COMPLETED),
                               now=t2)
    done = await store.get(cb.id)
    assert done.state is CallbackState.COMPLETED and done.attempts == 2 and not done.active
    assert [a.outcome for a in done.history] == [AttemptOutcome.BUSY, AttemptOutcome.ANSWERED]
    with pytest.raises(InvalidTransition):
        await store.cancel(cb.id, reason="late", now=t2)


async def test_a_dead_dispatchers_attempt_is_taken_over_open(database: Database) -> None:
    """The attempt row is committed before the dial; the taker gets it open, with the leg's answer."""
    store = CallbackStore(database)
    cb, _ = await store.create_or_merge(new(), now=T0)
    await store.claim("dead", now=T0, lease_seconds=10, limit=1)
    seq = await store.start_attempt(cb.id, "dead", mode="customer_first", target="+34600111222", agent_id=None,
                                    now=T0)
    assert seq == 1
    await store.record_leg(cb.id, 1, AttemptOutcome.BUSY, channel="1733.42", now=T0)
    assert await store.claim("alive", now=T0 + timedelta(seconds=5), lease_seconds=10, limit=1) == []
    taken = await store.claim("alive", now=T0 + timedelta(seconds=11), lease_seconds=10, limit=1)
    assert [c.id for c in taken] == [cb.id] and taken[0].state is CallbackState.DIALING
    attempt = await store.last_attempt(cb.id)
    assert attempt is not None and attempt.seq == 1 and attempt.dispatcher == "dead"
    assert attempt.leg_outcome is AttemptOutcome.BUSY and attempt.channel == "1733.42"
    # the dead one's late report changes nothing
    late = AttemptEnd(AttemptOutcome.ANSWERED, True, CallbackState.COMPLETED)
    assert not await store.finish_attempt(cb.id, "dead", 1, late, now=T0 + timedelta(seconds=12))
    assert (await store.get(cb.id)).state is CallbackState.DIALING


async def test_hold_for_review_and_a_person_reschedules(database: Database) -> None:
    store = CallbackStore(database)
    cb, _ = await store.create_or_merge(new(), now=T0)
    await store.claim("dead", now=T0, lease_seconds=10, limit=1)
    await store.start_attempt(cb.id, "dead", mode="customer_first", target=None, agent_id=None, now=T0)
    later = T0 + timedelta(seconds=11)
    await store.claim("alive", now=later, lease_seconds=10, limit=1)
    assert not await store.hold_for_review(cb.id, "dead", 1, detail="not mine", now=later)
    assert await store.hold_for_review(cb.id, "alive", 1, detail="cannot tell", now=later)
    held = await store.get(cb.id)
    assert held.state is CallbackState.NEEDS_REVIEW and held.active and held.lease_owner is None
    assert [(a.outcome, a.counted) for a in held.history] == [(AttemptOutcome.UNKNOWN, False)]
    assert await store.claim("alive", now=later + timedelta(days=1), lease_seconds=10, limit=1) == []
    assert [c.id for c in await store.find(state=CallbackState.NEEDS_REVIEW)] == [cb.id]
    again = await store.reschedule(cb.id, at=later, now=later)  # a person decides to call again
    assert again.state is CallbackState.SCHEDULED


async def test_recheck_later_leaves_the_attempt_open(database: Database) -> None:
    store = CallbackStore(database)
    cb, _ = await store.create_or_merge(new(), now=T0)
    await store.claim("dead", now=T0, lease_seconds=10, limit=1)
    await store.start_attempt(cb.id, "dead", mode="customer_first", target=None, agent_id=None, now=T0)
    t = T0 + timedelta(seconds=11)
    await store.claim("alive", now=t, lease_seconds=10, limit=1)
    assert await store.recheck_later(cb.id, "alive", at=t + timedelta(seconds=30), now=t)
    assert await store.claim("other", now=t + timedelta(seconds=29), lease_seconds=10, limit=1) == []
    again = await store.claim("other", now=t + timedelta(seconds=31), lease_seconds=10, limit=1)
    assert [c.state for c in again] == [CallbackState.DIALING]
    assert (await store.last_attempt(cb.id)) is not None


async def test_admin_changes(database: Database) -> None:
    store = CallbackStore(database)
    cb, _ = await store.create_or_merge(new(), now=T0)
    moved = await store.reschedule(cb.id, at=T0 + timedelta(days=1), now=T0)
    assert moved.state is CallbackState.SCHEDULED and moved.due_at == T0 + timedelta(days=1)
    assert [c.id for c in await store.find(state=CallbackState.SCHEDULED, queue="support")] == [cb.id]
    assert await store.find(queue="billing") == []
    assert await store.cancel_active("+34600111222", "support", reason="reached an agent", now=T0) == [cb.id]
    assert (await store.get(cb.id)).state is CallbackState.CANCELLED
    assert await store.counts() == {"cancelled": 1}
    with pytest.raises(CallbackNotFound):
        await store.get("nope")
    with pytest.raises(InvalidTransition):
        await store.reschedule(cb.id, at=T0, now=T0)


async def test_close_with_a_refused_attempt(database: Database) -> None:
    store = CallbackStore(database)
    cb, _ = await store.create_or_merge(new(), now=T0)
    await store.claim("a", now=T0, lease_seconds=60, limit=1)
    assert await store.close(cb.id, "a", state=CallbackState.CANCELLED, reason="opted out", now=T0,
                             refused_attempt="the number has opted out")
    got = await store.get(cb.id)
    assert got.state is CallbackState.CANCELLED and got.last_outcome is AttemptOutcome.REFUSED
    assert [a.outcome for a in got.history] == [AttemptOutcome.REFUSED]
