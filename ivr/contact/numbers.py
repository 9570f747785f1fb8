"""E.164 normalisation (``phonenumbers``): the one reading of a number customers and staff type.

Accepted: ``+34 612 345 678``, the international prefix ``0034 612 345 678`` and a national number
(``612 345 678``) read in the default region (``settings.contact.default_region``).
"""

from __future__ import annotations

import phonenumbers
from phonenumbers import PhoneNumberType

from ivr.ports import CallbackRefused, DeflectionRefused

_MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})
# phonenumbers reads only "+" as international; "00" is the ITU prefix dialled from most of the world.
_INTERNATIONAL_PREFIX = "00"


class InvalidNumber(CallbackRefused, DeflectionRefused, ValueError):
    """Not a phone number we can call or message. It refuses a callback and a link alike (the
    ports' contracts), and its message is for people: it says what to type instead."""


def to_e164(raw: str, default_region: str) -> str:
    """``"600 111 222"`` (region ES), ``"0034600111222"`` -> ``"+34600111222"``; else :class:`InvalidNumber`."""
    text = (raw or "").strip()
    if not text:
        raise InvalidNumber("invalid number: it is empty")
    if text.startswith(_INTERNATIONAL_PREFIX):
        text = "+" + text[len(_INTERNATIONAL_PREFIX):]
    hint = f"give it with its country code, such as +34911234567, or as a national number in {default_region}"
    try:
        parsed = phonenumbers.parse(text, None if text.startswith("+") else default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidNumber(f"invalid number: {_reason(exc)} ({hint})") from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidNumber(f"invalid number: not a valid number for its country ({hint})")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def is_mobile(e164: str) -> bool:
    """The number can receive SMS/WhatsApp (mobile, or a country that does not tell them apart)."""
    try:
        return phonenumbers.number_type(phonenumbers.parse(e164, None)) in _MOBILE_TYPES
    except phonenumbers.NumberParseException:
        return False


def _reason(exc: phonenumbers.NumberParseException) -> str:
    reasons = {
        phonenumbers.NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
        phonenumbers.NumberParseException.NOT_A_NUMBER: "not a phone number",
        phonenumbers.NumberParseException.TOO_SHORT_NSN: "too short",
        phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
        phonenumbers.NumberParseException.TOO_LONG: "too long",
    }
    return reasons.get(exc.error_type, "not a phone number")
