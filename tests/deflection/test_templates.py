from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from deflection.admin_routes import _mask
from deflection.service import DeflectionService
from deflection.templates import InvalidTemplate, check_text
from ivr.channel import InputMode
from ivr.context import ContextSnapshot, InputRecord
from ivr.db import Database, utcnow
from ivr.ports import Consent, ConsentMethod, DeflectionRequest
from ivr.web.auth import Role
from tests.support.app import app_for, make_container


@pytest.mark.parametrize(("text", "problem"), [
    ("", "empty"),
    ("see {url} {name}", "unknown placeholders"),
    ("no link here, reply STOP", "must contain {url}"),
    ("bad {url", "placeholder syntax"),
    ("continue at {url}", "opt out"),
])
def test_bad_templates_are_refused(text: str, problem: str) -> None:
    with pytest.raises(InvalidTemplate, match=problem):
        check_text("link_sms", text)


@pytest.fixture
async def env(database: Database) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, dict[str, str]], object]]:
    container = await make_container(database)
    users = container.web.users
    await users.add_user("ana", "admin-pass", Role.ADMIN)
    await users.add_user("alex", "agent-pass", Role.AGENT)
    transport = httpx.ASGITransport(app=app_for(container))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        auth = {}
        for name, pw in (("ana", "admin-pass"), ("alex", "agent-pass")):
            r = await client.post("/api/v1/auth/login", json={"username": name, "password": pw})
            auth[name] = {"Authorization": f"Bearer {r.json()['token']}"}
        client.cookies.clear()
        yield client, auth, container


async def test_admin_edits_the_sms_text_and_the_next_link_uses_it(env: tuple) -> None:
    client, auth, container = env
    text = "Su consulta sigue aquí: {url} (ref {ref}). BAJA para no recibir más."
    denied = await client.put("/api/v1/deflections/templates/es/link_sms", json={"text": text}, headers=auth["alex"])
    assert denied.status_code == 403
    r = await client.put("/api/v1/deflections/templates/es/link_sms", json={"text": text}, headers=auth["ana"])
    assert r.status_code == 200 and r.json()["overridden"] is True
    bad = await client.put("/api/v1/deflections/templates/es/link_sms", json={"text": "{url} {phone}"},
                           headers=auth["ana"])
    assert bad.status_code == 422
    service: DeflectionService = container.deflection.service
    snapshot = ContextSnapshot(call_id="c1", caller="+34600111222", dialled="900", language="es", flow="support",
                               path=("main_menu",), inputs=(InputRecord("main_menu", InputMode.DTMF, digits="1"),),
                               variables={}, queue="billing")
    consent = Consent(ConsentMethod.KEY, utcnow(), "offer/link_consent", "1")
    ticket = await service.send_link(DeflectionRequest(number="+34600111222", context=snapshot, reason="queue_wait",
                                                       consent=consent))
    outbox = (await client.get("/api/v1/deflections/outbox", headers=auth["ana"])).json()
    body = outbox[0]["body"]
    assert body.startswith("Su consulta sigue aquí: http://") and f"(ref {ticket.reference})" in body
    listed = (await client.get("/api/v1/deflections/templates", headers=auth["alex"])).json()
    assert any(t["language"] == "es" and t["key"] == "link_sms" and t["text"] == text for t in listed)
    assert (await client.delete("/api/v1/deflections/templates/es/link_sms", headers=auth["ana"])).status_code == 204
    listed = (await client.get("/api/v1/deflections/templates", headers=auth["alex"])).json()
    assert not next(t for t in listed if t["language"] == "es" and t["key"] == "link_sms")["overridden"]


async def test_provider_settings_are_shown_to_admins_with_secrets_masked(env: tuple) -> None:
    client, auth, _ = env
    assert (await client.get("/api/v1/deflections/providers", headers=auth["alex"])).status_code == 403
    r = await client.get("/api/v1/deflections/providers", headers=auth["ana"])
    assert r.status_code == 200 and r.json()["sms"]["provider"] == "outbox"
    assert r.json()["sms"]["twilio_auth_token"] == ""
    assert _mask("f3c1a9e0d5b7a2c4") == "***a2c4" and _mask("short") == "***"
