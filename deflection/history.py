"""One customer's history across channels: calls, links, messages, cases, callbacks, ratings."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, TypedDict

from deflection.cases import CaseStore
from deflection.links import LinkStore
from deflection.messages import MessageStore
from deflection.ratings import RatingStore
from deflection.records import CallsForNumber
from deflection.tokens import scrub_tokens

log = logging.getLogger(__name__)


class _Callback(Protocol):
    @property
    def created_at(self) -> datetime: ...

    def to_dict(self) -> dict[str, object]: ...


class HistoryPage(TypedDict):
    """A number's history as JSON: ``items`` newest first, each with ``kind`` and ``at`` (ISO)."""

    number: str
    items: list[dict[str, object]]


class CallbackFinder(Protocol):
    """The callbacks service's search (``callbacks.service.CallbackService.find``)."""

    async def find(self, *, number: str | None = None, limit: int = 100) -> Sequence[_Callback]: ...


class CustomerHistory:
    def __init__(self, *, links: LinkStore, messages: MessageStore, cases: CaseStore, ratings: RatingStore,
                 calls: CallsForNumber | None, callbacks: CallbackFinder | None) -> None:
        self._links = links
        self._messages = messages
        self._cases = cases
        self._ratings = ratings
        self._calls = calls
        self._callbacks = callbacks

    async def for_number(self, number: str, *, limit: int = 50) -> HistoryPage:
        """Newest first; each item has ``kind``, ``at`` (ISO) and that record's fields. Live links
        are masked (agents read this in their screen pop; a full link is a credential)."""
        items: list[tuple[datetime, dict[str, object]]] = []
        if self._calls is not None:
            for c in await self._calls.calls_for_number(number, limit):
                d = c.to_dict()
                d.pop("events", None)
                items.append((c.started_at, {"kind": "call", **d}))
        for link in await self._links.list(number=number, limit=limit):
            items.append((link.created_at, {"kind": "link", **link.to_dict(with_context=False)}))
        for m in await self._messages.list(number=number, limit=limit):
            d = m.to_dict()
            if m.provider == "outbox":
                d.pop("body", None)  # the outbox body holds a live token
            items.append((m.created_at, {"kind": "message", **d}))
        for case in await self._cases.list(number=number, limit=limit):
            items.append((case.created_at, {"kind": "case", **case.to_dict()}))
        for r in await self._ratings.list(number=number, limit=limit):
            items.append((r.at, {"kind": "rating", **r.to_dict()}))
        items.extend(await self._callback_items(number, limit))
        items.sort(key=lambda pair: pair[0], reverse=True)
        return {"number": number, "items": [scrub_tokens({"at": at.isoformat(), **d}) for at, d in items[:limit]]}

    async def _callback_items(self, number: str, limit: int) -> list[tuple[datetime, dict[str, object]]]:
        """Callbacks, through the callbacks service's ``find(number=..., limit=...)`` (none when callbacks are off)."""
        if self._callbacks is None:
            return []
        found = await self._callbacks.find(number=number, limit=limit)
        return [(cb.created_at, {"kind": "callback", **cb.to_dict()}) for cb in found]
