"""What the landing page says, built from a link's context (pure; no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from deflection.texts import PAGE, TOPICS, lang


def wait_text(language: str, seconds: float | None) -> str | None:
    if seconds is None:
        return None
    t = PAGE[lang(language)]
    minutes = round(seconds / 60)
    if minutes < 1:
        return t["seconds"]
    if minutes == 1:
        return t["minute"]
    return t["minutes"].format(n=minutes)


def local_time(at: datetime, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%H:%M")


def local_datetime(at: datetime, tz: ZoneInfo, language: str) -> str:
    local = at.astimezone(tz)
    if lang(language) == "en":
        return local.strftime("%Y-%m-%d %H:%M")
    return local.strftime("%d/%m/%Y %H:%M")


def greeting(context: dict[str, Any], language: str, tz: ZoneInfo) -> str | None:
    """ "You called about billing at 10:42 and waited 3 minutes." (None without a start time)."""
    t = PAGE[lang(language)]
    started = context.get("started_at")
    if not started:
        return None
    when = local_time(datetime.fromisoformat(started), tz)
    queue = context.get("queue")
    wait = wait_text(language, context.get("waited_seconds"))
    if queue and wait:
        topic = TOPICS[lang(language)].get(queue, queue)
        return t["called_about"].format(topic=topic, time=when, wait=wait)
    return t["called_at"].format(time=when)


def said(context: dict[str, Any]) -> list[str]:
    """What the caller told us: transcripts first, else the keys they pressed, per menu."""
    out = []
    for item in context.get("inputs") or ():
        text = (item.get("transcript") or "").strip()
        if text:
            out.append(f"“{text}”")
    return out[:10]


def whatsapp_href(business_number: str, reference: str, language: str) -> str | None:
    digits = "".join(c for c in business_number if c.isdigit())
    if not digits:
        return None
    text = PAGE[lang(language)]["wa_text"].format(ref=reference)
    return f"https://wa.me/{digits}?text={quote(text)}"


@dataclass(frozen=True, slots=True)
class Slot:
    value: str  # ISO-8601 UTC (what the form posts back)
    label: str  # in the customer's timezone


@dataclass(slots=True)
class PageView:
    lang: str
    other_lang: str
    t: dict[str, str]
    reference: str
    greeting: str | None
    said: list[str]
    expires: str
    rating_first: bool
    whatsapp: str | None
    target_hours: str
    slots: list[Slot] = field(default_factory=list)
    case_done: str | None = None
    callback_done: str | None = None
    rating_done: str | None = None
    error: str | None = None
    csrf: str = ""
    submission: str = ""
    base: str = ""
    css: str = ""
