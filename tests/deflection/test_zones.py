"""Time zones on the landing page (pure): labels, DST days, grouping by day (the zone rule: tests/contact)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from deflection.zones import clock_label, group_by_day, is_ambiguous, when_label, zone_label

MADRID, CANARY = ZoneInfo("Europe/Madrid"), ZoneInfo("Atlantic/Canary")
MOBILE, CANARY_LINE = "+34612345678", "+34922123456"


def test_labels_name_the_weekday_the_date_and_the_zone() -> None:
    at = datetime(2026, 12, 7, 8, 30, tzinfo=UTC)
    assert when_label(at, MADRID, "es") == "lunes 7 de diciembre, a las 09:30, hora de Madrid (CET)"
    assert when_label(at, CANARY, "es") == "lunes 7 de diciembre, a las 08:30, hora de Canarias (WET)"
    assert when_label(at, MADRID, "en") == "Monday 7 December, at 09:30, Madrid time (CET)"
    summer = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
    assert zone_label(MADRID, "es", summer) == "hora de Madrid (CEST)"
    assert zone_label(CANARY, "en", summer) == "Canary Islands time (WEST)"
    assert zone_label(MADRID, "es", datetime(2027, 3, 27, 12, tzinfo=UTC),
                      datetime(2027, 3, 28, 12, tzinfo=UTC)) == "hora de Madrid (CET/CEST)"


def test_spring_forward_has_no_slot_in_the_missing_hour() -> None:
    # Sunday 28 March 2027, Europe/Madrid: 02:00 CET becomes 03:00 CEST (01:00 UTC).
    instants = [datetime(2027, 3, 28, 0, 0, tzinfo=UTC) + timedelta(minutes=30 * i) for i in range(4)]
    [day] = group_by_day(instants, MADRID, "es")
    assert (day.label, day.short) == ("domingo 28 de marzo", "dom 28")
    assert [label for _, label in day.slots] == ["01:00", "01:30", "03:00", "03:30"]
    assert [value for value, _ in day.slots][2] == "2027-03-28T01:00:00+00:00"
    assert not any(is_ambiguous(at, MADRID) for at in instants)


def test_fall_back_labels_the_repeated_hour_with_its_zone() -> None:
    # Sunday 25 October 2026, Europe/Madrid: 03:00 CEST becomes 02:00 CET (01:00 UTC): 02:xx happens twice.
    instants = [datetime(2026, 10, 24, 23, 30, tzinfo=UTC) + timedelta(minutes=30 * i) for i in range(6)]
    labels = [clock_label(at, MADRID) for at in instants]
    assert labels == ["01:30", "02:00 CEST", "02:30 CEST", "02:00 CET", "02:30 CET", "03:00"]
    assert len(set(labels)) == len(labels)  # every slot reads differently
    [day] = group_by_day(instants, MADRID, "en")
    assert day.label == "Sunday 25 October" and len(day.slots) == 6


def test_slots_are_grouped_by_local_day() -> None:
    # 23:30 UTC on Monday is already Tuesday in Madrid, still Monday in the Canaries.
    instants = [datetime(2026, 12, 7, 22, 30, tzinfo=UTC), datetime(2026, 12, 7, 23, 30, tzinfo=UTC)]
    assert [d.label for d in group_by_day(instants, MADRID, "es")] == ["lunes 7 de diciembre", "martes 8 de diciembre"]
    assert [d.label for d in group_by_day(instants, CANARY, "es")] == ["lunes 7 de diciembre"]
