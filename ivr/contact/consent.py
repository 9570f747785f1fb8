"""Whether a customer may be contacted at all: the opt-out registry's contract.

Deflection's registry (``deflection.optout.OptOutRegistry``) implements it; callbacks and links ask
it before contacting anyone, so a number that texted STOP is neither messaged nor called back.
"""

from __future__ import annotations

from typing import Protocol


class ConsentLookup(Protocol):
    async def is_opted_out(self, number: str) -> bool:
        """True when the number (any form :func:`ivr.contact.to_e164` reads) asked not to be contacted."""
        ...
