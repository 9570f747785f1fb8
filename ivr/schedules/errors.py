from __future__ import annotations


class ScheduleError(Exception):
    """An invalid schedule definition (the message names the file, the schedule and the problem)."""


class UnknownSchedule(ScheduleError, LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"unknown schedule {name!r}")
        self.name = name
