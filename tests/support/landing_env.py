"""The landing page against the real callbacks service, on a fixed clock.

The page, the deflection store and the callbacks service share one clock so "now" is a chosen
instant (the slots, the link's expiry and the callbacks policy all follow it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from callbacks.policy import QueuePolicy
from callbacks.service import CallbackService
from deflection.cases import CaseStore
from deflection.links import LinkPurpose, LinkStore, Stage
from deflection.messages import MessageStore
from deflection.metrics import DeflectionMetrics
from deflection.optout import OptOutRegistry
from deflection.pages import PageDeps, page_router
from deflection.ratelimit import SlidingWindowLimiter
from deflection.ratings import RatingStore
from deflection.service import DeflectionService
from deflection.tokens import new_token
from ivr.db import Database
from ivr.events import EventBus
from ivr.ports import MessageChannel
from ivr.settings import DeflectionSettings
from tests.support.callbacks_fakes import make_callbacks
from tests.support.deflection_env import NUMBER, AlwaysOpen, CallsSeen, snapshot


@dataclass
class Landing:
    app: FastAPI
    links: LinkStore
    callbacks: CallbackService
    calls: CallsSeen
    ratings: RatingStore
    now: list[datetime]

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="https://puente.example")

    async def link(self, *, number: str = NUMBER, reason: str = "queue_wait", context: dict[str, Any] | None = None,
                   purpose: LinkPurpose = LinkPurpose.DEFLECTION, call_id: str = "call-1") -> tuple[str, str]:
        """A link as the flow creates it: (link id, token)."""
        token = new_token()
        ctx = context if context is not None else {**snapshot(call_id, caller=number).to_dict(), "reason": reason}
        record = await self.links.create(
            token=token, purpose=purpose, number=number, call_id=call_id, language="es",
            channel=MessageChannel.SMS, reason=reason, queue=ctx.get("queue"), context=ctx, consent_id=None,
            now=self.now[0], ttl=timedelta(hours=24), stages=(Stage.OFFERED, Stage.ACCEPTED))
        return record.id, token


def landing(db: Database, now: datetime, *, policy: QueuePolicy | None = None,
            settings: DeflectionSettings | None = None) -> Landing:
    clock = [now]

    def read() -> datetime:
        return clock[0]

    ds = settings or DeflectionSettings()
    links = LinkStore(db)
    service = DeflectionService(
        links=links, messages=MessageStore(db), optouts=OptOutRegistry(db, region="ES"), providers={},
        settings=ds, public_base_url="https://puente.example", bus=EventBus(), metrics=DeflectionMetrics(None),
        clock=read)
    callbacks = make_callbacks(db, policies={q: policy or QueuePolicy() for q in ("billing", "general")})
    callbacks.clock = read
    calls = CallsSeen()
    ratings = RatingStore(db)
    deps = PageDeps(service=service, cases=CaseStore(db), ratings=ratings, settings=ds,
                    views=SlidingWindowLimiter(ds.open_rate_limit_per_minute),
                    misses=SlidingWindowLimiter(ds.miss_rate_limit_per_minute),
                    schedules=AlwaysOpen(), callbacks=callbacks, calls=calls, clock=read)
    app = FastAPI()
    app.include_router(page_router(deps))
    return Landing(app, links, callbacks, calls, ratings, clock)


