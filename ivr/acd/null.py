"""Stand-ins for optional collaborators."""

from __future__ import annotations

from ivr.channel import CallInfo
from ivr.events.types import Event
from ivr.ports import Disposition


class NullRecorder:
    """Used when no call recorder is wired (tools, tests)."""

    async def call_started(self, info: CallInfo, *, flow: str, language: str) -> None:
        return None

    async def call_ended(self, call_id: str, disposition: Disposition, *, language: str | None = None) -> None:
        return None

    def publish(self, event: Event) -> None:
        return None
