"""Pure schedule evaluation: hours, holidays, closures, overrides, DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ivr.schedules.model import Override, ScheduleBook, ScheduleError, ScheduleState, UnknownSchedule
from ivr.schedules.parse import schedule_to_dict
from ivr.settings import PROJECT_ROOT

SHIPPED = PROJECT_ROOT / "dialplan" / "schedules.yaml"
OPEN, CLOSED, HOLIDAY = ScheduleState.OPEN, ScheduleState.CLOSED, ScheduleState.HOLIDAY


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def book(tz: str, hours: dict[str, Any], **extra: Any) -> ScheduleBook:
    return ScheduleBook.from_dict({"schedules": {"s": {"timezone": tz, "hours": hours, **extra}}})


@pytest.fixture(scope="module")
def shipped() -> ScheduleBook:
    return ScheduleBook.load(SHIPPED)


# ---------------------------------------------------------------------- the shipped schedules
def test_shipped_names(shipped: ScheduleBook) -> None:
    assert shipped.names() == ["always", "support"]


@pytest.mark.parametrize(
    ("local", "state", "reason", "next_change"),
    [
        # Monday 2026-01-12, winter time (+01:00)
        ("2026-01-12T10:00+01:00", OPEN, "within opening hours", "2026-01-12T20:00+01:00"),
        ("2026-01-12T07:59+01:00", CLOSED, "outside opening hours", "2026-01-12T08:00+01:00"),
        ("2026-01-12T20:00+01:00", CLOSED, "outside opening hours", "2026-01-13T08:00+01:00"),
        # Friday evening -> Saturday 09:00; Saturday afternoon -> Monday 08:00
        ("2026-01-16T21:00+01:00", CLOSED, "outside opening hours", "2026-01-17T09:00+01:00"),
        ("2026-01-17T13:59+01:00", OPEN, "within opening hours", "2026-01-17T14:00+01:00"),
        ("2026-01-17T14:30+01:00", CLOSED, "outside opening hours", "2026-01-19T08:00+01:00"),
        ("2026-01-18T12:00+01:00", CLOSED, "outside opening hours", "2026-01-19T08:00+01:00"),
        # Epiphany (Tuesday): a holiday all day, then Wednesday 08:00
        ("2026-01-06T11:00+01:00", HOLIDAY, "Epifanía del Señor", "2026-01-07T00:00+01:00"),
        ("2026-01-05T21:00+01:00", CLOSED, "outside opening hours", "2026-01-06T00:00+01:00"),
        # Christmas Eve: open in the morning, the closure starts at 14:00, then Christmas
        ("2026-12-24T10:00+01:00", OPEN, "within opening hours", "2026-12-24T14:00+01:00"),
        ("2026-12-24T15:00+01:00", CLOSED, "Nochebuena (closing at 14:00)", "2026-12-25T00:00+01:00"),
        ("2026-12-25T10:00+01:00", HOLIDAY, "Natividad del Señor", "2026-12-26T00:00+01:00"),
        # Summer time (+02:00): Good Friday 2027 is March 26
        ("2027-03-26T10:00+01:00", HOLIDAY, "Viernes Santo", "2027-03-27T00:00+01:00"),
        ("2026-07-01T19:59+02:00", OPEN, "within opening hours", "2026-07-01T20:00+02:00"),
    ],
)
def test_support_schedule(shipped: ScheduleBook, local: str, state: ScheduleState, reason: str,
                          next_change: str) -> None:
    status = shipped.evaluate("support", utc(local))
    assert (status.state, status.reason, status.source) == (state, reason, "rules")
    assert status.next_change == utc(next_change)


def test_always_is_open_and_never_changes(shipped: ScheduleBook) -> None:
    for at in ("2026-01-01T00:00Z", "2026-03-29T01:30Z", "2027-06-15T12:00Z"):
        status = shipped.evaluate("always", utc(at))
        assert status.state is OPEN and status.next_change is None


def test_next_open_for_next_business_day_callbacks(shipped: ScheduleBook) -> None:
    # Christmas Eve afternoon (closure) -> Christmas (holiday) -> Saturday 26th 09:00
    assert shipped.next_open("support", utc("2026-12-24T15:00+01:00")) == utc("2026-12-26T09:00+01:00")
    assert shipped.next_open("support", utc("2026-01-16T20:30+01:00")) == utc("2026-01-17T09:00+01:00")
    open_now = utc("2026-01-12T10:00+01:00")
    assert shipped.next_open("support", open_now) == open_now


# ---------------------------------------------------------------------- rules
def test_split_ranges() -> None:
    b = book("Europe/Madrid", {"mon": ["09:00-13:00", "15:00-18:00"]})
    lunch = b.evaluate("s", utc("2026-01-12T14:00+01:00"))
    assert lunch.state is CLOSED and lunch.next_change == utc("2026-01-12T15:00+01:00")
    assert b.evaluate("s", utc("2026-01-12T12:59+01:00")).next_change == utc("2026-01-12T13:00+01:00")


def test_range_past_midnight() -> None:
    b = book("Europe/Madrid", {"fri": "22:00-02:00"})
    friday_late = b.evaluate("s", utc("2026-01-16T23:00+01:00"))
    assert friday_late.state is OPEN and friday_late.next_change == utc("2026-01-17T02:00+01:00")
    assert b.evaluate("s", utc("2026-01-17T01:59+01:00")).state is OPEN  # Saturday, from Friday's shift
    assert b.evaluate("s", utc("2026-01-17T02:00+01:00")).state is CLOSED
    assert b.evaluate("s", utc("2026-01-15T01:00+01:00")).state is CLOSED  # Thursday: no Wednesday shift


def test_adjacent_days_merge_into_one_opening() -> None:
    b = book("UTC", {"mon-tue": ["00:00-24:00"]})
    status = b.evaluate("s", utc("2026-01-12T12:00Z"))
    assert status.state is OPEN and status.next_change == utc("2026-01-14T00:00Z")


def test_holiday_wins_over_hours_and_spillover() -> None:
    b = book("Europe/Madrid", {"daily": ["00:00-24:00"], "fri": "22:00-02:00"},
             holidays=[{"date": "12-25", "name": "Navidad", "yearly": True}, {"date": "2030-05-03", "name": "x"}])
    status = b.evaluate("s", utc("2031-12-25T12:00+01:00"))  # yearly: any year
    assert (status.state, status.reason) == (HOLIDAY, "Navidad")
    assert status.next_change == utc("2031-12-26T00:00+01:00")
    assert b.evaluate("s", utc("2030-05-03T12:00+02:00")).state is HOLIDAY
    assert b.evaluate("s", utc("2031-05-03T12:00+02:00")).state is OPEN  # one-off: that year only


def test_closure_wins_over_hours_with_offsets_or_local_times() -> None:
    b = book("Europe/Madrid", {"daily": ["08:00-20:00"]}, closures=[
        {"start": "2026-02-10T12:00", "end": "2026-02-10T16:00", "reason": "staff meeting"},
        {"start": "2026-02-11T10:00:00+00:00", "end": "2026-02-11T11:00:00+00:00"},
    ])
    meeting = b.evaluate("s", utc("2026-02-10T13:00+01:00"))
    assert (meeting.state, meeting.reason) == (CLOSED, "staff meeting")
    assert meeting.next_change == utc("2026-02-10T16:00+01:00")
    other = b.evaluate("s", utc("2026-02-11T10:30Z"))
    assert (other.state, other.reason) == (CLOSED, "exceptional closure")


def test_no_hours_at_all_is_always_closed() -> None:
    b = book("UTC", {})
    status = b.evaluate("s", utc("2026-01-01T00:00Z"))
    assert status.state is CLOSED and status.next_change is None
    assert b.next_open("s", utc("2026-01-01T00:00Z")) is None


# ---------------------------------------------------------------------- overrides
def test_override_closed_with_expiry() -> None:
    b = book("Europe/Madrid", {"daily": ["08:00-20:00"]})
    until = utc("2026-01-12T12:00+01:00")
    override = Override("s", CLOSED, until=until, reason="flood in the office")
    during = b.evaluate("s", utc("2026-01-12T10:00+01:00"), override)
    assert (during.state, during.reason, during.source) == (CLOSED, "flood in the office", "override")
    assert during.next_change == until  # the rules say open then
    after = b.evaluate("s", until, override)
    assert (after.state, after.source) == (OPEN, "rules")


def test_override_open_beats_holiday_and_next_change_skips_same_state() -> None:
    b = book("Europe/Madrid", {"daily": ["08:00-20:00"]}, holidays=[{"date": "2026-01-06", "name": "Reyes"}])
    forced = Override("s", OPEN, until=utc("2026-01-06T12:00+01:00"))
    status = b.evaluate("s", utc("2026-01-06T10:00+01:00"), forced)
    assert (status.state, status.reason, status.source) == (OPEN, "forced open", "override")
    assert status.next_change == utc("2026-01-06T12:00+01:00")
    closed_forever = Override("s", CLOSED)
    s2 = b.evaluate("s", utc("2026-01-07T10:00+01:00"), closed_forever)
    assert (s2.state, s2.reason, s2.next_change) == (CLOSED, "emergency closure", None)
    # closed until 21:00, and the rules are closed from 20:00 anyway: the next change is tomorrow 08:00
    until_evening = Override("s", CLOSED, until=utc("2026-01-07T21:00+01:00"))
    s3 = b.evaluate("s", utc("2026-01-07T10:00+01:00"), until_evening)
    assert s3.next_change == utc("2026-01-08T08:00+01:00")


# ---------------------------------------------------------------------- DST
def test_madrid_spring_forward_gap() -> None:
    # 2026-03-29: clocks jump from 02:00 CET to 03:00 CEST (01:00 UTC).
    b = book("Europe/Madrid", {"sun": ["01:00-02:30", "02:45-05:00"], "sat": "22:00-06:00"})
    # A boundary inside the gap happens when the clocks jump past it.
    early = b.evaluate("s", utc("2026-03-29T00:30Z"))  # 01:30 CET
    assert early.state is OPEN
    # Saturday's 22:00-06:00 shift runs on into Sunday and merges with the Sunday ranges
    assert early.next_change == utc("2026-03-29T06:00+02:00")
    b2 = book("Europe/Madrid", {"sun": ["01:00-02:30", "04:00-05:00"]})
    assert b2.evaluate("s", utc("2026-03-29T00:30Z")).next_change == utc("2026-03-29T01:00Z")
    # A range starting in the gap opens at the jump.
    b3 = book("Europe/Madrid", {"sun": "02:15-04:00"})
    assert b3.evaluate("s", utc("2026-03-29T00:59:59Z")).state is CLOSED
    opened = b3.evaluate("s", utc("2026-03-29T01:00Z"))
    assert opened.state is OPEN and opened.next_change == utc("2026-03-29T04:00+02:00")
    # The night shift lasts 7 real hours that night, 8 the night before.
    night = book("Europe/Madrid", {"daily": "22:00-06:00"})
    s = night.evaluate("s", utc("2026-03-28T23:00+01:00"))
    assert s.next_change == utc("2026-03-29T06:00+02:00") == utc("2026-03-29T04:00Z")


def test_madrid_fall_back_overlap() -> None:
    # 2026-10-25: clocks go back from 03:00 CEST to 02:00 CET; 02:00-02:59 happens twice.
    b = book("Europe/Madrid", {"sun": "01:00-02:30"})
    assert b.evaluate("s", utc("2026-10-25T00:15Z")).state is OPEN  # 02:15 CEST
    first = b.evaluate("s", utc("2026-10-25T00:15Z"))
    assert first.next_change == utc("2026-10-25T02:30+02:00")  # the first 02:30
    # The second pass through 02:15 (CET) does not reopen: no double flip.
    second = b.evaluate("s", utc("2026-10-25T01:15Z"))
    assert second.state is CLOSED
    day = book("Europe/Madrid", {"daily": "08:00-20:00"})
    s = day.evaluate("s", utc("2026-10-25T09:00+01:00"))
    assert s.state is OPEN and s.next_change == utc("2026-10-25T20:00+01:00")
    before = day.evaluate("s", utc("2026-10-24T21:00+02:00"))
    assert before.next_change == utc("2026-10-25T08:00+01:00")  # 25 hours later


def test_new_york_spring_forward_and_fall_back() -> None:
    b = book("America/New_York", {"mon-fri": "09:00-17:00", "sun": "02:15-04:00"})
    # Friday 17:00 EST -> Monday 09:00 EDT across the 2026-03-08 jump
    friday = b.evaluate("s", utc("2026-03-06T17:30-05:00"))
    assert friday.state is CLOSED
    assert friday.next_change == utc("2026-03-08T07:00Z")  # Sunday's 02:15 is in the gap: opens at the jump
    sunday = b.evaluate("s", utc("2026-03-08T07:00Z"))
    assert sunday.state is OPEN and sunday.next_change == utc("2026-03-08T04:00-04:00")
    monday = b.evaluate("s", utc("2026-03-08T12:00-04:00"))
    assert monday.next_change == utc("2026-03-09T09:00-04:00") == utc("2026-03-09T13:00Z")
    # 2026-11-01: 01:00-01:59 happens twice (EDT then EST)
    overlap = book("America/New_York", {"sun": "00:00-01:30"})
    assert overlap.evaluate("s", utc("2026-11-01T05:15Z")).state is OPEN  # 01:15 EDT
    assert overlap.evaluate("s", utc("2026-11-01T05:15Z")).next_change == utc("2026-11-01T01:30-04:00")
    assert overlap.evaluate("s", utc("2026-11-01T06:15Z")).state is CLOSED  # 01:15 EST: no reopening


# ---------------------------------------------------------------------- errors
def test_naive_instant_is_refused(shipped: ScheduleBook) -> None:
    with pytest.raises(ValueError, match="aware"):
        shipped.evaluate("support", datetime(2026, 1, 1, 12))


def test_unknown_schedule(shipped: ScheduleBook) -> None:
    with pytest.raises(UnknownSchedule, match="'nope'"):
        shipped.evaluate("nope", datetime.now(UTC))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"hours": {}}, "'timezone' is required"),
        ({"timezone": "Mars/Olympus", "hours": {}}, "unknown timezone 'Mars/Olympus'"),
        ({"timezone": "UTC", "hours": {"mon": ["9-17"]}}, "'9-17' is not a \"HH:MM-HH:MM\" range"),
        ({"timezone": "UTC", "hours": {"mon": ["09:00-25:00"]}}, "invalid time"),
        ({"timezone": "UTC", "hours": {"mon": ["09:00-09:00"]}}, "is empty"),
        ({"timezone": "UTC", "hours": {"funday": ["09:00-10:00"]}}, "unknown day 'funday'"),
        ({"timezone": "UTC", "holidays": [{"date": "2026-13-01"}]}, "invalid date"),
        ({"timezone": "UTC", "closures": [{"start": "2026-01-02T10:00", "end": "2026-01-01T10:00"}]},
         "end must be after start"),
        ({"timezone": "UTC", "closures": [{"start": "soon", "end": "2026-01-01T10:00"}]}, "not an ISO 8601"),
        ({"timezone": "UTC", "opening": {}}, "unknown keys: opening"),
    ],
)
def test_invalid_definitions_name_file_schedule_and_problem(tmp_path: Path, body: dict[str, Any],
                                                            message: str) -> None:
    import yaml

    path = tmp_path / "schedules.yaml"
    path.write_text(yaml.safe_dump({"schedules": {"support": body}}), encoding="utf-8")
    with pytest.raises(ScheduleError) as err:
        ScheduleBook.load(path)
    text = str(err.value)
    assert str(path) in text and "schedule 'support'" in text and message in text


def test_broken_yaml_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "schedules.yaml"
    path.write_text("schedules: [unclosed", encoding="utf-8")
    with pytest.raises(ScheduleError, match="invalid YAML"):
        ScheduleBook.load(path)
    with pytest.raises(ScheduleError, match="cannot read"):
        ScheduleBook.load(tmp_path / "absent.yaml")
    path.write_text("other: 1", encoding="utf-8")
    with pytest.raises(ScheduleError, match="top-level 'schedules'"):
        ScheduleBook.load(path)


def test_a_change_months_ahead_is_found() -> None:
    # The look-ahead widens (8, 64, 400 days) only when nothing changes sooner.
    b = book("UTC", {}, closures=[{"start": "2026-06-01T00:00", "end": "2026-06-02T00:00", "reason": "move"}])
    status = b.evaluate("s", utc("2026-01-01T00:00Z"))
    assert (status.state, status.next_change) == (CLOSED, utc("2026-06-01T00:00Z"))
    assert b.evaluate("s", utc("2026-06-01T12:00Z")).reason == "move"


def test_changes_lists_a_week_ahead(shipped: ScheduleBook) -> None:
    start = utc("2026-12-23T12:00+01:00")
    timeline = shipped.changes("support", start, utc("2026-12-28T12:00+01:00"))
    assert [(t.astimezone(shipped.get("support").tz).strftime("%d %H:%M"), s.state.value) for t, s in timeline] == [
        ("23 12:00", "open"), ("23 20:00", "closed"), ("24 08:00", "open"), ("24 14:00", "closed"),
        ("25 00:00", "holiday"), ("26 00:00", "closed"), ("26 09:00", "open"), ("26 14:00", "closed"),
        ("28 08:00", "open"),
    ]
    assert shipped.changes("always", start, start + timedelta(days=30)) == [(start, shipped.evaluate("always", start))]


def test_rules_as_data(shipped: ScheduleBook) -> None:
    data = schedule_to_dict(shipped.get("support"))
    assert data["timezone"] == "Europe/Madrid"
    assert data["hours"] == {d: ["08:00-20:00"] for d in ("mon", "tue", "wed", "thu", "fri")} | {"sat": ["09:00-14:00"]}
    assert {"date": "2026-01-06", "name": "Epifanía del Señor", "yearly": False} in data["holidays"]
    assert data["closures"][0] == {"start": "2026-12-24T13:00:00+00:00", "end": "2026-12-24T23:00:00+00:00",
                                   "reason": "Nochebuena (closing at 14:00)"}
    night = book("UTC", {"fri": "22:00-02:00", "sat": "00:00-24:00"}, holidays=[{"date": "12-25", "yearly": True}])
    night_data = schedule_to_dict(night.get("s"))
    assert night_data["hours"] == {"fri": ["22:00-02:00"], "sat": ["00:00-24:00"]}
    assert night_data["holidays"] == [{"date": "12-25", "name": "holiday", "yearly": True}]
    # the data form parses back to the same rules
    again = ScheduleBook.from_dict({"schedules": {"s": {k: v for k, v in night_data.items() if k != "description"}}})
    assert again.get("s").weekly == night.get("s").weekly
