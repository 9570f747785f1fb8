"""What the landing page needs from the callbacks domain (its public service, ``container.callbacks.service``).

The page books, moves and cancels the caller's callback only through these calls, and reads its
state to say whether it happened (which is what allows a rating).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from ivr.ports import CallbackRequest, CallbackTicket

SERVED_STATE = "completed"  # a callback that was answered


class Booking(Protocol):
    """A callback (``callbacks.values.Callback``) as the page shows it."""

    @property
    def state(self) -> str: ...  # ``callbacks.models.CallbackState``: a StrEnum

    @property
    def due_at(self) -> datetime: ...

    @property
    def timezone(self) -> str | None: ...


class PageCallbacks(Protocol):
    async def request(self, req: CallbackRequest) -> CallbackTicket: ...

    async def bookable(self, number: str, queue: str, candidates: Sequence[datetime],
                       timezone: str | None = None) -> list[datetime]: ...

    async def rebook(self, callback_id: str, *, at: datetime, timezone: str | None = None) -> Booking: ...

    async def withdraw(self, callback_id: str, *, reason: str) -> Booking: ...

    async def booking(self, callback_id: str) -> Booking | None:
        """The callback (``state``, ``due_at``, ``timezone``), or None when it is gone."""
        ...


def state_of(callback: Booking) -> str:
    return str(callback.state)  # a StrEnum's str() is its value
