"""DeflectionService against the real stores (SQLite and PostgreSQL)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from deflection.links import Stage
from deflection.models import ConsentRow, LinkRow
from deflection.service import DeflectionService
from deflection.tokens import hash_token
from ivr.db import Database
from ivr.events.types import DeflectionLifecycle
from ivr.ports import DeflectionRefused, MessageChannel
from tests.support.deflection_env import FIXED_LINE, NUMBER, container, request, settings
from tests.support.deflection_http import Reply, recording_server

TOKEN_IN_URL = re.compile(r"https://puente\.example/c/([A-Za-z0-9_-]+)")


async def test_send_link_by_sms_outbox(database: Database) -> None:
    c = await container(database)
    svc: DeflectionService = c.deflection.service
    events = c.bus.subscribe()
    ticket = await svc.send_link(request())
    assert ticket.channel is MessageChannel.SMS
    assert re.fullmatch(r"PU-[2-9A-Z]{6}", ticket.reference)
    token = TOKEN_IN_URL.fullmatch(ticket.url).group(1)  # type: ignore[union-attr]
    assert len(token) >= 32 and NUMBER[1:] not in ticket.url
    [msg] = await svc.messages.list(provider="outbox")
    assert ticket.url in msg.body and msg.number == NUMBER and msg.link_id == ticket.link_id
    async with database.session() as s:
        row = await s.get(LinkRow, ticket.link_id)
        assert row is not None and row.token_hash == hash_token(token) and token not in str(row.__dict__)
        assert row.context["call_id"] == "call-1" and row.context["queue"] == "billing"
        assert row.context["inputs"][0]["transcript"] == "una factura duplicada"
        consent = await s.get(ConsentRow, row.consent_id)
        assert consent is not None and consent.prompt_id == "deflection/offer" and consent.prompt_version == "1"
        assert consent.method == "key" and consent.call_id == "call-1"
    link = await svc.links.by_token(token, row.created_at)
    assert link.stage is Stage.SENT
    assert set(link.stages) == {"offered", "accepted", "sent"}
    stages = [e.stage for e in iter(events.get_nowait, None) if isinstance(e, DeflectionLifecycle)]
    assert stages == ["offered", "accepted", "sent"]
    assert (await svc.stats())["sent"] == 1


async def test_whatsapp_first_for_mobiles_only(database: Database) -> None:
    c = await container(database, settings(provider_whatsapp="outbox"))
    svc: DeflectionService = c.deflection.service
    assert await svc.channels_for(NUMBER) == [MessageChannel.WHATSAPP, MessageChannel.SMS]
    assert await svc.channels_for(FIXED_LINE) == [MessageChannel.SMS]
    assert await svc.channels_for("nonsense") == []
    ticket = await svc.send_link(request())
    assert ticket.channel is MessageChannel.WHATSAPP
    [msg] = await svc.messages.list()
    assert msg.template is not None and msg.template["parameters"][0] == ticket.reference
    chosen = await svc.send_link(request(channel=MessageChannel.SMS))
    assert chosen.channel is MessageChannel.SMS


async def test_refusals(database: Database) -> None:
    c = await container(database)
    svc: DeflectionService = c.deflection.service
    with pytest.raises(DeflectionRefused, match="invalid_number"):
        await svc.send_link(request("12"))
    await c.optouts.opt_out("612 345 678", "test")
    with pytest.raises(DeflectionRefused, match="opted_out"):
        await svc.send_link(request())
    with pytest.raises(DeflectionRefused, match="channel_unavailable"):
        await svc.send_link(request(FIXED_LINE, channel=MessageChannel.WHATSAPP))
    assert await svc.links.list() == []


async def test_provider_failure_falls_back_then_refuses(database: Database) -> None:
    async with recording_server() as srv:
        s = settings(provider_whatsapp="meta", meta_base_url=srv.base_url, meta_phone_number_id="1",
                     meta_access_token="t", provider_sms="twilio", twilio_base_url=srv.base_url,
                     twilio_account_sid="AC1", twilio_auth_token="tok", twilio_from="+15005550006")
        c = await container(database, s)
        svc: DeflectionService = c.deflection.service
        srv.replies = [Reply(503, {}), Reply(201, {"sid": "SM1", "status": "queued"})]
        ticket = await svc.send_link(request())
        assert ticket.channel is MessageChannel.SMS  # WhatsApp failed, SMS took it
        msgs = {m.provider: m for m in await svc.messages.list()}
        assert msgs["meta"].status.value == "failed" and msgs["twilio"].provider_message_id == "SM1"
        assert "[token]" in msgs["twilio"].body  # real providers' records keep no live token
        srv.replies = [Reply(500, {}), Reply(400, {"code": 21610, "message": "unsubscribed"})]
        with pytest.raises(DeflectionRefused, match="provider_failed"):
            await svc.send_link(request())
        await c.aclose()
    async with database.session() as ses:
        failed = (await ses.scalars(select(LinkRow).where(LinkRow.failed_at.is_not(None)))).all()
        assert len(failed) == 1


async def test_replays_and_optouts_in_the_stores(database: Database) -> None:
    from deflection.cases import CaseStore
    from deflection.optout import OptOutRegistry
    from deflection.ratings import RatingStore
    from ivr.db import utcnow

    cases, ratings, optouts = CaseStore(database), RatingStore(database), OptOutRegistry(database)
    now = utcnow()
    first, created = await cases.create(link_id="lnk_1", submission="s1", number=NUMBER, call_id="c", queue="q",
                                        description="d", context={"a": 1}, now=now, target_hours=4)
    again, created_again = await cases.create(link_id="lnk_1", submission="s1", number=NUMBER, call_id="c",
                                              queue="q", description="d", context={"a": 1}, now=now, target_hours=4)
    assert created and not created_again and first.id == again.id
    _, new1 = await ratings.add(link_id="lnk_1", number=NUMBER, call_id="c", queue="q", score=4, comment="", now=now)
    r2, new2 = await ratings.add(link_id="lnk_1", number=NUMBER, call_id="c", queue="q", score=1, comment="", now=now)
    assert new1 and not new2 and r2.score == 4
    with pytest.raises(ValueError):
        await ratings.add(link_id="lnk_2", number=NUMBER, call_id=None, queue=None, score=6, comment="", now=now)
    assert await optouts.opt_out("0034 612 345 678", "sms:twilio")
    assert not await optouts.opt_out(NUMBER, "cli")
    assert await optouts.is_opted_out("612345678")
    assert [o.number for o in await optouts.list()] == [NUMBER]
    assert await optouts.opt_in(NUMBER) and not await optouts.is_opted_out(NUMBER)


async def test_a_declined_offer_is_counted_as_offered_only() -> None:
    from prometheus_client import CollectorRegistry

    from deflection.metrics import DeflectionMetrics

    registry = CollectorRegistry()
    metrics = DeflectionMetrics(registry)
    service = object.__new__(DeflectionService)
    service.metrics = metrics
    await service.declined("+34600111222", "queue_wait")
    assert registry.get_sample_value("puente_deflection_declined_total", {"reason": "queue_wait"}) == 1
    assert registry.get_sample_value("puente_deflection_stage_total", {"stage": "offered", "channel": "none"}) == 1
