"""The landing page over ASGI: tokens (tampered, expired, unknown), rate limit, forms, CSRF, replays.

HTTP behaviour on SQLite; the stores under it run on both backends in test_service / test_history_api.
"""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, update

from deflection.models import CaseRow, LinkRow, RatingRow
from deflection.service import DeflectionService
from deflection.tokens import csrf_token
from ivr.db import Database, utcnow
from ivr.ports import CallbackSource
from tests.support.deflection_env import (
    NUMBER,
    AlwaysOpen,
    CallsSeen,
    FakeCallbacks,
    client,
    container,
    request,
    settings,
)

TOKEN = re.compile(r"/c/([A-Za-z0-9_-]+)")


async def _sent(svc: DeflectionService) -> tuple[str, str]:
    ticket = await svc.send_link(request())
    m = TOKEN.search(ticket.url)
    assert m is not None
    return ticket.link_id, m.group(1)


def _field(html: str, name: str) -> str:
    m = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert m is not None, name
    return m.group(1)


async def test_page_renders_context_small_and_safe(sqlite_db: Database) -> None:
    c = await container(sqlite_db, settings(whatsapp_business_number="+34 910 000 000"),
                        callbacks=FakeCallbacks(), schedules=AlwaysOpen())
    svc: DeflectionService = c.deflection.service
    link_id, token = await _sent(svc)
    async with client(c) as http:
        r = await http.get(f"/c/{token}")
    assert r.status_code == 200
    html = r.text
    assert len(r.content) < 50 * 1024
    assert '<html lang="es">' in html
    assert "Llamó el lunes 23 de noviembre, a las 10:42, hora de Madrid (CET)." in html
    assert "mientras esperaba en la cola de facturación (esperó 3 minutos)" in html
    assert "una factura duplicada" in html
    assert NUMBER not in html and NUMBER[3:] not in html  # no personal data on the page
    assert r.headers["referrer-policy"] == "no-referrer" and r.headers["cache-control"] == "no-store"
    ref = (await svc.links.get(link_id)).reference  # type: ignore[union-attr]
    assert f'href="https://wa.me/34910000000?text=Hola%2C%20mi%20referencia%20es%20{ref}"' in html
    assert "<main" in html and "<header" in html and 'for="description"' in html
    link = await svc.links.get(link_id)
    assert link is not None and "opened" in link.stages
    async with client(c) as http:
        en = await http.get(f"/c/{token}?lang=en")
    assert '<html lang="en">' in en.text and "You called on Monday 23 November, at 10:42, Madrid time (CET)." in en.text


async def test_unknown_tampered_expired_look_the_same(sqlite_db: Database) -> None:
    c = await container(sqlite_db)
    svc: DeflectionService = c.deflection.service
    link_id, token = await _sent(svc)
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    async with client(c) as http:
        unknown = await http.get("/c/" + "x" * 32)
        bad = await http.get(f"/c/{tampered}")
        weird = await http.get("/c/..%2F..%2Fetc")
        async with sqlite_db.session() as s:
            await s.execute(update(LinkRow).where(LinkRow.id == link_id).values(expires_at=utcnow() - timedelta(1)))
        expired = await http.get(f"/c/{token}")
        post_expired = await http.post(f"/c/{token}/rate", data={"csrf": csrf_token(token, link_id), "score": "4"})
    assert {unknown.status_code, bad.status_code, expired.status_code, post_expired.status_code} == {404}
    assert weird.status_code == 404

    def body(r):  # type: ignore[no-untyped-def]
        return r.text

    assert body(unknown) == body(bad) == body(expired)
    assert "caducado" in unknown.text
    async with sqlite_db.session() as s:
        assert (await s.scalars(select(RatingRow))).all() == []


async def test_rate_limit_per_link_and_misses_per_client(sqlite_db: Database) -> None:
    c = await container(sqlite_db, settings(open_rate_limit_per_minute=3, miss_rate_limit_per_minute=5,
                                            support_number="+34 900 100 200"))
    svc: DeflectionService = c.deflection.service
    _, token = await _sent(svc)
    _, other = await _sent(svc)
    async with client(c) as http:
        # 40 made-up tokens from one address: refused from the 6th on, but only misses count there.
        guesses = [(await http.get(f"/c/{'g' * 31}{i:02d}", headers={"Accept-Language": "en-GB,en;q=0.9"}))
                   for i in range(40)]
        assert [g.status_code for g in guesses] == [404] * 5 + [429] * 35
        real = [(await http.get(f"/c/{token}")).status_code for _ in range(4)]  # the real link still opens
        mine = await http.get(f"/c/{token}")
        assert (await http.get(f"/c/{other}")).status_code == 200  # another link: its own count
    assert real == [200, 200, 200, 429] and mine.status_code == 429
    busy = guesses[-1]
    assert '<html lang="en">' in busy.text and "<title>Too many requests · Puente</title>" in busy.text
    assert "Your connection asked for many links that do not exist" in busy.text
    assert 1 <= int(busy.headers["retry-after"]) <= 60
    assert f"Please try again in {busy.headers['retry-after']} seconds." in busy.text
    assert 'href="tel:+34900100200"' in busy.text
    # The link's own limit speaks the link's language, and says the same four things.
    assert '<html lang="es">' in mine.text and "<title>Demasiadas solicitudes · Puente</title>" in mine.text
    assert "Este enlace se ha abierto muchas veces en poco tiempo" in mine.text
    assert f"Vuelva a intentarlo dentro de {mine.headers['retry-after']} segundos." in mine.text
    assert "Si lo necesita ya, llámenos al" in mine.text


