"""Reading ``dialplan/schedules.yaml`` into :class:`Schedule` values (pure, no evaluation).

Format::

    schedules:
      support:
        timezone: Europe/Madrid
        hours:                       # weekday keys: mon..sun, ranges "mon-fri", lists "mon,wed"
          mon-fri: ["08:00-20:00"]
          sat: ["09:00-14:00"]       # several ranges split a day; "22:00-02:00" runs past midnight
        holidays:
          - {date: 2026-01-06, name: Epifanía del Señor}
          - {date: "12-25", name: Navidad, yearly: true}
        closures:                    # local times unless an offset is given
          - {start: "2026-12-24T14:00", end: "2026-12-25T00:00", reason: Nochebuena}
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from ivr.schedules.errors import ScheduleError
from ivr.schedules.localtime import local_to_utc

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60
_RANGE_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_MONTH_DAY_RE = re.compile(r"^(\d{2})-(\d{2})$")


@dataclass(frozen=True, slots=True, order=True)
class TimeRange:
    """Open from ``start`` to ``end`` minutes after local midnight; ``end`` > 1440 runs past midnight."""

    start: int
    end: int

    def label(self) -> str:
        def fmt(m: int) -> str:
            if m == MINUTES_PER_DAY:
                return "24:00"
            m %= MINUTES_PER_DAY
            return f"{m // 60:02d}:{m % 60:02d}"

        return f"{fmt(self.start)}-{fmt(self.end)}"


@dataclass(frozen=True, slots=True)
class Holiday:
    name: str
    day: date  # for yearly holidays only month and day count
    yearly: bool = False

    def matches(self, d: date) -> bool:
        if self.yearly:
            return (d.month, d.day) == (self.day.month, self.day.day)
        return d == self.day


@dataclass(frozen=True, slots=True)
class Closure:
    start: datetime  # aware
    end: datetime  # aware
    reason: str


@dataclass(frozen=True, slots=True)
class Schedule:
    name: str
    tz: ZoneInfo
    weekly: tuple[tuple[TimeRange, ...], ...]  # index 0 = Monday
    holidays: tuple[Holiday, ...] = ()
    closures: tuple[Closure, ...] = ()
    description: str = ""


def load_schedules(path: Path) -> dict[str, Schedule]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScheduleError(f"{path}: cannot read: {exc}") from exc
    return parse_document(text, source=str(path))


def parse_document(text: str, *, source: str = "<schedules>") -> dict[str, Schedule]:
    """A whole schedules document (YAML, or JSON which is YAML too)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScheduleError(f"{source}: invalid YAML: {exc}") from exc
    return parse_schedules(data, source=source)


def parse_schedules(data: Any, *, source: str = "<schedules>") -> dict[str, Schedule]:
    if not isinstance(data, dict) or not isinstance(data.get("schedules"), dict) or not data["schedules"]:
        raise ScheduleError(f"{source}: expected a top-level 'schedules' mapping of name -> schedule")
    out: dict[str, Schedule] = {}
    for name, body in data["schedules"].items():
        if not isinstance(name, str) or not re.match(r"^[a-z0-9][a-z0-9_-]*$", name):
            raise ScheduleError(f"{source}: schedule {name!r}: invalid name (lower-case, digits, '_', '-')")
        out[name] = _parse_schedule(name, body, _Where(source, name))
    return out


@dataclass(frozen=True, slots=True)
class _Where:
    source: str
    schedule: str

    def error(self, what: str) -> ScheduleError:
        return ScheduleError(f"{self.source}: schedule {self.schedule!r}: {what}")


def _parse_schedule(name: str, body: Any, where: _Where) -> Schedule:
    if not isinstance(body, dict):
        raise where.error("must be a mapping with timezone, hours, holidays, closures")
    unknown = set(body) - {"timezone", "hours", "holidays", "closures", "description"}
    if unknown:
        raise where.error(f"unknown keys: {', '.join(sorted(map(str, unknown)))}")
    tz_name = body.get("timezone")
    if not isinstance(tz_name, str):
        raise where.error("'timezone' is required (an IANA name such as Europe/Madrid)")
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise where.error(f"unknown timezone {tz_name!r}") from exc
    return Schedule(
        name=name,
        tz=tz,
        weekly=_parse_hours(body.get("hours") or {}, where),
        holidays=tuple(_parse_holiday(h, i, where) for i, h in enumerate(body.get("holidays") or [])),
        closures=tuple(_parse_closure(c, i, tz, where) for i, c in enumerate(body.get("closures") or [])),
        description=str(body.get("description") or ""),
    )


