"""What the landing page (:mod:`deflection.pages`) reads and shows: the link's callback booking,
the slots it offers, whether the caller may rate, and the page's view of it all."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.exc import SQLAlchemyError

from deflection.booking import SERVED_STATE, Booking, PageCallbacks, state_of
from deflection.cases import CaseStore
from deflection.links import LinkPurpose, LinkRecord
from deflection.ratelimit import SlidingWindowLimiter
from deflection.ratings import RatingStore
from deflection.records import CallLookup
from deflection.service import DeflectionService
from deflection.slots import ScheduleLookup, callback_slots
from deflection.texts import LANGUAGES, PAGE, lang
from deflection.tokens import csrf_token
from deflection.view import PageView, called, chose, local_datetime, said, whatsapp_href, why
from deflection.zones import group_by_day, zone_label
from ivr.contact import number_zones, pick_zone
from ivr.db import utcnow
from ivr.settings import DeflectionSettings

log = logging.getLogger(__name__)
WAITING_STATES = ("pending", "scheduled", "dialing")


@dataclass
class PageDeps:
    service: DeflectionService
    cases: CaseStore
    ratings: RatingStore
    settings: DeflectionSettings
    views: SlidingWindowLimiter  # per link
    misses: SlidingWindowLimiter  # per client address: unknown / expired tokens only
    schedules: ScheduleLookup | None
    callbacks: PageCallbacks | None  # None: callbacks are off
    calls: CallLookup | None = None
    clock: Callable[[], datetime] = utcnow


def keep_until(deps: PageDeps, callback_at: datetime) -> datetime:
    return callback_at + timedelta(hours=deps.settings.link_after_callback_hours)


def queue_of(deps: PageDeps, link: LinkRecord) -> str:
    return link.queue or deps.settings.callback_default_queue


def link_zone(deps: PageDeps, link: LinkRecord, *asked: str | None) -> str:
    """The zone the page shows this link in: one the caller asked for among the number's country's
    zones, else the country's main zone."""
    return pick_zone(number_zones(link.number, deps.service.contact.default_timezone), *asked)


async def booking_of(deps: PageDeps, link: LinkRecord) -> Booking | None:
    port = deps.callbacks
    if port is None or link.callback_id is None:
        return None
    return await port.booking(link.callback_id)


async def offered_slots(deps: PageDeps, link: LinkRecord, zone: str) -> list[datetime]:
    """The slots the page offers: open per the page's schedule, and bookable exactly as shown
    (the callbacks policy's quiet hours and calling window, judged in ``zone``)."""
    schedules, port = deps.schedules, deps.callbacks
    if schedules is None or port is None:
        return []
    s = deps.settings
    whole = s.callback_slot_days * 24 * 60 // max(s.callback_slot_minutes, 1)
    grid = await callback_slots(schedules, s.schedule, deps.clock(), step_minutes=s.callback_slot_minutes,
                                days=s.callback_slot_days, limit=min(whole, GRID_LIMIT))
    return (await port.bookable(link.number, queue_of(deps, link), grid, zone))[:SLOT_LIMIT]


async def chosen_slot(deps: PageDeps, link: LinkRecord, zone: str, posted: str | None) -> datetime | None:
    """The posted slot when it is one the page offers now (else None: nothing is moved silently)."""
    if not posted:
        return None
    return next((at for at in await offered_slots(deps, link, zone) if at.isoformat() == posted), None)


async def served_by_agent(deps: PageDeps, link: LinkRecord) -> bool:
    calls = deps.calls
    if calls is None or link.call_id is None:
        return False
    try:
        record = await calls.get_call(link.call_id)
    except SQLAlchemyError:
        # The page still works; the rating form waits until the call records answer again.
        log.exception("call record lookup failed", extra={"link_id": link.id})
        return False
    return record is not None and record.agent_id is not None


async def rating_allowed(deps: PageDeps, link: LinkRecord, booking: Booking | None) -> bool:
    """Only someone who was served rates: a rating link (sent after a call with an agent), a call
    an agent answered, or a callback that reached the caller."""
    if link.purpose is LinkPurpose.RATING:
        return True
    if booking is not None and state_of(booking) == SERVED_STATE:
        return True
    return await served_by_agent(deps, link)


SLOT_LIMIT = 36  # what the page lists (its size stays small)
GRID_LIMIT = 400  # instants checked against the policy (3 days of 15-minute steps)


async def build_view(deps: PageDeps, link: LinkRecord, token: str, language: str,
                     asked_zone: str | None = None) -> PageView:
    code = lang(language)
    t = PAGE[code]
    booking = await booking_of(deps, link)
    zones = number_zones(link.number, deps.service.contact.default_timezone)
    zone = pick_zone(zones, asked_zone, booking.timezone if booking is not None else None)
    tz = ZoneInfo(zone)
    now = deps.clock()
    rating_first = link.purpose is LinkPurpose.RATING
    view = PageView(
        lang=code, other_lang=other_language(code), t=t, reference=link.reference, said=said(link.context),
        called=called(link.context, code, tz), why=why(link.context, code, rating=rating_first),
        chose=chose(link.context, code),
        expires=local_datetime(link.expires_at, tz, code), rating_first=rating_first,
        whatsapp=whatsapp_href(deps.settings.whatsapp_business_number, link.reference, code),
        target_hours=f"{deps.settings.case_response_target_hours:g}",
        csrf=csrf_token(token, link.id), submission=secrets.token_hex(16), base=f"/c/{token}",
        zone=zone, zone_text=zone_label(tz, code, now),
        zones=[(z, zone_label(ZoneInfo(z), code, now)) for z in zones] if len(zones) > 1 else [],
    )
    cases = await deps.cases.list(link_id=link.id, limit=1)
    if cases:
        view.case_done = t["case_done"].format(id=cases[0].id, when=local_datetime(cases[0].respond_by, tz, code))
    state = state_of(booking) if booking is not None else None
    due = booking.due_at if booking is not None else link.callback_at
    if state == SERVED_STATE and due is not None:
        view.callback_served = t["cb_served"].format(when=local_datetime(due, tz, code))
    elif link.callback_id is not None and state in (*WAITING_STATES, None) and due is not None:
        view.callback_done = t["cb_done"].format(when=local_datetime(due, tz, code))
        view.booked = due.isoformat()
    if view.callback_served is None and state != "dialing":
        offered = await offered_slots(deps, link, zone)
        view.days = group_by_day(offered, tz, code)
        if offered:
            view.zone_text = zone_label(tz, code, *offered)
    view.rating_allowed = await rating_allowed(deps, link, booking)
    rating = await deps.ratings.for_link(link.id)
    if rating is not None:
        view.rating_done = t["rate_done"].format(score=rating.score)
    return view


def other_language(code: str) -> str:
    return next(c for c in LANGUAGES if c != code)
