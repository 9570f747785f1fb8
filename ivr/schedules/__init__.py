"""Business hours: named weekly schedules with holidays, closures and live overrides."""

from ivr.schedules.model import (
    Override,
    ScheduleBook,
    ScheduleError,
    ScheduleState,
    ScheduleStatus,
    UnknownSchedule,
)

__all__ = ["Override", "ScheduleBook", "ScheduleError", "ScheduleState", "ScheduleStatus", "UnknownSchedule"]
