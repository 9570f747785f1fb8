"""A call that dropped while queued (a failure, not the caller) makes its caller a returning caller."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ivr.calls.models import CallRow
from ivr.calls.store import CallStore
from ivr.db import Database
from ivr.events import EventBus
from ivr.ports import Disposition


async def _ended(db: Database, call_id: str, caller: str, disposition: Disposition, queue: str | None) -> None:
    ended = datetime.now(UTC) - timedelta(minutes=5)
    async with db.session() as s:
        s.add(CallRow(call_id=call_id, caller=caller, dialled="900", backend="agi", flow="support", language="es",
                      started_at=ended - timedelta(minutes=2), ended_at=ended, disposition=disposition.value,
                      queue=queue, waited_seconds=50.0 if queue else None))


async def test_a_call_dropped_in_the_queue_counts_one_failed_before_queueing_does_not(database: Database) -> None:
    store = CallStore(database, EventBus())
    await _ended(database, "dropped", "+34633000111", Disposition.FAILED, "billing")
    contact = await store.recent_unresolved("+34633000111", within_minutes=60)
    assert contact is not None and (contact.queue, contact.waited_seconds) == ("billing", 50.0)
    assert contact.disposition is Disposition.FAILED
    await _ended(database, "server-died", "+34633000333", Disposition.LOST_ON_RESTART, "support")
    lost = await store.recent_unresolved("+34633000333", within_minutes=60)  # our crash dropped them
    assert lost is not None and lost.queue == "support" and lost.disposition is Disposition.LOST_ON_RESTART
    await _ended(database, "menu-bug", "+34633000222", Disposition.FAILED, None)
    assert await store.recent_unresolved("+34633000222", within_minutes=60) is None  # no queue to go back to
