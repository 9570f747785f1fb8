"""EWT on several nodes (real PostgreSQL): every node learns its rates from every node's stored
contacts, so two nodes announce the same estimate for the same place in line; a node that started
later holds the same rates as the others once it has read the same rows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from ivr.acd.service import AcdService
from ivr.acd.sharedrates import SharedRates, rates_from
from ivr.acd.store import AcdStore, ContactRecord, SeenContact
from ivr.acd.types import AgentState, StateReason
from ivr.db import Database
from tests.support.acd_fakes import make_service
from tests.support.database import postgres_database
from tests.support.services import require_postgres

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
async def pg() -> AsyncIterator[Database]:
    require_postgres()
    async with postgres_database() as db:
        yield db


def node(db: Database) -> tuple[AcdService, SharedRates]:
    svc = make_service(store=AcdStore(db))
    svc.clock = lambda: NOW
    for agent in ("a1", "a2"):  # both staffed, none free: a caller must wait
        svc.router.agents[agent].state, svc.router.agents[agent].reason = AgentState.BUSY, StateReason.CONTACT
    return svc, SharedRates(AcdStore(db), svc.rates, svc.shared_priors)


async def calls(store: AcdStore, tag: str, n: int, *, handle: float, abandon_every: int, priority: int,
                start: datetime) -> None:
    """``n`` queue stays handled on one node (stored as that node's hold loop stores them)."""
    for i in range(n):
        joined = start + timedelta(seconds=40 * i)
        abandoned = abandon_every and i % abandon_every == 0
        left = joined + timedelta(seconds=30 + i % 7)
        await store.record_contact(ContactRecord(
            entry_id=f"{tag}{i}", call_id=f"{tag}.{i}", queue="support", kind="call", arrival=joined,
            joined_at=joined, left_at=left, outcome="abandoned" if abandoned else "connected",
            waited_seconds=(left - joined).total_seconds(), position_at_join=3, position_at_exit=1,
            agent_id=None if abandoned else "a1", handle_seconds=None if abandoned else handle + i % 11,
            priority=priority))
        if not abandoned:
            await store.add_prediction(entry_id=f"{tag}{i}", call_id=None, queue="support", at=joined,
                                       predicted_seconds=20.0, method="qlm", ahead=2, servers=2, model_seconds=20.0)
            await store.resolve_predictions(f"{tag}{i}", left_at=left, outcome="connected")


def estimates(svc: AcdService, *, priority: int = 0) -> list[float]:
    out = []
    for ahead in range(12):
        prediction = svc.estimate("support", ahead=ahead, priority=priority)
        assert prediction is not None
        out.append(prediction.seconds)
    return out


async def test_two_nodes_announce_the_same_wait_for_the_same_place(pg: Database) -> None:
    (a, rates_a), (b, rates_b) = node(pg), node(pg)
    # node a handled long calls at priority 0; node b short ones, some abandoned, at priority 5
    start = NOW - timedelta(hours=1)
    await calls(AcdStore(pg), "a", 40, handle=420.0, abandon_every=0, priority=0, start=start)
    await calls(AcdStore(pg), "b", 40, handle=60.0, abandon_every=4, priority=5, start=start + timedelta(seconds=7))
    own_a = rates_from(a.shared_priors()["support"], [s for s in await AcdStore(pg).contacts_after(0, per_queue=1000)
                                                      if s.contact.entry_id.startswith("a")])
    assert await rates_a.refresh() == {"support"} and await rates_b.refresh() == {"support"}

    assert estimates(a) == estimates(b)  # the same place, the same wait, whichever node the caller is on
    assert estimates(a, priority=0) != estimates(a, priority=5)  # b's priority-5 callers overtake
    assert estimates(a, priority=0) == estimates(b, priority=0)
    # the rates are both nodes': handle times between a's and b's, b's abandons counted
    assert 60 < a.rates["support"].mean_handle < 420 and a.rates["support"].theta > 0
    assert own_a.mean_handle > a.rates["support"].mean_handle and own_a.theta == 0  # (one node's view)

    # later contacts from one node reach both; a node that starts now holds the same rates
    await calls(AcdStore(pg), "c", 15, handle=200.0, abandon_every=3, priority=0, start=NOW - timedelta(minutes=5))
    await rates_a.refresh()
    await rates_b.refresh()
    c, rates_c = node(pg)
    await rates_c.refresh()
    assert estimates(a) == estimates(b) == estimates(c)
    assert await rates_a.refresh() == set()  # nothing new: nothing rebuilt


async def test_the_window_keeps_the_last_contacts_in_id_order(pg: Database) -> None:
    store = AcdStore(pg)
    await calls(store, "a", 5, handle=100.0, abandon_every=0, priority=0, start=NOW - timedelta(hours=1))
    seen = await store.contacts_after(0, per_queue=3)
    assert [s.contact.entry_id for s in seen] == ["a2", "a3", "a4"]
    assert all(isinstance(s, SeenContact) and s.outcome is not None for s in seen)
    assert [s.contact.entry_id for s in await store.contacts_after(seen[1].id, per_queue=100)] == ["a4"]
