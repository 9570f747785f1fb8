"""The real httpx client against a local server that checks each provider's documented request shape."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from deflection.errors import ProviderNotConfigured, ProviderRejected, ProviderUnavailable
from deflection.providers.base import MessageStatus, OutboundMessage, TemplateMessage
from deflection.providers.meta import MetaWhatsApp
from deflection.providers.twilio import TwilioSms
from tests.support.deflection_http import Reply, recording_server

SID = "AC" + "0" * 32
# A Message resource as Twilio's API returns it (trimmed to the fields we read and a few more).
TWILIO_CREATED = {"sid": "SM" + "a" * 32, "status": "queued", "to": "+34612345678", "from": "+15005550006",
                  "body": "x", "account_sid": SID, "direction": "outbound-api"}
META_CREATED: dict[str, Any] = {
    "messaging_product": "whatsapp", "contacts": [{"input": "34612345678", "wa_id": "34612345678"}],
    "messages": [{"id": "wamid.HBgLMzQ2MTIzNDU2NzgVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"}]}


async def test_twilio_request_shape() -> None:
    async with recording_server() as srv, httpx.AsyncClient(timeout=5) as client:
        srv.default = Reply(201, TWILIO_CREATED)
        sms = TwilioSms(client, base_url=srv.base_url, account_sid=SID, auth_token="tok3n", sender="+15005550006")
        receipt = await sms.send(OutboundMessage(to="+34612345678", body="Hola ñ https://x/c/abc",
                                                 status_callback="https://puente.example/webhooks/twilio/status"))
    assert receipt.provider_message_id == TWILIO_CREATED["sid"]
    assert receipt.status is MessageStatus.QUEUED
    [req] = srv.requests
    assert req.method == "POST"
    assert req.path == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert req.headers["content-type"] == "application/x-www-form-urlencoded"
    assert req.headers["authorization"] == "Basic " + base64.b64encode(f"{SID}:tok3n".encode()).decode()
    form = parse_qs(req.body.decode())
    assert form == {"To": ["+34612345678"], "From": ["+15005550006"], "Body": ["Hola ñ https://x/c/abc"],
                    "StatusCallback": ["https://puente.example/webhooks/twilio/status"]}


async def test_twilio_error_mapping() -> None:
    async with recording_server() as srv, httpx.AsyncClient(timeout=5) as client:
        sms = TwilioSms(client, base_url=srv.base_url, account_sid=SID, auth_token="t", sender="+15005550006")
        srv.replies = [Reply(400, {"code": 21211, "message": "The 'To' number is not a valid phone number.",
                                   "status": 400}), Reply(503, {})]
        with pytest.raises(ProviderRejected) as rejected:
            await sms.send(OutboundMessage(to="+34612345678", body="x"))
        assert rejected.value.code == "21211" and rejected.value.status_code == 400
        with pytest.raises(ProviderUnavailable):
            await sms.send(OutboundMessage(to="+34612345678", body="x"))
    with pytest.raises(ProviderUnavailable):  # the server is gone: connection refused
        async with httpx.AsyncClient(timeout=2) as client:
            await TwilioSms(client, base_url=srv.base_url, account_sid=SID, auth_token="t",
                            sender="+1").send(OutboundMessage(to="+34612345678", body="x"))


def test_twilio_needs_credentials() -> None:
    with pytest.raises(ProviderNotConfigured):
        TwilioSms(httpx.AsyncClient(), base_url="http://x", account_sid="", auth_token="t", sender="+1")


async def test_meta_request_shape() -> None:
    async with recording_server() as srv, httpx.AsyncClient(timeout=5) as client:
        srv.default = Reply(200, META_CREATED)
        wa = MetaWhatsApp(client, base_url=srv.base_url + "/v20.0", phone_number_id="106540352242922",
                          access_token="EAAG-token")
        receipt = await wa.send(OutboundMessage(
            to="+34612345678", body="rendered",
            template=TemplateMessage("puente_link", "es", ("PU-7KQ4X2", "https://puente.example/c/abc"))))
    assert receipt.provider_message_id == META_CREATED["messages"][0]["id"]
    [req] = srv.requests
    assert req.method == "POST" and req.path == "/v20.0/106540352242922/messages"
    assert req.headers["authorization"] == "Bearer EAAG-token"
    assert req.headers["content-type"] == "application/json"
    assert req.json() == {
        "messaging_product": "whatsapp", "recipient_type": "individual", "to": "34612345678", "type": "template",
        "template": {"name": "puente_link", "language": {"code": "es"}, "components": [
            {"type": "body", "parameters": [{"type": "text", "text": "PU-7KQ4X2"},
                                            {"type": "text", "text": "https://puente.example/c/abc"}]}]},
    }


async def test_meta_error_mapping() -> None:
    async with recording_server() as srv, httpx.AsyncClient(timeout=5) as client:
        srv.default = Reply(400, {"error": {"message": "(#132001) Template name does not exist in the translation",
                                            "type": "OAuthException", "code": 132001, "fbtrace_id": "A"}})
        wa = MetaWhatsApp(client, base_url=srv.base_url, phone_number_id="1", access_token="t")
        with pytest.raises(ProviderRejected) as rejected:
            await wa.send(OutboundMessage(to="+34612345678", body="x", template=TemplateMessage("nope", "es")))
        assert rejected.value.code == "132001"
        with pytest.raises(ProviderRejected):  # no template: WhatsApp refuses business-initiated free text
            await wa.send(OutboundMessage(to="+34612345678", body="x"))
