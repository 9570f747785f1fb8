"""What the engine needs from the schedules (``ivr.schedules.service.ScheduleService`` satisfies it;
tests pass a small fake)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from ivr.schedules.model import ScheduleStatus


class ScheduleLookup(Protocol):
    def names(self) -> list[str]: ...

    async def status(self, name: str, at: datetime | None = None) -> ScheduleStatus: ...

    def next_open(self, name: str, after: datetime) -> datetime | None: ...
