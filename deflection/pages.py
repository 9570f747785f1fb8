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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from deflection.booking import SERVED_STATE, state_of
from deflection.errors import LinkUnavailable
from deflection.links import LinkRecord, Stage
from deflection.page_view import (
    WAITING_STATES,
    PageDeps,
    booking_of,
    build_view,
    chosen_slot,
    keep_until,
    link_zone,
    other_language,
    queue_of,
    rating_allowed,
)
from deflection.texts import LANGUAGES, PAGE, lang
from deflection.tokens import csrf_valid
from deflection.view import PageView
from ivr.context import ContextSnapshot
from ivr.logs import mask_number
from ivr.ports import CallbackRefused, CallbackRequest, CallbackSource
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


CANCEL_REASON = "cancelled by the customer on the landing page"
_ACCEPT_LANG = re.compile(r"([a-zA-Z]{2})(?:-[a-zA-Z]+)?\s*(?:;\s*q=([0-9.]+))?")


@dataclass(frozen=True, slots=True)
class Said:
    """What a form's action tells the page it returns to: nothing (done), a refusal (``err``, one
    of the page's texts), or a notice of what was done (``done``)."""

    err: str | None = None
    done: str | None = None


FormAction = Callable[[LinkRecord, dict[str, str]], Awaitable[Said]]


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
        return PageView(lang=code, other_lang=other_language(code), t=PAGE[code], reference="", said=[], expires="",
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

    def form_action(path: str, anchor: str) -> Callable[[FormAction], FormAction]:
        """Serves ``act`` as the form posted to ``path``: the link opened and the form's CSRF token
        checked first (the same refusals for every form), then back to the page at ``anchor`` with
        what ``act`` says (its refusal, or what was done)."""

        def register(act: FormAction) -> FormAction:
            @router.post(path, name=act.__name__)
            async def handle(request: Request, token: str) -> Response:
                got = await posted(request, token)
                if isinstance(got, Response):
                    return got
                link, form = got
                said = await act(link, form)
                return back(token, form, anchor, said.err, said.done)

            return act

        return register

    @form_action("/{token}/case", "case")
    async def case(link: LinkRecord, form: dict[str, str]) -> Said:
        description = form.get("description", "").strip()[:4000]
        submission = form.get("submission", "")[:64]
        if not description or not submission:
            return Said(err="error")
        await deps.cases.create(link_id=link.id, submission=submission, number=link.number, call_id=link.call_id,
                                queue=link.queue, description=description, context=link.context, now=deps.clock(),
                                target_hours=deps.settings.case_response_target_hours)
        await deps.service.reach(link, Stage.CASE)
        return Said()

    @form_action("/{token}/rate", "rate")
    async def rate(link: LinkRecord, form: dict[str, str]) -> Said:
        try:
            score = int(form.get("score", ""))
        except ValueError:
            return Said(err="error")
        if not 1 <= score <= 5 or not await rating_allowed(deps, link, await booking_of(deps, link)):
            return Said(err="error")
        await deps.ratings.add(link_id=link.id, number=link.number, call_id=link.call_id, queue=link.queue,
                               score=score, comment=form.get("comment", "").strip(), now=deps.clock())
        await deps.service.reach(link, Stage.RATING)
        return Said()

    @form_action("/{token}/callback", "callback")
    async def callback(link: LinkRecord, form: dict[str, str]) -> Said:
        port = deps.callbacks
        if link.callback_id is not None:
            booking = await booking_of(deps, link)
            if booking is not None and state_of(booking) in (*WAITING_STATES, SERVED_STATE):
                return Said()  # a replay: the callback exists already
            await deps.service.links.clear_callback(link.id, link.callback_id)  # gone: book afresh
        zone = link_zone(deps, link, form.get("tz"))
        chosen = await chosen_slot(deps, link, zone, form.get("slot"))
        if port is None or chosen is None:
            return Said(err="cb_unavailable")
        try:
            ticket = await port.request(CallbackRequest(
                number=link.number, queue=queue_of(deps, link), source=CallbackSource.PAGE,
                context=_snapshot(link.context), not_before=chosen, language=link.language, timezone=zone,
                exact=True,
            ))
        except CallbackRefused as exc:
            log.info("page callback refused", extra={"link_id": link.id, "reason": str(exc),
                                                      "number": mask_number(link.number)})
            return Said(err="cb_refused")
        await deps.service.links.set_callback(link.id, ticket.callback_id, ticket.scheduled_for,
                                              keep_until=keep_until(deps, ticket.scheduled_for))
        return Said()

    @form_action("/{token}/callback/change", "callback")
    async def change(link: LinkRecord, form: dict[str, str]) -> Said:
        port = deps.callbacks
        zone = link_zone(deps, link, form.get("tz"))
        chosen = await chosen_slot(deps, link, zone, form.get("slot"))
        if port is None or link.callback_id is None or chosen is None:
            return Said(err="cb_unavailable")
        try:
            moved = await port.rebook(link.callback_id, at=chosen, timezone=zone)
        except CallbackRefused as exc:
            log.info("page callback change refused", extra={"link_id": link.id, "reason": str(exc)})
            return Said(err="cb_unavailable")
        await deps.service.links.move_callback(link.id, moved.due_at, keep_until=keep_until(deps, moved.due_at))
        return Said()

    @form_action("/{token}/callback/cancel", "callback")
    async def cancel(link: LinkRecord, form: dict[str, str]) -> Said:
        port = deps.callbacks
        if port is None or link.callback_id is None:
            return Said(err="cb_cancelled" if link.callback_id is None else "error")
        try:
            await port.withdraw(link.callback_id, reason=CANCEL_REASON)
        except CallbackRefused as exc:
            log.info("page callback cancel refused", extra={"link_id": link.id, "reason": str(exc)})
            return Said(err="error")
        await deps.service.links.clear_callback(link.id, link.callback_id)
        return Said(done="cb_cancelled")

    return router


def _snapshot(context: dict[str, Any]) -> ContextSnapshot | None:
    try:
        return ContextSnapshot.from_dict(context)
    except (KeyError, TypeError, ValueError):
        return None


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
