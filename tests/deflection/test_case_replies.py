"""Replies to cases from the desk's API: sent through the channel the case came from with the
editable template, kept in the case's history with the message's state; refused in words for an
opted-out number or a closed case; held through the customer's quiet hours and sent after them;
agents only on cases from calls they handled; replies and closes audited."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from api.app import create_app
from api.security import Role
from deflection.cases import CaseStore
from deflection.service import DeflectionService
from ivr.composition import Container, build_container
from ivr.db import Database, utcnow
from ivr.settings import Settings
from tests.support.calls_rows import record_call
from tests.support.deflection_env import NUMBER, request, snapshot
from tests.support.ui_users import add_users

USERS = {"ana": ("admin-pass-1", Role.ADMIN, None), "sam": ("super-pass-1", Role.SUPERVISOR, None),
         "alex": ("agent-pass-1", Role.AGENT, "agent1"), "bea": ("agent-pass-2", Role.AGENT, "agent2")}


@dataclass
class Env:
    container: Container
    client: httpx.AsyncClient
    auth: dict[str, dict[str, str]]
    case_id: int
    reference: str


def _hhmm(at: datetime) -> str:
    return at.strftime("%H:%M")


async def _env(db: Database, *, quiet: bool) -> AsyncIterator[Env]:
    settings = Settings()
    settings.http.public_base_url = "https://puente.example"
    madrid_now = utcnow().astimezone(ZoneInfo("Europe/Madrid"))  # a Spanish number's zone
    if quiet:  # quiet from an hour ago to an hour from now, whatever the time of the test
        settings.deflection.quiet_hours_start = _hhmm(madrid_now - timedelta(hours=1))
        settings.deflection.quiet_hours_end = _hhmm(madrid_now + timedelta(hours=1))
    else:
        settings.deflection.quiet_hours_start = settings.deflection.quiet_hours_end = "00:00"  # never quiet
    container = await build_container(settings, db=db)
    tokens = await add_users(container.web.users, USERS)
    auth = {name: {"Authorization": f"Bearer {token}"} for name, token in tokens.items()}
    await record_call(db, "call-1", agent_id="agent1", caller=NUMBER)
    service: DeflectionService = container.deflection.service
    ticket = await service.send_link(request(context=snapshot("call-1")))
    cases: CaseStore = container.deflection.cases
    case, _ = await cases.create(link_id=ticket.link_id, submission="s1", number=NUMBER, call_id="call-1",
                                 queue="billing", description="Me han cobrado dos veces", context={},
                                 now=utcnow(), target_hours=24.0)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(container)),
                                     base_url="http://t") as client:
            yield Env(container, client, auth, case.id, ticket.reference)
    finally:
        await container.aclose()


@pytest.fixture
async def env(database: Database) -> AsyncIterator[Env]:
    async for e in _env(database, quiet=False):
        yield e


@pytest.fixture
async def quiet_env(sqlite_db: Database) -> AsyncIterator[Env]:
    async for e in _env(sqlite_db, quiet=True):
        yield e


async def test_reply_goes_out_by_sms_with_the_template_and_shows_in_the_case(env: Env) -> None:
    c, base = env.client, f"/api/v1/deflections/cases/{env.case_id}"
    r = await c.post(f"{base}/reply", json={"text": "  Le hemos devuelto   el cargo duplicado. "},
                     headers=env.auth["alex"])
    assert r.status_code == 201, r.text
    sent = r.json()
    assert sent["outcome"] == "sent" and sent["channel"] == "sms"
    service: DeflectionService = env.container.deflection.service
    outbox = [m for m in await service.messages.list(provider="outbox") if m.link_id is None]
    assert [m.body for m in outbox] == [
        f"Puente (ref. {env.reference}): Le hemos devuelto el cargo duplicado. "
        "Responda BAJA para no recibir más mensajes."]  # the Spanish template, the call's language
    shown = (await c.get(base, headers=env.auth["alex"])).json()
    assert [(x["username"], x["text"], x["status"]) for x in shown["replies"]] == [
        ("alex", "Le hemos devuelto el cargo duplicado.", "queued")]  # what the outbox provider reports

    # another agent cannot see or answer it; a supervisor can
    assert (await c.post(f"{base}/reply", json={"text": "x"}, headers=env.auth["bea"])).status_code == 404
    assert (await c.post(f"{base}/close", headers=env.auth["bea"])).status_code == 404
    closed = await c.post(f"{base}/close", headers=env.auth["sam"])
    assert closed.status_code == 200 and closed.json()["status"] == "closed" and closed.json()["closed_by"] == "sam"
    again = await c.post(f"{base}/close", headers=env.auth["alex"])
    assert again.status_code == 409 and again.json()["detail"] == f"case {env.case_id} is already closed"
    late = await c.post(f"{base}/reply", json={"text": "una cosa más"}, headers=env.auth["alex"])
    assert late.status_code == 409 and late.json()["detail"] == "the reply was not sent: the case is closed"
    work = (await c.get("/api/v1/desk/work", headers=env.auth["alex"])).json()
    assert work["cases"] == []  # the desk lists open cases only
    audited = [(e["action"], e["user"]) for e in await env.container.web.audit.recent()]
    assert audited[:2] == [("case.close", "sam"), ("case.reply", "alex")]


async def test_no_reply_to_an_opted_out_customer(env: Env) -> None:
    await env.container.optouts.opt_out(NUMBER, "sms:BAJA")
    r = await env.client.post(f"/api/v1/deflections/cases/{env.case_id}/reply", json={"text": "Hola"},
                              headers=env.auth["alex"])
    assert r.status_code == 409
    assert r.json()["detail"] == ("the reply was not sent: the customer has opted out of messages "
                                  "(they replied STOP / BAJA); call them instead")
    shown = (await env.client.get(f"/api/v1/deflections/cases/{env.case_id}", headers=env.auth["alex"])).json()
    assert shown["replies"] == []


async def test_a_reply_in_quiet_hours_waits_for_their_end(quiet_env: Env) -> None:
    env = quiet_env
    r = await env.client.post(f"/api/v1/deflections/cases/{env.case_id}/reply", json={"text": "Resuelto"},
                              headers=env.auth["alex"])
    assert r.status_code == 202, r.text
    held = r.json()
    assert held["outcome"] == "deferred" and held["reply"]["status"] == "deferred"
    until = datetime.fromisoformat(held["not_before"])
    assert timedelta(minutes=50) < until - utcnow() <= timedelta(hours=1, minutes=1)
    service: DeflectionService = env.container.deflection.service
    held_messages = [m for m in await service.messages.list(provider="outbox") if m.link_id is None]
    assert [m.status.value for m in held_messages] == ["deferred"]
    # when quiet hours are over the deferred sender sends it as written
    service._clock = lambda: until + timedelta(seconds=1)  # the clock when quiet hours are over
    assert await service.send_due_deferred() == 1
    shown = (await env.client.get(f"/api/v1/deflections/cases/{env.case_id}", headers=env.auth["alex"])).json()
    assert shown["replies"][0]["status"] == "queued"  # handed to the (outbox) provider
    sent = [m for m in await service.messages.list(provider="outbox") if m.link_id is None]
    assert sent[0].body.startswith(f"Puente (ref. {env.reference}): Resuelto")
