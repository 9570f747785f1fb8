"""Phone numbers at the edge: E.164 normalisation, line type, timezone (phonenumbers)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import PhoneNumberType, timezone

from deflection.errors import InvalidNumber

_MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}


def normalise(number: str, region: str = "ES") -> str:
    """``0034 612 345 678`` / ``612345678`` -> ``+34612345678``; raises :class:`InvalidNumber`."""
    text = number.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidNumber(f"not a phone number: {exc}") from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidNumber("not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def is_mobile(e164: str) -> bool:
    return phonenumbers.number_type(phonenumbers.parse(e164, None)) in _MOBILE_TYPES


def timezone_for(e164: str, preferred: str = "Europe/Madrid") -> ZoneInfo:
    """The customer's likely timezone: ``preferred`` when the number's country spans it (Spain:
    Madrid or the Canaries), else the number's first zone, else ``preferred``."""
    try:
        zones = [z for z in timezone.time_zones_for_number(phonenumbers.parse(e164, None)) if z != "Etc/Unknown"]
    except phonenumbers.NumberParseException:
        zones = []
    if not zones or preferred in zones:
        return ZoneInfo(preferred)
    return ZoneInfo(zones[0])


def wa_digits(e164: str) -> str:
    """WhatsApp wants the number without ``+`` (``wa.me/34612345678``)."""
    return "".join(c for c in e164 if c.isdigit())
