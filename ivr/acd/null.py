"""Stand-ins for optional collaborators."""

from __future__ import annotations

from ivr.channel import CallInfo
from ivr.ports import CallEventKind, Disposition


class NullRecorder:
    """Used when no call recorder is wired (tools, tests)."""

    async def call_started(self, info: CallInfo, *, flow: str, language: str) -> None:
        return None

    async def call_ended(self, call_id: str, disposition: Disposition, *, language: str | None = None) -> None:
        return None

    async def event(self, call_id: str, kind: CallEventKind, *, node: str | None = None,
                    data: dict[str, object] | None = None) -> None:
        return None
