"""The landing page with the real callbacks service: the booked instant is the chosen one, in the
zone the page showed (Madrid, the Canaries, across a DST change); change, cancel; the link lives
until the callback; a rating only once someone served the caller."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select, update

from callbacks.models import CallbackRow, CallbackState
from callbacks.policy import QueuePolicy
from deflection.pages import CANCEL_REASON
from ivr.contact import QuietHours
from ivr.db import Database
from tests.support.deflection_env import NUMBER, snapshot
from tests.support.landing_env import landing

SUNDAY_EVENING = datetime(2026, 12, 6, 20, 0, tzinfo=UTC)  # the day before Monday 7 December 2026


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m is not None
    return m.group(1)


def _day(html: str, label: str) -> list[tuple[str, str]]:
    """(value, text) of the options under one day's <optgroup>."""
    m = re.search(rf'<optgroup label="{label}">(.*?)</optgroup>', html)
    assert m is not None, label
    options = re.findall(r'<option value="([^"]+)"(?: selected)?>([^<]+)</option>', m.group(1))
    return [(value, text.split(", ", 1)[1]) for value, text in options]  # "lun 7, 09:00" -> "09:00"


async def _book(http: httpx.AsyncClient, token: str, slot: str, tz: str, action: str = "callback") -> httpx.Response:
    page = (await http.get(f"/c/{token}?tz={tz}")).text
    return await http.post(f"/c/{token}/{action}", data={"csrf": _csrf(page), "slot": slot, "tz": tz, "lang": "es"})


async def _callbacks(db: Database) -> list[CallbackRow]:
    async with db.session() as s:
        return list((await s.scalars(select(CallbackRow).order_by(CallbackRow.created_at))).all())


async def test_madrid_booking_is_stored_and_shown_at_the_chosen_instant(database: Database) -> None:
    env = landing(database, SUNDAY_EVENING)
    link_id, token = await env.link()
    async with env.client() as http:
        page = (await http.get(f"/c/{token}")).text
        assert "Las horas se muestran en hora de Madrid (CET)." in page
        monday = _day(page, "lunes 7 de diciembre")
        # Quiet hours end at 09:00 in Madrid: 08:30 is not offered (it would have been moved).
        assert monday[0] == ("2026-12-07T08:00:00+00:00", "09:00")
        assert ("2026-12-07T07:30:00+00:00", "08:30") not in monday
        refused = await _book(http, token, "2026-12-07T07:30:00+00:00", "Europe/Madrid")
        assert "err=cb_unavailable" in refused.headers["location"] and await _callbacks(database) == []
        # 09:30 in Madrid is 08:30 in the Canaries: the old code judged it in both zones and moved it.
        booked = await _book(http, token, "2026-12-07T08:30:00+00:00", "Europe/Madrid")
        assert booked.status_code == 303 and "err=" not in booked.headers["location"]
        shown = (await http.get(booked.headers["location"])).text
    [row] = await _callbacks(database)
    assert row.due_at == datetime(2026, 12, 7, 8, 30, tzinfo=UTC) and row.timezone == "Europe/Madrid"
    assert row.source == "page"
    assert "Le llamaremos el lunes 7 de diciembre, a las 09:30, hora de Madrid (CET)." in shown
    # At dial time the dispatcher judges it in the same zone, so it is not deferred either.
    policy = QueuePolicy()
    assert await env.callbacks.next_allowed(row.number, row.due_at, policy, row.timezone) == row.due_at
    # In the Canaries (chosen) 08:30 Madrid is 07:30, quiet: the one zone rule judges where the caller is.
    canary = await env.callbacks.next_allowed(row.number, row.due_at, policy, "Atlantic/Canary")
    assert canary == datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    link = await env.links.get(link_id)
    assert link is not None and link.callback_id == row.id and link.callback_at == row.due_at


async def test_canaries_booking_in_the_canaries_zone(sqlite_db: Database) -> None:
    env = landing(sqlite_db, SUNDAY_EVENING)
    _, token = await env.link()
    async with env.client() as http:
        page = (await http.get(f"/c/{token}?tz=Atlantic/Canary")).text
        assert "Las horas se muestran en hora de Canarias (WET)." in page
        assert '<option value="Atlantic/Canary" selected>' in page  # the zone choice (no JavaScript: GET form)
        monday = _day(page, "lunes 7 de diciembre")
        assert monday[0] == ("2026-12-07T09:00:00+00:00", "09:00")
        booked = await _book(http, token, "2026-12-07T09:00:00+00:00", "Atlantic/Canary")
        shown = (await http.get(f"/c/{token}")).text  # no ?tz: the booking's zone
    assert "err=" not in booked.headers["location"]
    [row] = await _callbacks(sqlite_db)
    assert row.due_at == datetime(2026, 12, 7, 9, 0, tzinfo=UTC) and row.timezone == "Atlantic/Canary"
    assert "Le llamaremos el lunes 7 de diciembre, a las 09:00, hora de Canarias (WET)." in shown


