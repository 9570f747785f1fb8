"""What deflection reads of the call records (``ivr.calls.store.CallStore``): the post-call rating
finds the caller, the landing page whether an agent answered, the customer history lists the calls."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol


class RecordedCall(Protocol):
    """One call (``ivr.calls.records.CallRecord``) as deflection reads it."""

    @property
    def caller(self) -> str: ...

    @property
    def language(self) -> str: ...

    @property
    def agent_id(self) -> str | None: ...

    @property
    def started_at(self) -> datetime: ...

    def to_dict(self) -> dict[str, object]: ...


class CallLookup(Protocol):
    async def get_call(self, call_id: str) -> RecordedCall | None: ...


class CallsForNumber(Protocol):
    async def calls_for_number(self, number: str, limit: int = 20) -> Sequence[RecordedCall]: ...
