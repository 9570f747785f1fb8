"""What the landing page says, built from a link's context (pure; no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from deflection.texts import PAGE, TOPICS, lang
from deflection.zones import DaySlots, when_label


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


def local_datetime(at: datetime, tz: ZoneInfo, language: str) -> str:
    """A full local time: weekday, date, time and the zone's name (``lunes 7 de diciembre, a las 09:30,
    hora de Madrid (CET)``)."""
    return when_label(at, tz, language)


def called(context: dict[str, Any], language: str, tz: ZoneInfo) -> str | None:
    """ "You called on Monday 7 December, 04:35, Madrid time (CET)." (None without a start time)."""
    started = context.get("started_at")
    if not started:
        return None
    return PAGE[lang(language)]["called_on"].format(when=when_label(datetime.fromisoformat(started), tz, language))


def why(context: dict[str, Any], language: str, *, rating: bool) -> str | None:
    """Why the caller got the link, from what the link stored when it was created."""
    t = PAGE[lang(language)]
    if rating:
        return t["why_rating"]
    reason = context.get("reason")
    variables = context.get("variables") or {}
    if reason == "queue_wait":
        wait = wait_text(language, context.get("waited_seconds"))
        waited = t["waited"].format(wait=wait) if wait else ""
        queue = context.get("queue")
        if queue:
            return t["why_queue_wait"].format(topic=topic(queue, language), waited=waited)
        return t["why_queue_wait_plain"].format(waited=waited)
    if reason == "after_hours" or variables.get("schedule_state") in ("closed", "holiday"):
        holiday = variables.get("schedule_reason")
        if variables.get("schedule_state") == "holiday" and holiday:
            return t["why_holiday"].format(holiday=holiday)
        return t["why_after_hours"]
    if reason == "flow_offer":
        return t["why_flow_offer"]
    return None


def chose(context: dict[str, Any], language: str) -> str | None:
    """What the caller chose in the menus: the queue they were routed to."""
    queue = context.get("queue")
    return PAGE[lang(language)]["chose"].format(topic=topic(queue, language)) if queue else None


def topic(queue: str, language: str) -> str:
    return TOPICS[lang(language)].get(queue, queue)


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


@dataclass(slots=True)
class PageView:
    lang: str
    other_lang: str
    t: dict[str, str]
    reference: str
    said: list[str]
    expires: str
    rating_first: bool
    whatsapp: str | None
    target_hours: str
    called: str | None = None
    why: str | None = None
    chose: str | None = None
    days: list[DaySlots] = field(default_factory=list)
    booked: str = ""  # the booked slot's value (preselected in the change form)
    zone: str = ""  # the IANA name the slots are shown in (posted back with a booking)
    zone_text: str = ""  # "hora de Madrid (CET)"
    zones: list[tuple[str, str]] = field(default_factory=list)  # (IANA, label) when the country has several
    case_done: str | None = None
    callback_done: str | None = None  # the booked callback, still to come
    callback_served: str | None = None  # the callback happened
    rating_allowed: bool = False
    rating_done: str | None = None
    notice: str | None = None
    retry: str = ""  # the 429 page: when to try again
    support: str = ""  # the 429 page: the number to call instead
    support_href: str = ""
    error: str | None = None
    csrf: str = ""
    submission: str = ""
    base: str = ""
    css: str = ""
