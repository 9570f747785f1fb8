"""What the landing page needs from the callbacks domain (its public service, ``container.callbacks.service``).

The page books, moves and cancels the caller's callback only through these calls, and reads its
state to say whether it happened (which is what allows a rating).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from ivr.ports import CallbackRequest, CallbackTicket

SERVED_STATE = "completed"  # a callback that was answered


class PageCallbacks(Protocol):
    async def request(self, req: CallbackRequest) -> CallbackTicket: ...

    async def bookable(self, number: str, queue: str, candidates: Sequence[datetime],
                       timezone: str | None = None) -> list[datetime]: ...

    async def rebook(self, callback_id: str, *, at: datetime, timezone: str | None = None) -> Any: ...

    async def withdraw(self, callback_id: str, *, reason: str) -> Any: ...

    async def booking(self, callback_id: str) -> Any | None:
        """The callback (``state``, ``due_at``, ``timezone``), or None when it is gone."""
        ...


class CallLookup(Protocol):
    async def get_call(self, call_id: str) -> Any: ...


def state_of(callback: Any) -> str:
    state = getattr(callback, "state", None)
    return str(getattr(state, "value", state))