async def test_forms_create_case_callback_rating_idempotently(sqlite_db: Database) -> None:
    callbacks = FakeCallbacks()
    c = await container(sqlite_db, settings(case_response_target_hours=8), callbacks=callbacks,
                        schedules=AlwaysOpen(), calls=CallsSeen(served={"call-1"}))
    svc: DeflectionService = c.deflection.service
    link_id, token = await _sent(svc)
    async with client(c) as http:
        page = (await http.get(f"/c/{token}")).text
        assert "menos de 8 horas" in page
        csrf, submission = _field(page, "csrf"), _field(page, "submission")
        slot = re.search(r'<option value="([^"]+)"', page)
        assert slot is not None
        # No CSRF token: refused, nothing stored.
        nocsrf = await http.post(f"/c/{token}/case", data={"description": "x", "submission": submission})
        assert nocsrf.status_code == 403
        case = {"csrf": csrf, "submission": submission, "description": "Me cobraron dos veces", "lang": "es"}
        first = await http.post(f"/c/{token}/case", data=case)
        again = await http.post(f"/c/{token}/case", data=case)  # double submit
        assert first.status_code == again.status_code == 303
        cb = {"csrf": csrf, "slot": slot.group(1), "lang": "es"}
        assert (await http.post(f"/c/{token}/callback", data=cb)).status_code == 303
        assert (await http.post(f"/c/{token}/callback", data=cb)).status_code == 303
        bogus = await http.post(f"/c/{token}/callback", data={**cb, "slot": "2020-01-01T03:00:00+00:00"})
        assert bogus.status_code == 303
        rate = {"csrf": csrf, "score": "4", "comment": "Muy amables", "lang": "es"}
        assert (await http.post(f"/c/{token}/rate", data=rate)).status_code == 303
        assert (await http.post(f"/c/{token}/rate", data={**rate, "score": "1"})).status_code == 303
        done = (await http.get(f"/c/{token}")).text
    async with sqlite_db.session() as s:
        cases = (await s.scalars(select(CaseRow))).all()
        ratings = (await s.scalars(select(RatingRow))).all()
    assert len(cases) == 1 and cases[0].description == "Me cobraron dos veces"
    assert cases[0].context["call_id"] == "call-1" and cases[0].target_hours == 8
    assert cases[0].respond_by - cases[0].created_at == timedelta(hours=8)
    assert [(r.score, r.comment) for r in ratings] == [(4, "Muy amables")]
    assert len(callbacks.requests) == 1
    req = callbacks.requests[0]
    assert req.source is CallbackSource.PAGE and req.number == NUMBER and req.queue == "billing"
    assert req.not_before is not None and req.not_before.isoformat() == slot.group(1)
    assert req.context is not None and req.context.call_id == "call-1"
    assert "Gracias por su valoración (4 de 5)" in done and "Le llamaremos" in done and "Recibido" in done
    link = await svc.links.get(link_id)
    assert link is not None and {"case", "rating"} <= set(link.stages)
    assert (await svc.stats())["case"] == 1


async def test_callback_refused_for_opted_out(sqlite_db: Database) -> None:
    callbacks = FakeCallbacks(refuse={NUMBER})
    c = await container(sqlite_db, callbacks=callbacks, schedules=AlwaysOpen())
    svc: DeflectionService = c.deflection.service
    _, token = await _sent(svc)
    async with client(c) as http:
        page = (await http.get(f"/c/{token}")).text
        slot = re.search(r'<option value="([^"]+)"', page)
        assert slot is not None
        r = await http.post(f"/c/{token}/callback", data={"csrf": _field(page, "csrf"), "slot": slot.group(1)})
        assert r.status_code == 303 and "err=cb_refused" in r.headers["location"]
        shown = await http.get(r.headers["location"])
    assert "No podemos programar esa llamada." in shown.text and callbacks.requests == []
