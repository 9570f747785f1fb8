"""Provider webhooks (public routes): delivery statuses and inbound messages, signatures verified.

A missing or wrong signature gets 403 and nothing is stored.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response

from deflection.inbound import InboundHandler, InboundMessage
from deflection.providers import meta, twilio
from deflection.service import DeflectionService
from deflection.signatures import verify_meta, verify_twilio
from ivr.ports import MessageChannel
from ivr.settings import DeflectionSettings

log = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def public_url(base: str, request: Request) -> str:
    """The URL the provider called, as configured publicly (we may sit behind a proxy)."""
    query = request.url.query
    return base.rstrip("/") + request.url.path + (f"?{query}" if query else "")


def webhook_router(service: DeflectionService, inbound: InboundHandler, settings: DeflectionSettings,
                   public_base_url: str) -> APIRouter:
    router = APIRouter(prefix="/webhooks", tags=["webhooks"], include_in_schema=False)

    async def twilio_params(request: Request) -> list[tuple[str, str]] | None:
        body = await request.body()
        params = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        signature = request.headers.get("x-twilio-signature")
        if not verify_twilio(settings.twilio_auth_token, public_url(public_base_url, request), params, signature):
            service.metrics.webhooks_rejected.labels(provider="twilio").inc()
            log.warning("twilio webhook with a bad or missing signature", extra={"path": request.url.path})
            return None
        return params

    @router.post("/twilio/status")
    async def twilio_status(request: Request) -> Response:
        params = await twilio_params(request)
        if params is None:
            return Response(status_code=403)
        form = dict(params)
        sid = form.get("MessageSid") or form.get("SmsSid")
        status = form.get("MessageStatus") or form.get("SmsStatus")
        if sid and status:
            code = form.get("ErrorCode")
            error = f"ErrorCode {code}" if code else None
            await service.apply_status("twilio", sid, twilio.map_status(status), error)
        return Response(status_code=204)

    @router.post("/twilio/inbound")
    async def twilio_inbound(request: Request) -> Response:
        params = await twilio_params(request)
        if params is None:
            return Response(status_code=403)
        form = dict(params)
        sender = form.get("From", "")
        if sender:
            await inbound.handle(InboundMessage(MessageChannel.SMS, "twilio", sender, form.get("Body", ""),
                                                form.get("MessageSid")))
        return Response(EMPTY_TWIML, media_type="text/xml")

    @router.get("/meta")
    async def meta_verify(request: Request) -> Response:
        q = request.query_params
        token = q.get("hub.verify_token") or ""
        if (q.get("hub.mode") == "subscribe" and settings.meta_verify_token
                and hmac.compare_digest(token.encode(), settings.meta_verify_token.encode())):
            return Response(q.get("hub.challenge", ""), media_type="text/plain")
        return Response(status_code=403)

    @router.post("/meta")
    async def meta_event(request: Request) -> Response:
        body = await request.body()
        if not verify_meta(settings.meta_app_secret, body, request.headers.get("x-hub-signature-256")):
            service.metrics.webhooks_rejected.labels(provider="meta").inc()
            log.warning("meta webhook with a bad or missing signature")
            return Response(status_code=403)
        try:
            payload = json.loads(body)
        except ValueError:
            return Response(status_code=400)
        for value in meta_values(payload):
            for st in value.get("statuses") or ():
                if isinstance(st, dict) and st.get("id") and st.get("status"):
                    errors = st.get("errors") or []
                    detail = json.dumps(errors)[:500] if errors else None
                    await service.apply_status("meta", str(st["id"]), meta.map_status(str(st["status"])), detail)
            for m in value.get("messages") or ():
                if isinstance(m, dict) and m.get("from"):
                    await inbound.handle(InboundMessage(MessageChannel.WHATSAPP, "meta", str(m["from"]),
                                                        meta_text(m), str(m.get("id") or "") or None))
        return Response(status_code=200)

    return router


def meta_values(payload: Any) -> list[dict[str, Any]]:
    """``entry[].changes[].value`` objects of a WhatsApp Business Account webhook."""
    out: list[dict[str, Any]] = []
    if not isinstance(payload, dict):
        return out
    for entry in payload.get("entry") or ():
        if not isinstance(entry, dict):
            continue
        for change in entry.get("changes") or ():
            if isinstance(change, dict) and isinstance(change.get("value"), dict):
                out.append(change["value"])
    return out


def meta_text(message: dict[str, Any]) -> str:
    """The text a customer sent: plain text, a quick-reply button, or an interactive reply."""
    kind = message.get("type")
    if kind == "text" and isinstance(message.get("text"), dict):
        return str(message["text"].get("body", ""))
    if kind == "button" and isinstance(message.get("button"), dict):
        return str(message["button"].get("text", ""))
    if kind == "interactive" and isinstance(message.get("interactive"), dict):
        inter = message["interactive"]
        for key in ("button_reply", "list_reply"):
            if isinstance(inter.get(key), dict):
                return str(inter[key].get("title", ""))
    return ""
