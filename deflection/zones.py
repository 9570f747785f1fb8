"""The caller's time zone on the landing page, and local times that say which zone they are in.

Which zone: :mod:`ivr.contact.zones` (the caller's choice among the number's zones, else the
country's main zone). The page offers the number's zones and says which one it shows; the zone
the page shows is the zone the booking carries to the callbacks domain (``CallbackRequest.timezone``),
so display and storage never judge one instant in two zones.

Slots are instants (UTC on the form). Local wall-clock times that do not exist (the spring-forward
hour) are never produced; local times that happen twice (the fall-back hour) are labelled with the
zone's abbreviation (``02:30 CEST`` / ``02:30 CET``) so the two are told apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from deflection.texts import lang

# How the page names a zone ("hora de Madrid"); others use the city of the IANA name.
ZONE_NAMES: dict[str, dict[str, str]] = {
    "es": {"Europe/Madrid": "Madrid", "Atlantic/Canary": "Canarias", "Africa/Ceuta": "Ceuta"},
    "en": {"Europe/Madrid": "Madrid", "Atlantic/Canary": "Canary Islands", "Africa/Ceuta": "Ceuta"},
}
WEEKDAYS = {
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
MONTHS = {
    "es": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
           "noviembre", "diciembre"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
}


def zone_label(zone: ZoneInfo, language: str, *at: datetime) -> str:
    """``hora de Madrid (CET)`` / ``Madrid time (CEST)``: the name and the abbreviation at ``at``;
    across a clock change, both in order (``hora de Madrid (CET/CEST)``)."""
    code = lang(language)
    city = ZONE_NAMES[code].get(zone.key) or zone.key.rsplit("/", 1)[-1].replace("_", " ")
    abbr = "/".join(dict.fromkeys(a.astimezone(zone).tzname() or "" for a in at))
    return f"hora de {city} ({abbr})" if code == "es" else f"{city} time ({abbr})"


def day_label(day: date, language: str) -> str:
    """``lunes 7 de diciembre`` / ``Monday 7 December``."""
    code = lang(language)
    weekday, month = WEEKDAYS[code][day.weekday()], MONTHS[code][day.month - 1]
    return f"{weekday} {day.day} de {month}" if code == "es" else f"{weekday} {day.day} {month}"


def is_ambiguous(at: datetime, zone: ZoneInfo) -> bool:
    """The instant's local wall-clock time happens twice in the zone (the fall-back hour)."""
    local = at.astimezone(zone).replace(tzinfo=None)
    return (local.replace(tzinfo=zone, fold=0).utcoffset() != local.replace(tzinfo=zone, fold=1).utcoffset())


def clock_label(at: datetime, zone: ZoneInfo) -> str:
    """``09:30``, or ``02:30 CEST`` when that wall-clock time happens twice that night."""
    local = at.astimezone(zone)
    text = local.strftime("%H:%M")
    return f"{text} {local.tzname()}" if is_ambiguous(at, zone) else text


def when_label(at: datetime, zone: ZoneInfo, language: str) -> str:
    """``lunes 7 de diciembre, a las 09:30, hora de Madrid (CET)``: a full, unambiguous local time."""
    local = at.astimezone(zone)
    code = lang(language)
    joiner = ", at " if code == "en" else ", a las "
    return f"{day_label(local.date(), code)}{joiner}{clock_label(at, zone)}, {zone_label(zone, code, at)}"


@dataclass(frozen=True, slots=True)
class DaySlots:
    label: str  # "lunes 7 de diciembre" (the group)
    short: str  # "lun 7" (each option: a closed <select> shows only the chosen option)
    slots: tuple[tuple[str, str], ...]  # (ISO-8601 UTC value, "09:30")


def group_by_day(instants: list[datetime], zone: ZoneInfo, language: str) -> list[DaySlots]:
    """Slots grouped by their local day, in order."""
    days: dict[date, list[tuple[str, str]]] = {}
    for at in instants:
        days.setdefault(at.astimezone(zone).date(), []).append((at.isoformat(), clock_label(at, zone)))
    code = lang(language)
    return [DaySlots(day_label(d, code), f"{WEEKDAYS[code][d.weekday()][:3]} {d.day}", tuple(s))
            for d, s in days.items()]
