from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter

from ivr.calls.api import call_store, router
from ivr.calls.store import CallStore
from ivr.db import Database
from ivr.events import EventBus
from ivr.web.binding import Binding


@dataclass(frozen=True)
class CallsDomain:
    # The call recorder, the history of calls (returning callers, the desk) and the calls API's
    # store are one object: it implements ivr.ports.CallRecorder and CallHistory.
    store: CallStore
    routers: tuple[APIRouter, ...] = (router,)

    @property
    def bindings(self) -> tuple[Binding[Any], ...]:
        """What this domain's routes are given (:mod:`ivr.web.binding`)."""
        return (Binding(call_store, self.store),)


def build(db: Database, bus: EventBus, *, owner: str | None) -> CallsDomain:
    return CallsDomain(store=CallStore(db, bus, owner=owner))

