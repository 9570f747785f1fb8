"""Which language a callback speaks: the caller's own choice first (the call that asked for it, or
the number's latest call), then the number's country, then the line's default.

A country whose language the line does not offer gets English when the line offers it (a caller
from Japan understands English more often than Spanish); a country not listed gets the default.
"""

from __future__ import annotations

from collections.abc import Sequence

import phonenumbers

# ISO 3166 region -> its main language (ISO 639-1). Small on purpose: the languages a support line
# is likely to offer, and the countries whose callers most often need them.
COUNTRY_LANGUAGE: dict[str, str] = {
    **dict.fromkeys(("ES", "MX", "AR", "CO", "CL", "PE", "VE", "EC", "GT", "CU", "BO", "DO", "HN", "PY",
                     "SV", "NI", "CR", "PA", "UY", "PR", "GQ"), "es"),
    **dict.fromkeys(("GB", "US", "IE", "AU", "NZ", "CA", "ZA", "IN", "SG", "MT", "JM", "TT", "BS", "BB",
                     "GH", "NG", "KE"), "en"),
    **dict.fromkeys(("FR", "BE", "LU", "MC", "SN", "CI"), "fr"),
    **dict.fromkeys(("DE", "AT", "LI"), "de"),
    **dict.fromkeys(("PT", "BR", "AO", "MZ"), "pt"),
    "IT": "it", "NL": "nl", "JP": "ja", "CN": "zh", "TW": "zh", "KR": "ko", "RU": "ru", "PL": "pl",
    "SE": "sv", "NO": "no", "DK": "da", "FI": "fi", "GR": "el", "TR": "tr", "CZ": "cs", "RO": "ro",
    "HU": "hu", "MA": "ar", "DZ": "ar", "EG": "ar", "SA": "ar", "AE": "ar", "IL": "he", "UA": "uk",
    "CH": "de",
}
INTERNATIONAL = "en"


def country_of(e164: str) -> str | None:
    """``+81312345678`` -> ``JP``; None when the number says nothing."""
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return None
    return region if region and region != "ZZ" else None


def language_for_country(region: str | None, supported: Sequence[str]) -> str | None:
    """The country's language when the line offers it, else English when offered, else None."""
    if region is None or region not in COUNTRY_LANGUAGE:
        return None
    language = COUNTRY_LANGUAGE[region]
    if language in supported:
        return language
    return INTERNATIONAL if INTERNATIONAL in supported else None


def callback_language(*, chosen: str | None, history: str | None, number: str, supported: Sequence[str],
                      default: str) -> str:
    """``chosen`` (the call that asked), then ``history`` (the number's latest call), then the
    country of ``number``, then ``default``; a language the line does not offer is skipped."""
    for language in (chosen, history):
        if language and language in supported:
            return language
    return language_for_country(country_of(number), supported) or default
