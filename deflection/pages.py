"""The landing page ``/c/<token>``: server-rendered, Spanish/English, four actions.

Unknown, malformed and expired tokens all get the same friendly page with the same status (404),
so the page leaks nothing about which tokens ever existed. Forms carry a CSRF token tied to the
link; a replayed form changes nothing (one case per submission id, one callback and one rating per
link). Responses are never cached and send no Referer (the URL holds the token).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from api.clientip import client_ip
from deflection.cases import CaseStore
from deflection.errors import LinkUnavailable
from deflection.links import LinkPurpose, LinkRecord, Stage
from deflection.numbers import timezone_for
from deflection.ratelimit import SlidingWindowLimiter
from deflection.ratings import RatingStore
from deflection.service import DeflectionService
from deflection.slots import ScheduleLookup, callback_slots
from deflection.texts import LANGUAGES, PAGE, lang
from deflection.tokens import csrf_token, csrf_valid, hash_token
from deflection.view import PageView, Slot, greeting, local_datetime, said, whatsapp_href
from ivr.context import ContextSnapshot
from ivr.db import utcnow
from ivr.logs import mask_number
from ivr.ports import CallbackPort, CallbackRefused, CallbackRequest, CallbackSource
from ivr.settings import DeflectionSettings

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


@dataclass
class PageDeps:
    service: DeflectionService
    cases: CaseStore
    ratings: RatingStore
    settings: DeflectionSettings
    limiter: SlidingWindowLimiter
    schedules: Callable[[], ScheduleLookup | None]
    callbacks: Callable[[], CallbackPort | None]
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

    def bare(language: str, key: str | None = None) -> PageView:
        code = lang(language)
        view = PageView(lang=code, other_lang=_other(code), t=PAGE[code], reference="", greeting=None, said=[],
                        expires="", rating_first=False, whatsapp=None, target_hours="")
        view.error = PAGE[code][key] if key else None
        return view

    def gone(request: Request) -> HTMLResponse:
        return html("gone.html", bare(_pick_lang(request, None)), 404)

    async def open_link(request: Request, token: str) -> LinkRecord | Response:
        ip = client_ip(request)  # forwarded headers only from trusted proxies (api.clientip)
        if not deps.limiter.allow(f"ip:{ip}", f"tok:{hash_token(token)}"):
            deps.service.metrics.rate_limited.inc()
            view = bare(_pick_lang(request, None), "slow_down")
            view.t = {**view.t, "gone_title": view.t["slow_down"], "gone_text": view.t["slow_down"]}
            response = html("gone.html", view, 429)
            response.headers["Retry-After"] = "60"
            return response
        try:
            return await deps.service.links.by_token(token, deps.clock())
        except LinkUnavailable as exc:
            log.info("link not available", extra={"why": str(exc)})
            return gone(request)

    @router.get("/{token}")
    async def show(request: Request, token: str) -> Response:
        link = await open_link(request, token)
        if isinstance(link, Response):
            return link
        await deps.service.reach(link, Stage.OPENED)
        view = await build_view(deps, link, token, _pick_lang(request, link.language))
        err = request.query_params.get("err")
        if err in ("error", "cb_refused"):
            view.error = view.t[err]
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

    def back(token: str, form: dict[str, str], anchor: str, err: str | None = None) -> RedirectResponse:
        query = f"lang={lang(form.get('lang'))}" + (f"&err={err}" if err else "")
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
        if not 1 <= score <= 5:
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
        if link.callback_id is not None:
            return back(token, form, "callback")  # a replay: the callback exists already
        port, slots = deps.callbacks(), await valid_slots(deps)
        chosen = next((s for s in slots if s.isoformat() == form.get("slot")), None)
        if port is None or chosen is None:
            return back(token, form, "callback", "error")
        try:
            ticket = await port.request(CallbackRequest(
                number=link.number, queue=link.queue or deps.settings.callback_default_queue,
                source=CallbackSource.PAGE, context=_snapshot(link.context), not_before=chosen,
                language=link.language,
            ))
        except CallbackRefused as exc:
            log.info("page callback refused", extra={"link_id": link.id, "reason": str(exc),
                                                      "number": mask_number(link.number)})
            return back(token, form, "callback", "cb_refused")
        await deps.service.links.set_callback(link.id, ticket.callback_id, ticket.scheduled_for)
        return back(token, form, "callback")

    return router


async def valid_slots(deps: PageDeps) -> list[datetime]:
    schedules = deps.schedules()
    if schedules is None:
        return []
    s = deps.settings
    return await callback_slots(schedules, s.schedule, deps.clock(), step_minutes=s.callback_slot_minutes,
                                days=s.callback_slot_days)


async def build_view(deps: PageDeps, link: LinkRecord, token: str, language: str) -> PageView:
    code = lang(language)
    t = PAGE[code]
    tz = timezone_for(link.number, deps.settings.default_timezone)
    view = PageView(
        lang=code, other_lang=_other(code), t=t, reference=link.reference,
        greeting=greeting(link.context, code, tz), said=said(link.context),
        expires=local_datetime(link.expires_at, tz, code), rating_first=link.purpose is LinkPurpose.RATING,
        whatsapp=whatsapp_href(deps.settings.whatsapp_business_number, link.reference, code),
        target_hours=f"{deps.settings.case_response_target_hours:g}",
        csrf=csrf_token(token, link.id), submission=secrets.token_hex(16), base=f"/c/{token}",
    )
    cases = await deps.cases.list(link_id=link.id, limit=1)
    if cases:
        view.case_done = t["case_done"].format(id=cases[0].id, when=local_datetime(cases[0].respond_by, tz, code))
    if link.callback_at is not None:
        view.callback_done = t["cb_done"].format(when=local_datetime(link.callback_at, tz, code))
    elif deps.callbacks() is not None:
        view.slots = [Slot(s.isoformat(), local_datetime(s, tz, code)) for s in await valid_slots(deps)]
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
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        return asked
    return lang(fallback)
