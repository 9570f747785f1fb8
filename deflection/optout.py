"""The opt-out registry (shared by links and callbacks) and the inbound keyword matcher."""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from deflection.models import OptOutRow
from ivr.contact import InvalidNumber, to_e164
from ivr.db import Database, utcnow
from ivr.logs import mask_number

log = logging.getLogger(__name__)

# Compared after folding case and accents and collapsing spaces; the whole message must be one of
# these (so "no me cancelen la cita" is not an opt-out).
STOP_WORDS = frozenset({
    "stop", "stopall", "stop all", "unsubscribe", "cancel", "end", "quit", "optout", "opt out", "revoke",
    "baja", "darse de baja", "dar de baja", "cancelar", "no mas", "parar", "alto", "basta",
})
START_WORDS = frozenset({"start", "unstop", "alta", "subscribe"})


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    cleaned = "".join(c if c.isalnum() else " " for c in stripped.casefold())
    return " ".join(cleaned.split())


def is_stop(text: str) -> bool:
    return fold(text) in STOP_WORDS


def is_start(text: str) -> bool:
    return fold(text) in START_WORDS


@dataclass(frozen=True, slots=True)
class OptOut:
    number: str
    source: str
    at: datetime

    def to_dict(self) -> dict[str, str]:
        return {"number": self.number, "source": self.source, "at": self.at.isoformat()}


class OptOutRegistry:
    """``container.optouts``: callbacks and links both ask it before contacting anyone
    (it is the :class:`ivr.contact.ConsentLookup` callbacks are given)."""

    def __init__(self, db: Database, *, region: str = "ES", clock: Callable[[], datetime] = utcnow) -> None:
        self._db = db
        self._region = region
        self._clock = clock

    def _key(self, number: str) -> str:
        try:
            return to_e164(number, self._region)
        except InvalidNumber:
            return number.strip()

    async def is_opted_out(self, number: str) -> bool:
        async with self._db.session() as s:
            return await s.get(OptOutRow, self._key(number)) is not None

    async def opt_out(self, number: str, source: str) -> bool:
        """True when newly opted out."""
        key = self._key(number)
        async with self._db.session() as s:
            if await s.get(OptOutRow, key) is not None:
                return False
            s.add(OptOutRow(number=key, source=source[:64], at=self._clock()))
        log.warning("number opted out", extra={"number": mask_number(key), "source": source})
        return True

    async def opt_in(self, number: str) -> bool:
        key = self._key(number)
        async with self._db.session() as s:
            result = await s.execute(delete(OptOutRow).where(OptOutRow.number == key))
        removed = bool(getattr(result, "rowcount", 0))
        if removed:
            log.warning("number opted in again", extra={"number": mask_number(key)})
        return removed

    async def list(self) -> list[OptOut]:
        async with self._db.session() as s:
            rows = (await s.scalars(select(OptOutRow).order_by(OptOutRow.at.desc()))).all()
            return [OptOut(r.number, r.source, r.at) for r in rows]
