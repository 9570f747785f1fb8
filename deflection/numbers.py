"""Deflection's own number formatting; reading numbers and zones is :mod:`ivr.contact`'s."""

from __future__ import annotations


def wa_digits(e164: str) -> str:
    """WhatsApp wants the number without ``+`` (``wa.me/34612345678``)."""
    return "".join(c for c in e164 if c.isdigit())