def _parse_hours(hours: Any, where: _Where) -> tuple[tuple[TimeRange, ...], ...]:
    if not isinstance(hours, dict):
        raise where.error("'hours' must map days (mon-fri, sat...) to lists of ranges")
    week: list[list[TimeRange]] = [[] for _ in DAYS]
    for days_key, ranges in hours.items():
        days = parse_days(str(days_key), where)
        items = [ranges] if isinstance(ranges, str) else ranges
        if not isinstance(items, list):
            raise where.error(f"hours {days_key!r}: expected a list of \"HH:MM-HH:MM\" ranges")
        parsed = [parse_range(str(r), where, str(days_key)) for r in items]
        for day in days:
            week[day].extend(parsed)
    return tuple(tuple(sorted(set(day))) for day in week)


def parse_days(key: str, where: _Where) -> list[int]:
    key = key.strip().lower()
    if key in ("daily", "every day"):
        return list(range(7))
    out: list[int] = []
    for raw in key.split(","):
        part = raw.strip()
        if "-" in part:
            first, _, last = part.partition("-")
            a, b = _day_index(first.strip(), where), _day_index(last.strip(), where)
            span = (b - a) % 7
            out.extend((a + i) % 7 for i in range(span + 1))
        else:
            out.append(_day_index(part, where))
    return sorted(set(out))


def _day_index(name: str, where: _Where) -> int:
    if name not in DAYS:
        raise where.error(f"unknown day {name!r} (use {', '.join(DAYS)})")
    return DAYS.index(name)


def parse_range(text: str, where: _Where, days_key: str) -> TimeRange:
    m = _RANGE_RE.match(text)
    if not m:
        raise where.error(f"hours {days_key!r}: {text!r} is not a \"HH:MM-HH:MM\" range")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2 != 0):
        raise where.error(f"hours {days_key!r}: {text!r} has an invalid time")
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if end == start:
        raise where.error(f"hours {days_key!r}: {text!r} is empty (use 00:00-24:00 for a whole day)")
    if end < start:
        end += MINUTES_PER_DAY  # runs past midnight into the next day
    return TimeRange(start, end)


def _parse_holiday(item: Any, index: int, where: _Where) -> Holiday:
    if not isinstance(item, dict) or "date" not in item:
        raise where.error(f"holiday #{index + 1}: expected {{date: YYYY-MM-DD, name: ...}}")
    name = str(item.get("name") or "holiday")
    yearly = bool(item.get("yearly", False))
    raw = item["date"]
    if isinstance(raw, date) and not isinstance(raw, datetime):
        return Holiday(name, raw, yearly)
    text = str(raw).strip()
    md = _MONTH_DAY_RE.match(text)
    try:
        if md and yearly:
            return Holiday(name, date(2000, int(md.group(1)), int(md.group(2))), True)  # 2000: leap year
        return Holiday(name, date.fromisoformat(text), yearly)
    except ValueError as exc:
        raise where.error(f"holiday {name!r}: invalid date {text!r} (YYYY-MM-DD, or MM-DD with yearly)") from exc


def _parse_closure(item: Any, index: int, tz: ZoneInfo, where: _Where) -> Closure:
    if not isinstance(item, dict) or "start" not in item or "end" not in item:
        raise where.error(f"closure #{index + 1}: expected {{start: ..., end: ..., reason: ...}}")
    bounds: list[datetime] = []
    for key in ("start", "end"):
        raw = item[key]
        try:
            value = raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw).strip())
        except ValueError as exc:
            raise where.error(f"closure #{index + 1}: {key} {raw!r} is not an ISO 8601 date-time") from exc
        bounds.append(local_to_utc(value, tz) if value.tzinfo is None else value)
    if bounds[1] <= bounds[0]:
        raise where.error(f"closure #{index + 1}: end must be after start")
    return Closure(bounds[0], bounds[1], str(item.get("reason") or "exceptional closure"))


def schedule_to_dict(schedule: Schedule) -> dict[str, Any]:
    """The rules as plain data (for the API and the admin UI); days with the same hours grouped."""
    hours: dict[str, list[str]] = {}
    for index, ranges in enumerate(schedule.weekly):
        if ranges:
            hours[DAYS[index]] = [r.label() for r in ranges]
    return {
        "timezone": schedule.tz.key,
        "description": schedule.description,
        "hours": hours,
        "holidays": [
            {"date": h.day.strftime("%m-%d") if h.yearly else h.day.isoformat(), "name": h.name, "yearly": h.yearly}
            for h in schedule.holidays
        ],
        "closures": [
            {"start": c.start.isoformat(), "end": c.end.isoformat(), "reason": c.reason} for c in schedule.closures
        ],
    }
