"""Webhooks: signatures verified (403 and nothing stored otherwise), statuses, opt-out, reference codes."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest

from deflection.links import Stage
from deflection.service import DeflectionService
from deflection.signatures import meta_signature, twilio_signature
from ivr.db import Database
from ivr.ports import DeflectionRefused
from tests.support.deflection_env import NUMBER, client, container, request, settings
from tests.support.deflection_http import Reply, recording_server

AUTH = "twilio-auth-token"
SECRET = "meta-app-secret"
BASE = "https://puente.example"


def _settings():  # type: ignore[no-untyped-def]
    return settings(twilio_auth_token=AUTH, meta_app_secret=SECRET, meta_verify_token="verify-me")


def twilio_post(path: str, params: dict[str, str], *, token: str = AUTH) -> tuple[str, dict[str, str]]:
    body = urlencode(params)
    sig = twilio_signature(token, BASE + path, sorted(params.items()))
    return body, {"X-Twilio-Signature": sig, "Content-Type": "application/x-www-form-urlencoded"}


async def test_twilio_status_callback_marks_delivered(sqlite_db: Database) -> None:
    async with recording_server() as srv:
        srv.default = Reply(201, {"sid": "SM" + "b" * 32, "status": "queued"})
        s = _settings()
        s.deflection.provider_sms = "twilio"
        s.deflection.twilio_base_url, s.deflection.twilio_account_sid = srv.base_url, "AC1"
        s.deflection.twilio_from = "+15005550006"
        c = await container(sqlite_db, s)
        svc: DeflectionService = c.deflection.service
        ticket = await svc.send_link(request())
        await c.aclose()
    form = parse_qs(srv.requests[0].body.decode())
    assert form["StatusCallback"] == [BASE + "/webhooks/twilio/status"]
    params = {"MessageSid": "SM" + "b" * 32, "MessageStatus": "delivered", "AccountSid": "AC1",
              "From": "+15005550006", "To": NUMBER, "ApiVersion": "2010-04-01", "SmsSid": "SM" + "b" * 32,
              "SmsStatus": "delivered"}
    body, headers = twilio_post("/webhooks/twilio/status", params)
    async with client(c) as http:
        bad = dict(headers, **{"X-Twilio-Signature": "AAAA" + headers["X-Twilio-Signature"][4:]})
        assert (await http.post("/webhooks/twilio/status", content=body, headers=bad)).status_code == 403
        missing = {"Content-Type": headers["Content-Type"]}
        assert (await http.post("/webhooks/twilio/status", content=body, headers=missing)).status_code == 403
        link = await svc.links.get(ticket.link_id)
        assert link is not None and "delivered" not in link.stages
        r = await http.post("/webhooks/twilio/status", content=body, headers=headers)
        assert r.status_code == 204
    link = await svc.links.get(ticket.link_id)
    assert link is not None and "delivered" in link.stages
    [updated] = await svc.messages.list()
    assert updated.status.value == "delivered"


async def test_inbound_stop_opts_out_everywhere(sqlite_db: Database) -> None:
    c = await container(sqlite_db, _settings())
    svc: DeflectionService = c.deflection.service
    async with client(c) as http:
        params = {"MessageSid": "SM" + "1" * 32, "From": NUMBER, "To": "+15005550006", "Body": "Baja",
                  "AccountSid": "AC1", "NumMedia": "0"}
        body, headers = twilio_post("/webhooks/twilio/inbound", params, token="wrong")
        assert (await http.post("/webhooks/twilio/inbound", content=body, headers=headers)).status_code == 403
        assert not await c.optouts.is_opted_out(NUMBER)
        assert await svc.messages.list() == []  # nothing stored for a bad signature
        body, headers = twilio_post("/webhooks/twilio/inbound", params)
        r = await http.post("/webhooks/twilio/inbound", content=body, headers=headers)
        assert r.status_code == 200 and "<Response>" in r.text
    assert await c.optouts.is_opted_out("612345678")
    with pytest.raises(DeflectionRefused, match="opted_out"):
        await svc.send_link(request())


async def test_meta_handshake(sqlite_db: Database) -> None:
    c = await container(sqlite_db, _settings())
    async with client(c) as http:
        ok = await http.get("/webhooks/meta", params={"hub.mode": "subscribe", "hub.verify_token": "verify-me",
                                                      "hub.challenge": "1158201444"})
        assert ok.status_code == 200 and ok.text == "1158201444"
        bad = await http.get("/webhooks/meta", params={"hub.mode": "subscribe", "hub.verify_token": "nope",
                                                       "hub.challenge": "1"})
        assert bad.status_code == 403


def meta_payload(*, messages: list[dict[str, Any]] | None = None,
                 statuses: list[dict[str, Any]] | None = None) -> bytes:
    value: dict[str, Any] = {"messaging_product": "whatsapp",
                   "metadata": {"display_phone_number": "34910000000", "phone_number_id": "106540352242922"}}
    if messages:
        value["contacts"] = [{"profile": {"name": "Ana"}, "wa_id": NUMBER[1:]}]
        value["messages"] = messages
    if statuses:
        value["statuses"] = statuses
    return json.dumps({"object": "whatsapp_business_account", "entry": [
        {"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}]}).encode()


async def test_meta_inbound_reference_joins_the_call(sqlite_db: Database) -> None:
    c = await container(sqlite_db, _settings())
    svc: DeflectionService = c.deflection.service
    ticket = await svc.send_link(request())
    body = meta_payload(messages=[{"from": NUMBER[1:], "id": "wamid.IN1", "timestamp": "1732355000",
                                   "type": "text", "text": {"body": f"Hola, mi referencia es {ticket.reference}"}}])
    async with client(c) as http:
        bad = await http.post("/webhooks/meta", content=body, headers={"X-Hub-Signature-256": "sha256=00"})
        assert bad.status_code == 403
        assert [m for m in await svc.messages.list() if m.direction.value == "in"] == []
        r = await http.post("/webhooks/meta", content=body,
                            headers={"X-Hub-Signature-256": meta_signature(SECRET, body),
                                     "Content-Type": "application/json"})
        assert r.status_code == 200
    [inbound] = [m for m in await svc.messages.list() if m.direction.value == "in"]
    assert inbound.link_id == ticket.link_id and inbound.call_id == "call-1" and inbound.number == NUMBER
    link = await svc.links.get(ticket.link_id)
    assert link is not None and link.stage is Stage.CONTINUED


async def test_meta_status_and_stop(sqlite_db: Database) -> None:
    c = await container(sqlite_db, _settings())
    svc: DeflectionService = c.deflection.service
    stop = meta_payload(messages=[{"from": NUMBER[1:], "id": "wamid.IN2", "timestamp": "1", "type": "text",
                                   "text": {"body": "NO MÁS"}}],
                        statuses=[{"id": "wamid.unknown", "status": "delivered", "timestamp": "1",
                                   "recipient_id": NUMBER[1:]}])
    async with client(c) as http:
        signed = {"X-Hub-Signature-256": meta_signature(SECRET, stop)}
        r = await http.post("/webhooks/meta", content=stop, headers=signed)
        assert r.status_code == 200
    assert await c.optouts.is_opted_out(NUMBER)
    with pytest.raises(DeflectionRefused):
        await svc.send_link(request())
