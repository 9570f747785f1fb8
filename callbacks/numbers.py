"""E.164 validation and the customer's local time zones, from ``phonenumbers``."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as pn_timezone

from callbacks.errors import InvalidNumber

# When a number's candidate zones are further apart than this, "polite in every zone" would leave
# no time to call at all (Russia, North American toll-free numbers): one representative zone is used.
MAX_ZONE_SPREAD_HOURS = 3.0


def to_e164(raw: str, default_region: str) -> str:
    """``"600 111 222"`` (region ES) -> ``"+34600111222"``; :class:`InvalidNumber` says why not."""
    text = (raw or "").strip()
    if not text:
        raise InvalidNumber("invalid number: empty")
    try:
        parsed = phonenumbers.parse(text, None if text.startswith("+") else default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidNumber(f"invalid number {text!r}: {exc._msg}") from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidNumber(f"invalid number {text!r}: not a valid number for its country "
                            f"(expected E.164 such as +34911234567, or a national number in {default_region})")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def customer_zones(e164: str, fallback: str, at: datetime, chosen: str | None = None) -> tuple[ZoneInfo, ...]:
    """The zones whose quiet hours apply to this number.

    ``chosen`` (the zone the customer picked on the landing page) wins alone: the time they chose
    is judged in the zone it was shown in, never in a neighbour's (a Madrid 09:30 is not moved
    because it is 08:30 in the Canaries).

    One zone when the number maps to one; every candidate when they are close together (Spain's
    mainland and Canaries: polite in both); otherwise the candidate with the median UTC offset at
    ``at`` (a sane middle when a country spans a continent). Unknown: ``fallback``.
    """
    picked = _zone(chosen) if chosen else None
    if picked is not None:
        return (picked,)
    try:
        names = pn_timezone.time_zones_for_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        names = ()
    zones = [z for z in (_zone(n) for n in names if n != "Etc/Unknown") if z is not None]
    if not zones:
        fallback_zone = _zone(fallback)
        return (fallback_zone,) if fallback_zone is not None else (ZoneInfo("UTC"),)
    if len(zones) == 1:
        return (zones[0],)
    offsets = sorted(((at.astimezone(z).utcoffset() or _ZERO).total_seconds(), z.key, z) for z in zones)
    if (offsets[-1][0] - offsets[0][0]) / 3600 <= MAX_ZONE_SPREAD_HOURS:
        return tuple(z for _, _, z in offsets)
    return (offsets[len(offsets) // 2][2],)


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


_ZERO = timedelta(0)