async def test_canary_fixed_line_has_one_zone_and_no_choice(sqlite_db: Database) -> None:
    env = landing(sqlite_db, SUNDAY_EVENING)
    _, token = await env.link(number="+34922123456")
    async with env.client() as http:
        page = (await http.get(f"/c/{token}")).text
    assert "Las horas se muestran en hora de Canarias (WET)." in page and 'name="tz" value="Atlantic/Canary"' in page
    assert 'id="tz"' not in page


async def test_booking_across_the_spring_clock_change(sqlite_db: Database) -> None:
    # Saturday 27 March 2027; on Sunday Madrid moves from CET to CEST: quiet hours end at 09:00 CEST = 07:00 UTC.
    env = landing(sqlite_db, datetime(2027, 3, 27, 20, 0, tzinfo=UTC))
    _, token = await env.link()
    async with env.client() as http:
        page = (await http.get(f"/c/{token}")).text
        assert "Las horas se muestran en hora de Madrid (CEST)." in page  # every offered slot is after the change
        sunday = _day(page, "domingo 28 de marzo")
        assert sunday[0] == ("2027-03-28T07:00:00+00:00", "09:00")
        booked = await _book(http, token, "2027-03-28T07:00:00+00:00", "Europe/Madrid")
        shown = (await http.get(booked.headers["location"])).text
    [row] = await _callbacks(sqlite_db)
    assert row.due_at == datetime(2027, 3, 28, 7, 0, tzinfo=UTC)
    assert "el domingo 28 de marzo, a las 09:00, hora de Madrid (CEST)." in shown


async def test_night_slots_across_the_autumn_change_are_distinct_and_booked_exactly(sqlite_db: Database) -> None:
    # No quiet hours: the fall-back night is offered; 02:30 happens twice and each reads differently.
    env = landing(sqlite_db, datetime(2026, 10, 24, 23, 0, tzinfo=UTC), policy=QueuePolicy(quiet_hours=None))
    _, token = await env.link()
    async with env.client() as http:
        page = (await http.get(f"/c/{token}")).text
        sunday = _day(page, "domingo 25 de octubre")
        assert [t for _, t in sunday[:5]] == ["01:30", "02:00 CEST", "02:30 CEST", "02:00 CET", "02:30 CET"]
        assert "Las horas se muestran en hora de Madrid (CEST/CET)." in page
        second = sunday[4][0]
        assert second == "2026-10-25T01:30:00+00:00"
        booked = await _book(http, token, second, "Europe/Madrid")
        shown = (await http.get(booked.headers["location"])).text
    [row] = await _callbacks(sqlite_db)
    assert row.due_at == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert "domingo 25 de octubre, a las 02:30 CET, hora de Madrid (CET)" in shown


async def test_change_keeps_one_callback_and_cancel_cancels_it(database: Database) -> None:
    env = landing(database, SUNDAY_EVENING)
    link_id, token = await env.link()
    async with env.client() as http:
        await _book(http, token, "2026-12-07T08:30:00+00:00", "Europe/Madrid")
        page = (await http.get(f"/c/{token}")).text
        assert 'action="/c/' in page and "/callback/change" in page and "/callback/cancel" in page
        assert '<option value="2026-12-07T08:30:00+00:00" selected>lun 7, 09:30</option>' in page  # the booked time
        changed = await _book(http, token, "2026-12-08T10:00:00+00:00", "Europe/Madrid", "callback/change")
        assert "err=" not in changed.headers["location"]
        shown = (await http.get(f"/c/{token}")).text
        assert "Le llamaremos el martes 8 de diciembre, a las 11:00, hora de Madrid (CET)." in shown
        [row] = await _callbacks(database)  # moved, not doubled
        assert row.due_at == datetime(2026, 12, 8, 10, 0, tzinfo=UTC) and row.state == "scheduled"
        link = await env.links.get(link_id)
        assert link is not None and link.callback_at == row.due_at
        assert link.expires_at >= row.due_at + timedelta(hours=48)  # extended with the change
        # Cancel: the callbacks domain cancels it; the page can book again.
        cancelled = await http.post(f"/c/{token}/callback/cancel", data={"csrf": _csrf(shown), "lang": "es"})
        after = (await http.get(cancelled.headers["location"])).text
    [row] = await _callbacks(database)
    assert row.state == CallbackState.CANCELLED.value and row.reason == CANCEL_REASON
    assert "Llamada cancelada. Puede pedir otra cuando quiera." in after and 'action="/c/' in after
    assert "Le llamaremos" not in after and "/callback/change" not in after
    link = await env.links.get(link_id)
    assert link is not None and link.callback_id is None


