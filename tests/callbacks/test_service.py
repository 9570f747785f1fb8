"""The CallbackPort: sources, opt-outs, merges, quiet hours, reached_agent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import pytest

from callbacks.models import CallbackState
from callbacks.policy import QueuePolicy
from callbacks.service import CallbackService
from ivr.channel import InputMode
from ivr.contact import QuietHours
from ivr.context import ContextSnapshot, InputRecord
from ivr.db import Database
from ivr.events import EventBus
from ivr.events.types import CallbackLifecycle
from ivr.ports import CallbackRefused, CallbackRequest, CallbackSource
from tests.support.callbacks_fakes import FakeOptOuts, InstantAcd, make_callbacks

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # 13:00 in Madrid: inside the calling hours


def snapshot(*digits: str) -> ContextSnapshot:
    return ContextSnapshot(call_id="c1", caller="+34600111222", dialled="900100200", language="es", flow="support",
                           path=("welcome", "menu"),
                           inputs=tuple(InputRecord("menu", InputMode.DTMF, d) for d in digits),
                           variables={"need": "billing"} if digits else {}, queue="support")


def service(db: Database, **kwargs: object) -> CallbackService:
    svc = make_callbacks(db, **kwargs)  # type: ignore[arg-type]
    svc.clock = lambda: NOON
    return svc


async def test_request_validates_and_schedules(sqlite_db: Database) -> None:
    bus = EventBus()
    events = bus.subscribe()
    svc = service(sqlite_db, bus=bus)
    ticket = await svc.request(CallbackRequest(number="600 111 222", queue="support", source=CallbackSource.QUEUE_KEY,
                                               context=snapshot("2"), arrival_time=NOON - timedelta(minutes=4),
                                               waited_seconds=240, language="es"))
    assert ticket.scheduled_for == NOON and not ticket.merged
    cb = await svc.get(ticket.callback_id)
    assert cb.number == "+34600111222" and cb.arrival_time == NOON - timedelta(minutes=4)
    assert cb.context is not None and cb.context["inputs"][0]["digits"] == "2"
    event = events.get_nowait()
    assert isinstance(event, CallbackLifecycle) and event.state == "pending" and event.callback_id == cb.id
    with pytest.raises(CallbackRefused, match="invalid number"):
        await svc.request(CallbackRequest(number="12", queue="support", source=CallbackSource.API))


async def test_merge_keeps_earliest_arrival_and_richer_context(sqlite_db: Database) -> None:
    svc = service(sqlite_db)
    first = await svc.request(CallbackRequest(number="+34600111222", queue="support", source=CallbackSource.FLOW_DROP,
                                              context=snapshot(), arrival_time=NOON - timedelta(minutes=2)))
    second = await svc.request(CallbackRequest(number="+34600111222", queue="support", source=CallbackSource.ABANDON,
                                               context=snapshot("2", "1"), arrival_time=NOON - timedelta(minutes=7),
                                               waited_seconds=400))
    assert second.merged and second.callback_id == first.callback_id
    cb = await svc.get(first.callback_id)
    assert cb.arrival_time == NOON - timedelta(minutes=7)
    assert [i["digits"] for i in cb.context["inputs"]] == ["2", "1"]  # type: ignore[index]


async def test_policy_refusals(sqlite_db: Database) -> None:
    svc = service(sqlite_db, policies={"support": QueuePolicy(min_wait_seconds=30),
                                       "billing": QueuePolicy(sources=frozenset({CallbackSource.API}))},
                  optouts=FakeOptOuts({"+34600999999"}), acd=InstantAcd())
    with pytest.raises(CallbackRefused, match="minimum wait"):
        await svc.request(CallbackRequest(number="+34600111222", queue="support", source=CallbackSource.ABANDON,
                                          waited_seconds=10))
    with pytest.raises(CallbackRefused, match="from queue_key are off"):
        await svc.request(CallbackRequest(number="+34600111222", queue="billing", source=CallbackSource.QUEUE_KEY))
    with pytest.raises(CallbackRefused, match="opted out"):
        await svc.request(CallbackRequest(number="+34600999999", queue="support", source=CallbackSource.API))
    with pytest.raises(CallbackRefused, match="unknown queue"):
        await svc.request(CallbackRequest(number="+34600111222", queue="nope", source=CallbackSource.API))
    ok = await svc.request(CallbackRequest(number="+34600111222", queue="support", source=CallbackSource.ABANDON,
                                           waited_seconds=31))
    assert ok.callback_id


async def test_quiet_hours_and_not_before(sqlite_db: Database) -> None:
    svc = service(sqlite_db, policies={"support": QueuePolicy(quiet_hours=QuietHours(time(21), time(9)))})
    late = datetime(2026, 3, 2, 21, 30, tzinfo=UTC)  # 22:30 in Madrid
    svc.clock = lambda: late
    ticket = await svc.request(CallbackRequest(number="+34911234567", queue="support", source=CallbackSource.API))
    assert ticket.scheduled_for == datetime(2026, 3, 3, 8, 0, tzinfo=UTC)  # 09:00 Madrid
    chosen = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
    svc.clock = lambda: NOON
    page = await svc.request(CallbackRequest(number="+34911234568", queue="support", source=CallbackSource.PAGE,
                                             not_before=chosen))
    assert page.scheduled_for == chosen


async def test_exact_page_booking_in_the_chosen_zone(database: Database) -> None:
    """A +34 mobile spans Madrid and the Canaries. 09:30 Madrid (08:30 Canaries) on a winter morning
    is allowed in Madrid, the main zone (no zone chosen) and when Madrid is chosen; in the Canaries
    it is quiet. An exact request is never moved: it is refused."""
    svc = service(database, policies={"support": QueuePolicy(quiet_hours=QuietHours(time(21), time(9)))})
    svc.clock = lambda: datetime(2026, 12, 6, 20, 0, tzinfo=UTC)
    mobile, chosen = "+34612345678", datetime(2026, 12, 7, 8, 30, tzinfo=UTC)
    assert await svc.bookable(mobile, "support", [chosen]) == [chosen]  # no zone: the main zone, Madrid
    assert await svc.bookable(mobile, "support", [chosen], "Europe/Madrid") == [chosen]
    assert await svc.bookable(mobile, "support", [chosen], "Atlantic/Canary") == []
    with pytest.raises(CallbackRefused, match="not available"):
        await svc.request(CallbackRequest(number=mobile, queue="support", source=CallbackSource.PAGE,
                                          not_before=chosen, timezone="Atlantic/Canary", exact=True))
    # An earlier callback for the pair (an abandon) moves to the time the caller chose: still one.
    first = await svc.request(CallbackRequest(number=mobile, queue="support", source=CallbackSource.API))
    ticket = await svc.request(CallbackRequest(number=mobile, queue="support", source=CallbackSource.PAGE,
                                               not_before=chosen, timezone="Europe/Madrid", exact=True))
    assert ticket.merged and ticket.callback_id == first.callback_id and ticket.scheduled_for == chosen
    cb = await svc.get(ticket.callback_id)
    assert cb.due_at == chosen and cb.timezone == "Europe/Madrid"
    # Moving and withdrawing go through the same rules.
    later = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    assert (await svc.rebook(cb.id, at=later)).due_at == later
    with pytest.raises(CallbackRefused):
        await svc.rebook(cb.id, at=datetime(2026, 12, 7, 22, 0, tzinfo=UTC))  # 23:00 in Madrid: quiet
    assert (await svc.withdraw(cb.id, reason="by the caller")).state is CallbackState.CANCELLED
    with pytest.raises(CallbackRefused):
        await svc.withdraw(cb.id, reason="again")
    assert (await svc.booking(cb.id)) is not None and await svc.booking("nope") is None


async def test_reached_agent_cancels(sqlite_db: Database) -> None:
    svc = service(sqlite_db)
    ticket = await svc.request(CallbackRequest(number="+34600111222", queue="support", source=CallbackSource.API))
    await svc.reached_agent("600111222", "billing")  # another queue: untouched
    assert (await svc.get(ticket.callback_id)).state is CallbackState.PENDING
    await svc.reached_agent("600111222", "support")
    cb = await svc.get(ticket.callback_id)
    assert cb.state is CallbackState.CANCELLED and cb.reason == "reached an agent"
    await svc.reached_agent("anonymous", "support")  # no error for an odd caller id


@dataclass(frozen=True)
class OpenState:
    is_open: bool


class ClosedUntilTen:
    """A schedule open 10:00-18:00 UTC every day."""

    async def status(self, name: str, at: datetime | None = None) -> OpenState:
        assert at is not None
        return OpenState(10 <= at.hour < 18)

    def next_open(self, name: str, after: datetime) -> datetime | None:
        day = after if after.hour < 10 else after + timedelta(days=1)
        return day.replace(hour=10, minute=0, second=0, microsecond=0)


async def test_calling_window_from_a_schedule(sqlite_db: Database) -> None:
    from callbacks.service import PolicyBook
    from callbacks.store import CallbackStore
    from ivr.settings import CallbackSettings

    policy = QueuePolicy(schedule="support", quiet_hours=None)
    svc = CallbackService(CallbackStore(sqlite_db), EventBus(), CallbackSettings(),
                          policies=PolicyBook(overrides={"support": policy}), schedules=ClosedUntilTen())
    early = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    assert await svc.next_allowed("+34911234567", early, policy) == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    inside = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    assert await svc.next_allowed("+34911234567", inside, policy) == inside
    evening = datetime(2026, 3, 2, 19, 0, tzinfo=UTC)
    assert await svc.next_allowed("+34911234567", evening, policy) == datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
    # quiet hours and the window together: New York at 10:00 UTC is 05:00 local, polite from 14:00 UTC
    both = QueuePolicy(schedule="support", quiet_hours=QuietHours(time(21), time(9)))
    assert await svc.next_allowed("+12125551234", early, both) == datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def test_policy_book_follows_the_acd_config() -> None:
    from callbacks.service import PolicyBook

    class Cfg:
        def __init__(self) -> None:
            self.extra: dict[str, dict[str, object]] = {"callback": {"max_attempts": 5}}

    class Acd:
        cfg = Cfg()

        def queue_config(self, name: str) -> Cfg:
            return self.cfg

        def queue_names(self) -> list[str]:
            return ["support"]

    acd = Acd()
    book = PolicyBook(acd)
    assert book.policy("support").max_attempts == 5
    acd.cfg.extra = {"callback": {"max_attempts": 2, "mode": "customer_first"}}  # an admin edit
    assert book.policy("support").max_attempts == 2
    acd.cfg.extra = {"callback": {"mode": "sometimes"}}  # invalid: off, loudly (logged)
    assert not book.policy("support").enabled
