"""The customer's time zone, from their number.

The rule, for every use (the landing page's times, the booking it stores, quiet hours before a
callback or a message): the zone the caller chose, when it is one of their number's zones; else the
country's main zone, which is ``settings.contact.default_timezone`` when the country has it
(Spain: Madrid, not the Canaries), the country's only zone when it has one, and otherwise the zone
whose UTC offset is the median of the country's (a sane middle for Russia or the USA, and stable:
it does not depend on the order ``phonenumbers`` lists them). A number with no known zone is in
``default_timezone``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as pn_timezone

# A fixed instant for ordering zones by offset: a rule that changes with DST would move a number.
_REFERENCE = datetime(2026, 1, 15, 12, tzinfo=UTC)


def number_zones(e164: str, main: str) -> tuple[str, ...]:
    """The zones of the number's country, its main zone first; ``(main,)`` when none is known."""
    names = _zones_of(e164)
    if not names:
        return (main,)
    first = _main_of(names, main)
    return (first, *(n for n in names if n != first))


def pick_zone(candidates: tuple[str, ...], *asked: str | None) -> str:
    """The first of ``asked`` that is one of the number's zones, else the main zone (the first)."""
    return next((a for a in asked if a and a in candidates), candidates[0])


def customer_zone(e164: str, main: str, chosen: str | None = None) -> ZoneInfo:
    """The one zone the customer's local time is judged in (see the module's rule)."""
    name = pick_zone(number_zones(e164, main), chosen)
    return _zone(name) or _zone(main) or ZoneInfo("UTC")


def _zones_of(e164: str) -> list[str]:
    try:
        names = pn_timezone.time_zones_for_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return []
    return [n for n in dict.fromkeys(names) if n != "Etc/Unknown" and _zone(n) is not None]


def _main_of(names: list[str], main: str) -> str:
    if main in names:
        return main
    if len(names) == 1:
        return names[0]
    by_offset = sorted(names, key=lambda n: (_offset(n), n))
    return by_offset[len(by_offset) // 2]


def _offset(name: str) -> timedelta:
    zone = _zone(name)
    return (_REFERENCE.astimezone(zone).utcoffset() if zone else None) or timedelta(0)


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
