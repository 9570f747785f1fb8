"""The story of one call so far: what the caller chose and said, where they waited.

The engine keeps one :class:`CallContext` per live call and hands frozen
:class:`ContextSnapshot` values to the queue, callbacks, deflection links and the agent screen pop,
so the customer never has to repeat themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ivr.channel import CallInfo, InputMode


@dataclass(frozen=True, slots=True)
class InputRecord:
    node: str
    mode: InputMode
    digits: str = ""
    transcript: str = ""
    confidence: float | None = None
    engine: str | None = None
    at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "mode": self.mode.value,
            "digits": self.digits,
            "transcript": self.transcript,
            "confidence": self.confidence,
            "engine": self.engine,
            "at": self.at.isoformat() if self.at else None,
        }


@dataclass(frozen=True, slots=True)
class ContextSnapshot:
    """An immutable copy of the call's context at one moment (stored with links, callbacks, pops)."""

    call_id: str
    caller: str
    dialled: str
    language: str
    flow: str
    path: tuple[str, ...]
    inputs: tuple[InputRecord, ...]
    variables: dict[str, str]
    queue: str | None = None
    waited_seconds: float | None = None
    ewt_seconds: float | None = None
    reason: str | None = None
    started_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "caller": self.caller,
            "dialled": self.dialled,
            "language": self.language,
            "flow": self.flow,
            "path": list(self.path),
            "inputs": [i.to_dict() for i in self.inputs],
            "variables": dict(self.variables),
            "queue": self.queue,
            "waited_seconds": self.waited_seconds,
            "ewt_seconds": self.ewt_seconds,
            "reason": self.reason,
            "started_at": self.started_at.isoformat() if self.started_at else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ContextSnapshot:
        return cls(
            call_id=data["call_id"],
            caller=data["caller"],
            dialled=data["dialled"],
            language=data["language"],
            flow=data["flow"],
            path=tuple(data.get("path", ())),
            inputs=tuple(
                InputRecord(
                    node=i["node"],
                    mode=InputMode(i["mode"]),
                    digits=i.get("digits", ""),
                    transcript=i.get("transcript", ""),
                    confidence=i.get("confidence"),
                    engine=i.get("engine"),
                    at=datetime.fromisoformat(i["at"]) if i.get("at") else None,
                )
                for i in data.get("inputs", ())
            ),
            variables=dict(data.get("variables", {})),
            queue=data.get("queue"),
            waited_seconds=data.get("waited_seconds"),
            ewt_seconds=data.get("ewt_seconds"),
            reason=data.get("reason"),
            started_at=datetime.fromisoformat(data["started_at"]) if data.get("started_at") else None,
        )


@dataclass(slots=True)
class CallContext:
    """Mutable, owned by the engine for one call."""

    info: CallInfo
    flow: str
    language: str
    path: list[str] = field(default_factory=list)
    inputs: list[InputRecord] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)
    queue: str | None = None
    waited_seconds: float | None = None
    ewt_seconds: float | None = None
    need_known: bool = False  # set by a flow's `mark_need` point: a drop after it earns a callback

    def snapshot(self, reason: str | None = None) -> ContextSnapshot:
        return ContextSnapshot(
            call_id=self.info.call_id,
            caller=self.info.caller,
            dialled=self.info.dialled,
            language=self.language,
            flow=self.flow,
            path=tuple(self.path),
            inputs=tuple(self.inputs),
            variables=dict(self.variables),
            queue=self.queue,
            waited_seconds=self.waited_seconds,
            ewt_seconds=self.ewt_seconds,
            reason=reason,
            started_at=self.info.started_at,
        )
