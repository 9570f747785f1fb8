"""Message templates admins can edit: the SMS/WhatsApp texts, per language, over the defaults in
:mod:`deflection.texts`. Placeholders are checked so a bad edit can never break a send."""

from __future__ import annotations

import string
from dataclasses import dataclass

from sqlalchemy import delete, select

from deflection.models import TemplateRow
from deflection.texts import LANGUAGES, MESSAGES, lang
from ivr.db import Database, utcnow

ALLOWED_FIELDS = frozenset({"url", "ref"})
# A reply to a case carries what staff wrote instead of a link.
REPLY_FIELDS = frozenset({"reply", "ref"})
MAX_LENGTH = 640  # four SMS segments


class InvalidTemplate(ValueError):
    pass


class UnknownTemplate(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class Template:
    language: str
    key: str
    default: str
    text: str  # what is sent now (the default unless overridden)
    overridden: bool


def check_text(key: str, text: str) -> None:
    """Raise :class:`InvalidTemplate` unless ``text`` is a usable template for ``key``."""
    if not text.strip():
        raise InvalidTemplate("the text is empty")
    if len(text) > MAX_LENGTH:
        raise InvalidTemplate(f"the text is longer than {MAX_LENGTH} characters")
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as exc:
        raise InvalidTemplate(f"bad placeholder syntax: {exc}") from None
    reply = key.startswith("case_reply")
    allowed, needed = (REPLY_FIELDS, "reply") if reply else (ALLOWED_FIELDS, "url")
    unknown = fields - allowed
    if unknown:
        raise InvalidTemplate(f"unknown placeholders {sorted(unknown)}; use {{{needed}}} and {{ref}}")
    if needed not in fields:
        raise InvalidTemplate(f"the text must contain {{{needed}}}")
    if (key.startswith("link") or reply) and key.endswith("_sms") and "STOP" not in text.upper() \
            and "BAJA" not in text.upper():
        raise InvalidTemplate("SMS texts must tell how to opt out (STOP / BAJA)")


class TemplateBook:
    """Overrides cached in memory (read on every send), stored in the database."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._overrides: dict[tuple[str, str], str] = {}
        self._loaded = False

    async def ensure_loaded(self) -> None:
        if not self._loaded:
            await self.reload()

    async def reload(self) -> None:
        async with self._db.session() as s:
            rows = (await s.scalars(select(TemplateRow))).all()
        self._overrides = {(r.language, r.key): r.text for r in rows}
        self._loaded = True

    def render(self, language: str, key: str, **values: str) -> str:
        language = lang(language)
        text = self._overrides.get((language, key), MESSAGES[language][key])
        return text.format(**values)

    def all(self) -> list[Template]:
        return [Template(language, key, default, self._overrides.get((language, key), default),
                         (language, key) in self._overrides)
                for language in LANGUAGES for key, default in MESSAGES[language].items()]

    async def set(self, language: str, key: str, text: str, *, user: str) -> Template:
        if language not in LANGUAGES or key not in MESSAGES[language]:
            raise UnknownTemplate(f"no template {language}/{key}")
        check_text(key, text)
        async with self._db.session() as s:
            await s.execute(delete(TemplateRow).where(TemplateRow.language == language, TemplateRow.key == key))
            s.add(TemplateRow(language=language, key=key, text=text, updated_by=user, updated_at=utcnow()))
        await self.reload()
        return next(t for t in self.all() if (t.language, t.key) == (language, key))

    async def reset(self, language: str, key: str) -> None:
        if language not in LANGUAGES or key not in MESSAGES[language]:
            raise UnknownTemplate(f"no template {language}/{key}")
        async with self._db.session() as s:
            await s.execute(delete(TemplateRow).where(TemplateRow.language == language, TemplateRow.key == key))
        await self.reload()