async def test_the_link_lives_until_the_booked_callback(sqlite_db: Database) -> None:
    env = landing(sqlite_db, SUNDAY_EVENING)
    link_id, token = await env.link()  # a 24 h link: it would end Monday 20:00 UTC
    async with env.client() as http:
        await _book(http, token, "2026-12-08T10:00:00+00:00", "Europe/Madrid")  # Tuesday 11:00 Madrid
        env.now[0] = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)  # after the original expiry, before the callback
        alive = await http.get(f"/c/{token}")
    link = await env.links.get(link_id)
    assert link is not None and link.expires_at == datetime(2026, 12, 10, 10, 0, tzinfo=UTC)
    assert alive.status_code == 200 and "Le llamaremos el martes 8 de diciembre" in alive.text
    assert "jueves 10 de diciembre" in alive.text  # "this link expires on ..."


async def test_rating_only_after_an_agent_or_a_callback_served_the_caller(sqlite_db: Database) -> None:
    env = landing(sqlite_db, SUNDAY_EVENING)
    ctx = {**snapshot("call-night").to_dict(), "reason": "after_hours", "queue": None, "waited_seconds": None,
           "variables": {"schedule_state": "holiday", "schedule_reason": "Navidad"}}
    _, token = await env.link(reason="after_hours", context=ctx, call_id="call-night")
    async with env.client() as http:
        page = (await http.get(f"/c/{token}")).text
        assert "porque llamó en un día festivo (Navidad) y estábamos cerrados" in page
        assert 'id="rate"' not in page and "Valore nuestro servicio" not in page
        tried = await http.post(f"/c/{token}/rate", data={"csrf": _csrf(page), "score": "5", "lang": "es"})
        assert "err=error" in tried.headers["location"]
        assert await env.ratings.for_link((await env.links.list(limit=1))[0].id) is None
        # The callback reached the caller: now they may rate it.
        await _book(http, token, "2026-12-07T08:30:00+00:00", "Europe/Madrid")
        async with sqlite_db.session() as s:
            await s.execute(update(CallbackRow).values(state=CallbackState.COMPLETED.value, active_key=None))
        served = (await http.get(f"/c/{token}")).text
        assert "Le llamamos el lunes 7 de diciembre, a las 09:30, hora de Madrid (CET)." in served
        assert 'id="rate"' in served
        rated = await http.post(f"/c/{token}/rate", data={"csrf": _csrf(served), "score": "5", "lang": "es"})
        assert "err=" not in rated.headers["location"]
    # A queue-wait link whose call an agent answered may be rated; one nobody answered may not.
    _, answered = await env.link(call_id="call-answered")
    _, waiting = await env.link(call_id="call-waiting")
    env.calls.served.add("call-answered")
    async with env.client() as http:
        assert 'id="rate"' in (await http.get(f"/c/{answered}")).text
        assert 'id="rate"' not in (await http.get(f"/c/{waiting}")).text


async def test_page_says_when_and_why_in_the_callers_zone(sqlite_db: Database) -> None:
    env = landing(sqlite_db, SUNDAY_EVENING)
    _, token = await env.link()
    async with env.client() as http:
        es = (await http.get(f"/c/{token}")).text
        canary = (await http.get(f"/c/{token}?tz=Atlantic/Canary&lang=en")).text
    assert "Llamó el lunes 23 de noviembre, a las 10:42, hora de Madrid (CET)." in es
    assert "mientras esperaba en la cola de facturación (esperó 3 minutos)" in es and "Eligió: facturación." in es
    assert "You called on Monday 23 November, at 09:42, Canary Islands time (WET)." in canary
    assert NUMBER not in es


def test_quiet_hours_policy_default_is_what_these_tests_assume() -> None:
    assert QueuePolicy().quiet_hours == QuietHours(time(21), time(9))
    assert ZoneInfo("Europe/Madrid").utcoffset(datetime(2026, 12, 7)) == timedelta(hours=1)
