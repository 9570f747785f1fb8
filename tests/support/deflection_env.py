"""Build the deflection domain for tests: container, app, a fake CallbackPort, a fixed schedule."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from prometheus_client import CollectorRegistry

from api.app import create_app
from deflection import plugin as deflection_plugin
from deflection.plugin import DeflectionCallbacks, DeflectionCalls
from deflection.slots import ScheduleLookup
from ivr.calls.records import CallRecord
from ivr.channel import InputMode
from ivr.composition import Container, build_container
from ivr.context import ContextSnapshot, InputRecord
from ivr.db import Database
from ivr.ports import (
    CallbackRefused,
    CallbackRequest,
    CallbackTicket,
    Consent,
    ConsentMethod,
    DeflectionRequest,
)
from ivr.settings import Settings

NUMBER = "+34612345678"  # a Spanish mobile
FIXED_LINE = "+34911234567"


@dataclass
class FakeBooking:
    id: str
    due_at: datetime
    timezone: str | None
    state: str = "pending"


@dataclass
class FakeCallbacks:
    """The page's view of the callbacks service (deflection.booking.PageCallbacks); refuses numbers
    in ``refuse`` and instants in ``unavailable``."""

    requests: list[CallbackRequest] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    unavailable: set[datetime] = field(default_factory=set)
    bookings: dict[str, FakeBooking] = field(default_factory=dict)

    async def request(self, req: CallbackRequest) -> CallbackTicket:
        if req.number in self.refuse:
            raise CallbackRefused("opted_out")
        self.requests.append(req)
        cb_id = f"cb{len(self.requests)}"
        due = req.not_before or datetime.now(UTC)
        self.bookings[cb_id] = FakeBooking(cb_id, due, req.timezone)
        return CallbackTicket(callback_id=cb_id, scheduled_for=due)

    async def reached_agent(self, number: str, queue: str) -> None:
        return None

    async def bookable(self, number: str, queue: str, candidates: Sequence[datetime],
                       timezone: str | None = None) -> list[datetime]:
        return [c for c in candidates if c not in self.unavailable]

    async def rebook(self, callback_id: str, *, at: datetime, timezone: str | None = None) -> FakeBooking:
        booking = self.bookings[callback_id]
        if booking.state not in ("pending", "scheduled") or at in self.unavailable:
            raise CallbackRefused("not available")
        booking.due_at, booking.state = at, "scheduled"
        booking.timezone = timezone or booking.timezone
        return booking

    async def withdraw(self, callback_id: str, *, reason: str) -> FakeBooking:
        booking = self.bookings.get(callback_id)
        if booking is None or booking.state not in ("pending", "scheduled"):
            raise CallbackRefused("gone")
        booking.state = "cancelled"
        return booking

    async def booking(self, callback_id: str) -> FakeBooking | None:
        return self.bookings.get(callback_id)

    async def find(self, *, number: str | None = None, limit: int = 100) -> list[_Callback]:
        """Like callbacks.service's ``find``: what the customer history lists."""
        return [_Callback(f"cb{i + 1}", r.not_before or datetime.now(UTC)) for i, r in enumerate(self.requests)
                if number is None or r.number == number][:limit]


@dataclass(frozen=True)
class _Callback:
    callback_id: str
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"callback_id": self.callback_id, "created_at": self.created_at.isoformat(), "state": "scheduled"}


@dataclass(frozen=True)
class _Status:
    is_open: bool


class AlwaysOpen:
    async def status(self, name: str, at: datetime | None = None) -> _Status:
        return _Status(True)


def settings(**deflection: Any) -> Settings:
    s = Settings()
    s.http.public_base_url = "https://puente.example"
    for k, v in deflection.items():
        setattr(s.deflection, k, v)
    return s


@dataclass
class CallsSeen:
    """The call records as the page reads them: ``served`` lists the calls an agent answered."""

    served: set[str] = field(default_factory=set)

    async def get_call(self, call_id: str) -> CallRecord:
        return CallRecord(call_id=call_id, caller=NUMBER, dialled="900100200", backend="agi", flow="support",
                          language="es", started_at=datetime.now(UTC),
                          agent_id="a1" if call_id in self.served else None)

    async def calls_for_number(self, number: str, limit: int = 20) -> list[CallRecord]:
        return []  # the pages read single calls only


async def container(db: Database, s: Settings | None = None, *, callbacks: DeflectionCallbacks | None = None,
                    schedules: ScheduleLookup | None = None, calls: DeflectionCalls | None = None) -> Container:
    """The whole container, its deflection domain built again on the fakes given (the others' real
    services where none is given; callbacks off unless given)."""
    base = await build_container(s or settings(), db=db)
    await base.deflection.aclose()  # replaced below: its providers' HTTP client is not used
    domain = deflection_plugin.build(
        base.settings, db, base.bus, registry=CollectorRegistry(), optouts=base.optouts,
        calls=calls or base.calls.store, schedules=schedules or base.config.schedules, callbacks=callbacks,
        queues=base.acd.queues)
    return replace(base, deflection=domain)


def client(c: Container) -> httpx.AsyncClient:
    app = create_app(c)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://puente.example")


def snapshot(call_id: str = "call-1", *, caller: str = NUMBER, language: str = "es") -> ContextSnapshot:
    started = datetime(2026, 11, 23, 9, 42, tzinfo=UTC)  # 10:42 in Madrid
    return ContextSnapshot(
        call_id=call_id, caller=caller, dialled="900100200", language=language, flow="support",
        path=("greeting", "main_menu", "billing"),
        inputs=(InputRecord(node="main_menu", mode=InputMode.SPEECH, transcript="una factura duplicada",
                            confidence=0.8, at=started + timedelta(seconds=20)),),
        variables={}, queue="billing", waited_seconds=185.0, ewt_seconds=300.0, reason="queue_wait",
        started_at=started,
    )


def request(number: str = NUMBER, **kw: Any) -> DeflectionRequest:
    consent = Consent(method=ConsentMethod.KEY, at=datetime.now(UTC), prompt_id="deflection/offer",
                      prompt_version="1")
    return DeflectionRequest(number=number, context=kw.pop("context", snapshot(caller=number)),
                             reason=kw.pop("reason", "queue_wait"), consent=consent, **kw)
