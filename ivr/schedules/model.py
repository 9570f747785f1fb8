"""Schedule evaluation values and the pure rules engine (no database, no clock)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ivr.schedules.errors import ScheduleError, UnknownSchedule
from ivr.schedules.parse import Schedule, parse_document, parse_schedules
from ivr.schedules.timeline import rules_state

__all__ = [
    "Override",
    "ScheduleBook",
    "ScheduleError",
    "ScheduleState",
    "ScheduleStatus",
    "UnknownSchedule",
    "evaluate",
]


class ScheduleState(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    HOLIDAY = "holiday"


class StatusSource(enum.StrEnum):
    RULES = "rules"
    OVERRIDE = "override"


@dataclass(frozen=True, slots=True)
class ScheduleStatus:
    state: ScheduleState
    reason: str
    next_change: datetime | None
    source: str = StatusSource.RULES.value

    @property
    def is_open(self) -> bool:
        return self.state is ScheduleState.OPEN

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "reason": self.reason,
            "next_change": self.next_change.isoformat() if self.next_change else None,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class Override:
    """An emergency closure or a forced opening, until ``until`` (None: until cleared)."""

    schedule: str
    state: ScheduleState  # OPEN or CLOSED
    until: datetime | None = None
    reason: str | None = None
    set_at: datetime | None = None

    def active(self, at: datetime) -> bool:
        return self.until is None or at < self.until

    def to_dict(self) -> dict[str, Any]:
        return {
            "schedule": self.schedule,
            "state": self.state.value,
            "until": self.until.isoformat() if self.until else None,
            "reason": self.reason,
            "set_at": self.set_at.isoformat() if self.set_at else None,
        }


def evaluate(schedule: Schedule, at: datetime, override: Override | None = None) -> ScheduleStatus:
    """Overrides first, then exceptional closures, holidays, and weekly hours."""
    if at.tzinfo is None:
        raise ValueError("schedule evaluation needs an aware datetime")
    if override is not None and override.active(at):
        default = "emergency closure" if override.state is ScheduleState.CLOSED else "forced open"
        next_change = override.until
        if override.until is not None:
            after = evaluate(schedule, override.until)
            if after.state is override.state:
                next_change = after.next_change
        return ScheduleStatus(override.state, override.reason or default, next_change, StatusSource.OVERRIDE.value)
    state, next_change = rules_state(schedule, at)
    return ScheduleStatus(ScheduleState(state.kind), state.reason, next_change, StatusSource.RULES.value)


def changes(schedule: Schedule, start: datetime, end: datetime,
            override: Override | None = None) -> list[tuple[datetime, ScheduleStatus]]:
    """The status at ``start`` and at every change before ``end`` (to review a week ahead)."""
    out: list[tuple[datetime, ScheduleStatus]] = []
    at: datetime | None = start
    while at is not None and at < end and len(out) < 1000:
        status = evaluate(schedule, at, override)
        out.append((at, status))
        at = status.next_change
    return out


def next_open(schedule: Schedule, after: datetime, override: Override | None = None) -> datetime | None:
    """The first instant at or after ``after`` when the schedule is open (None: not within a year)."""
    at = after
    for _ in range(64):  # closed -> holiday -> closed -> open: a handful of hops in practice
        status = evaluate(schedule, at, override)
        if status.is_open:
            return at
        if status.next_change is None:
            return None
        at = status.next_change
    return None


class ScheduleBook:
    """Every named schedule of one document (``dialplan/schedules.yaml`` or a published version)."""

    def __init__(self, schedules: dict[str, Schedule], source: str = "<schedules>", *,
                 document: str | None = None, version: int = 0) -> None:
        self._schedules = dict(schedules)
        self.source = source
        self.document = document  # the text it was parsed from, when known
        self.version = version  # 0: the file; n: the n-th published version

    @classmethod
    def load(cls, path: Path) -> ScheduleBook:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ScheduleError(f"{path}: cannot read: {exc}") from exc
        return cls.from_text(text, str(path))

    @classmethod
    def from_text(cls, text: str, source: str = "<schedules>", *, version: int = 0) -> ScheduleBook:
        return cls(parse_document(text, source=source), source, document=text, version=version)

    @classmethod
    def from_dict(cls, data: Any, source: str = "<schedules>") -> ScheduleBook:
        return cls(parse_schedules(data, source=source), source)

    def names(self) -> list[str]:
        return sorted(self._schedules)

    def __contains__(self, name: object) -> bool:
        return name in self._schedules

    def get(self, name: str) -> Schedule:
        try:
            return self._schedules[name]
        except KeyError:
            raise UnknownSchedule(name) from None

    def evaluate(self, name: str, at: datetime, override: Override | None = None) -> ScheduleStatus:
        return evaluate(self.get(name), at, override)

    def next_open(self, name: str, after: datetime, override: Override | None = None) -> datetime | None:
        return next_open(self.get(name), after, override)

    def changes(self, name: str, start: datetime, end: datetime,
                override: Override | None = None) -> list[tuple[datetime, ScheduleStatus]]:
        return changes(self.get(name), start, end, override)
