"""The landing page ``/c/<token>``: server-rendered, Spanish/English, no JavaScript.

Actions (POST forms): describe the issue (a case), book / change / cancel a callback (through the
callbacks domain's public service), rate the service (only once an agent or a callback served the
caller). Unknown, malformed and expired tokens all get the same friendly page with the same status
(404), so the page leaks nothing about which tokens ever existed. Forms carry a CSRF token tied to
the link; a replayed form changes nothing (one case per submission id, one callback and one rating
per link). Responses are never cached and send no Referer (the URL holds the token).

Rate limits: views per link (``open_rate_limit_per_minute``) and misses per client address
(``miss_rate_limit_per_minute``, unknown/expired tokens only): a client that guesses never locks
out a real link opened from the same address.

Time zones: see :mod:`deflection.zones`; the zone the page shows is the zone the booking carries.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.exc import SQLAlchemyError

from deflection.booking import SERVED_STATE, Booking, PageCallbacks, state_of
from deflection.cases import CaseStore
from deflection.errors import LinkUnavailable
from deflection.links import LinkPurpose, LinkRecord, Stage
from deflection.ratelimit import SlidingWindowLimiter
from deflection.ratings import RatingStore
from deflection.records import CallLookup
from deflection.service import DeflectionService
from deflection.slots import ScheduleLookup, callback_slots
from deflection.texts import LANGUAGES, PAGE, lang
from deflection.tokens import csrf_token, csrf_valid
from deflection.view import PageView, called, chose, local_datetime, said, whatsapp_href, why
from deflection.zones import group_by_day, zone_label
from ivr.contact import number_zones, pick_zone
from ivr.context import ContextSnapshot
from ivr.db import utcnow
from ivr.logs import mask_number
from ivr.ports import CallbackRefused, CallbackRequest, CallbackSource
from ivr.settings import DeflectionSettings
from ivr.web.clientip import client_ip

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex, nofollow",
    "Content-Security-Policy": ("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                                "base-uri 'none'; frame-ancestors 'none'"),
}


WAITING_STATES = ("pending", "scheduled", "dialing")
CANCEL_REASON = "cancelled by the customer on the landing page"
_ACCEPT_LANG = re.compile(r"([a-zA-Z]{2})(?:-[a-zA-Z]+)?\s*(?:;\s*q=([0-9.]+))?")


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


def templates() -> Environment:
    return Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                       trim_blocks=True, lstrip_blocks=True)


def page_router(deps: PageDeps) -> APIRouter:
    router = APIRouter(prefix="/c", include_in_schema=False)
    env = templates()
    css = (HERE / "static" / "page.css").read_text(encoding="utf-8")

    def html(template: str, view: PageView, status: int = 200) -> HTMLResponse:
        view.css = css
        body = env.get_template(template).render(v=view)
        return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)

    def bare(language: str) -> PageView:
        code = lang(language)
        return PageView(lang=code, other_lang=_other(code), t=PAGE[code], reference="", said=[], expires="",
                        rating_first=False, whatsapp=None, target_hours="")

    def gone(request: Request) -> HTMLResponse:
        return html("gone.html", bare(_pick_lang(request, None)), 404)

    def too_many(request: Request, language: str | None, seconds: int, why_key: str) -> HTMLResponse:
        deps.service.metrics.rate_limited.inc()
        view = bare(_pick_lang(request, language))
        view.notice = view.t[why_key]
        view.retry = view.t["slow_retry"].format(seconds=seconds)
        view.support = deps.settings.support_number.strip()
        view.support_href = "tel:" + "".join(c for c in view.support if c.isdigit() or c == "+")
        response = html("busy.html", view, 429)
        response.headers["Retry-After"] = str(seconds)
        return response

    async def open_link(request: Request, token: str) -> LinkRecord | Response:
        try:
            link = await deps.service.links.by_token(token, deps.clock())
        except LinkUnavailable as exc:
            log.info("link not available", extra={"why": str(exc)})
            key = f"ip:{client_ip(request)}"  # forwarded headers only from trusted proxies (ivr.web.clientip)
            if not deps.misses.allow(key):
                return too_many(request, None, deps.misses.retry_after(key), "slow_text_client")
            return gone(request)
        key = f"link:{link.id}"
        if not deps.views.allow(key):
            return too_many(request, link.language, deps.views.retry_after(key), "slow_text_link")
        return link

    @router.get("/{token}")
    async def show(request: Request, token: str) -> Response:
        link = await open_link(request, token)
        if isinstance(link, Response):
            return link
        await deps.service.reach(link, Stage.OPENED)
        q = request.query_params
        view = await build_view(deps, link, token, _pick_lang(request, link.language), q.get("tz"))
        err, done = q.get("err"), q.get("done")
        if err in ("error", "cb_refused", "cb_unavailable"):
            view.error = view.t[err]
        if done == "cb_cancelled":
            view.notice = view.t[done]
        return html("page.html", view)

    async def posted(request: Request, token: str) -> tuple[LinkRecord, dict[str, str]] | Response:
        link = await open_link(request, token)
        if isinstance(link, Response):
            return link
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        if not csrf_valid(token, link.id, form.get("csrf")):
            log.warning("landing form without a valid CSRF token", extra={"link_id": link.id})
            return html("gone.html", bare(link.language), 403)
        return link, form

    def back(token: str, form: dict[str, str], anchor: str, err: str | None = None,
             done: str | None = None) -> RedirectResponse:
        query = f"lang={lang(form.get('lang'))}"
        zone = form.get("tz", "")
        if zone and all(c.isalnum() or c in "/_-+" for c in zone) and len(zone) <= 64:
            query += f"&tz={zone}"
        query += (f"&err={err}" if err else "") + (f"&done={done}" if done else "")
        return RedirectResponse(f"/c/{token}?{query}#{anchor}", status_code=303, headers=SECURITY_HEADERS)

    @router.post("/{token}/case")
    async def case(request: Request, token: str) -> Response:
        got = await posted(request, token)
        if isinstance(got, Response):
            return got
        link, form = got
        description = form.get("description", "").strip()[:4000]
        submission = form.get("submission", "")[:64]
        if not description or not submission:
            return back(token, form, "case", "error")
        await deps.cases.create(link_id=link.id, submission=submission, number=link.number, call_id=link.call_id,
                                queue=link.queue, description=description, context=link.context, now=deps.clock(),
                                target_hours=deps.settings.case_response_target_hours)
        await deps.service.reach(link, Stage.CASE)
        return back(token, form, "case")

    @router.post("/{token}/rate")
    async def rate(request: Request, token: str) -> Response:
        got = await posted(request, token)
        if isinstance(got, Response):
            return got
        link, form = got
        try:
            score = int(form.get("score", ""))
        except ValueError:
            return back(token, form, "rate", "error")
        if not 1 <= score <= 5 or not await rating_allowed(deps, link, await booking_of(deps, link)):
            return back(token, form, "rate", "error")
        await deps.ratings.add(link_id=link.id, number=link.number, call_id=link.call_id, queue=link.queue,
                               score=score, comment=form.get("comment", "").strip(), now=deps.clock())
        await deps.service.reach(link, Stage.RATING)
        return back(token, form, "rate")

    @router.post("/{token}/callback")
    async def callback(request: Request, token: str) -> Response:
        got = await posted(request, token)
        if isinstance(got, Response):
            return got
        link, form = got
        port = deps.callbacks
        if link.callback_id is not None:
            booking = await booking_of(deps, link)
            if booking is not None and state_of(booking) in (*WAITING_STATES, SERVED_STATE):
                return back(token, form, "callback")  # a replay: the callback exists already
            await deps.service.links.clear_callback(link.id, link.callback_id)  # gone: book afresh
        zone = link_zone(deps, link, form.get("tz"))
        chosen = await chosen_slot(deps, link, zone, form.get("slot"))
        if port is None or chosen is None:
            return back(token, form, "callback", "cb_unavailable")
        try:
            ticket = await port.request(CallbackRequest(
                number=link.number, queue=queue_of(deps, link), source=CallbackSource.PAGE,
                context=_snapshot(link.context), not_before=chosen, language=link.language, timezone=zone,
                exact=True,
            ))
        except CallbackRefused as exc:
            log.info("page callback refused", extra={"link_id": link.id, "reason": str(exc),
                                                      "number": mask_number(link.number)})
            return back(token, form, "callback", "cb_refused")
        await deps.service.links.set_callback(link.id, ticket.callback_id, ticket.scheduled_for,
                                              keep_until=keep_until(deps, ticket.scheduled_for))
        return back(token, form, "callback")

    @router.post("/{token}/callback/change")
    async def change(request: Request, token: str) -> Response:
        got = await posted(request, token)
        if isinstance(got, Response):
            return got
        link, form = got
        port = deps.callbacks
        zone = link_zone(deps, link, form.get("tz"))
        chosen = await chosen_slot(deps, link, zone, form.get("slot"))
        if port is None or link.callback_id is None or chosen is None:
            return back(token, form, "callback", "cb_unavailable")
        try:
            moved = await port.rebook(link.callback_id, at=chosen, timezone=zone)
        except CallbackRefused as exc:
            log.info("page callback change refused", extra={"link_id": link.id, "reason": str(exc)})
            return back(token, form, "callback", "cb_unavailable")
        at = moved.due_at
        await deps.service.links.move_callback(link.id, at, keep_until=keep_until(deps, at))
        return back(token, form, "callback")

    @router.post("/{token}/callback/cancel")
    async def cancel(request: Request, token: str) -> Response:
        got = await posted(request, token)
        if isinstance(got, Response):
            return got
        link, form = got
        port = deps.callbacks
        if port is None or link.callback_id is None:
            return back(token, form, "callback", "cb_cancelled" if link.callback_id is None else "error")
        try:
            await port.withdraw(link.callback_id, reason=CANCEL_REASON)
        except CallbackRefused as exc:
            log.info("page callback cancel refused", extra={"link_id": link.id, "reason": str(exc)})
            return back(token, form, "callback", "error")
        await deps.service.links.clear_callback(link.id, link.callback_id)
        return back(token, form, "callback", done="cb_cancelled")

    return router


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
        lang=code, other_lang=_other(code), t=t, reference=link.reference, said=said(link.context),
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


def _snapshot(context: dict[str, Any]) -> ContextSnapshot | None:
    try:
        return ContextSnapshot.from_dict(context)
    except (KeyError, TypeError, ValueError):
        return None


def _other(code: str) -> str:
    return next(c for c in LANGUAGES if c != code)


def _pick_lang(request: Request, fallback: str | None) -> str:
    """``?lang=``, else the link's language, else the browser's (Accept-Language), else Spanish."""
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        return asked
    if fallback is not None:
        return lang(fallback)
    return _accepted(request.headers.get("accept-language", "")[:200])


def _accepted(header: str) -> str:
    best, weight = "es", -1.0
    for m in _ACCEPT_LANG.finditer(header):
        code = m.group(1).lower()
        try:
            q = float(m.group(2)) if m.group(2) else 1.0
        except ValueError:
            continue
        if code in LANGUAGES and q > weight:
            best, weight = code, q
    return best
