"""The landing page in headless Chromium at phone size (390×844), with and without JavaScript
(the page uses none: both must work the same), every action exercised against the real callbacks
service: view, book, change, cancel, rate (once served)."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import select

from api.plugin import HttpServer
from callbacks.models import CallbackRow
from deflection.models import CaseRow, RatingRow
from deflection.service import DeflectionService
from ivr.composition import Container
from ivr.db import Database
from tests.support.callbacks_fakes import make_callbacks
from tests.support.deflection_env import AlwaysOpen, CallsSeen, container, request, settings

playwright_api = pytest.importorskip("playwright.async_api")

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"width": 390, "height": 844}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@asynccontextmanager
async def serving(c: Container) -> AsyncIterator[int]:
    c.settings.http.host, c.settings.http.port = "127.0.0.1", 0
    server = HttpServer(c)
    started = asyncio.Event()
    task = asyncio.create_task(server.run(started))
    try:
        await asyncio.wait_for(started.wait(), 10)
        assert server.port is not None
        yield server.port
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def _landing(db: Database, *, served: bool) -> tuple[Container, str, str]:
    calls = CallsSeen(served={"call-1"} if served else set())
    c = await container(db, settings(whatsapp_business_number="+34910000000"), callbacks=make_callbacks(db),
                        schedules=AlwaysOpen(), calls=calls)
    svc: DeflectionService = c.deflection.service
    ticket = await svc.send_link(request())
    token = re.search(r"/c/([A-Za-z0-9_-]+)", ticket.url).group(1)  # type: ignore[union-attr]
    return c, token, ticket.reference


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
async def test_every_action_in_chromium_phone(sqlite_db: Database, javascript: bool) -> None:
    c, token, reference = await _landing(sqlite_db, served=True)
    shots = javascript and os.environ.get("PUENTE_SCREENSHOTS") == "1"  # refresh docs/screenshots on demand
    async with serving(c) as port, playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            ctx = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2,
                                            java_script_enabled=javascript)
            page = await ctx.new_page()
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            url = f"http://127.0.0.1:{port}/c/{token}"
            response = await page.goto(url)
            assert response is not None and response.status == 200
            assert requests == [url]  # one request: no script, style sheet, font or image
            assert len(await response.body()) < 8 * 1024
            assert "default-src 'none'" in response.headers["content-security-policy"]
            assert await page.locator("script").count() == 0
            assert await page.get_attribute("html", "lang") == "es"
            assert "Llamó el lunes 23 de noviembre, a las 10:42, hora de Madrid (CET)." in await page.inner_text(
                "#called")
            assert "cola de facturación" in await page.inner_text("#why")
            assert await page.inner_text("#reference") == reference
            assert "hora de Madrid" in await page.inner_text("#cb-zone")
            assert await page.locator("#callback-slot optgroup").count() >= 2  # grouped by day
            # Nothing wider than the phone; every control labelled; landmarks present.
            # (Playwright's own evaluation runs even where the page's JavaScript is off.)
            assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            assert await page.locator("select, textarea").evaluate_all(
                "els => els.length > 3 && els.every(e => e.labels && e.labels.length > 0)")
            assert await page.locator("main").count() == 1 and await page.locator("header").count() == 1
            if shots:
                await page.screenshot(path=str(SCREENSHOTS / "landing-page.png"))

            # Book: the second slot of the first day.
            chosen = await page.locator("#callback-slot option").nth(1).get_attribute("value")
            assert chosen is not None
            await page.select_option("#callback-slot", chosen)
            await page.click("#callback form[action$='/callback'] button[type=submit]")
            await page.wait_for_selector("#cb-booked")
            booked = await page.inner_text("#cb-booked")
            assert booked.startswith("Le llamaremos el ") and "hora de Madrid" in booked
            if shots:
                await page.locator("#callback").scroll_into_view_if_needed()
                await page.screenshot(path=str(SCREENSHOTS / "landing-booked.png"))

            # Change: another slot; still one callback.
            later = await page.locator("#callback-change-slot option").nth(3).get_attribute("value")
            assert later is not None and later != chosen
            await page.select_option("#callback-change-slot", later)
            # The page has no script: each form is a full navigation, so wait for it, not for the old DOM.
            async with page.expect_navigation():
                await page.click("#callback form[action$='/callback/change'] button[type=submit]")
            await page.wait_for_selector("#cb-booked")
            changed = await page.inner_text("#cb-booked")
            assert changed != booked
            async with sqlite_db.session() as s:
                [row] = (await s.scalars(select(CallbackRow))).all()
            assert row.due_at.isoformat() == later and row.timezone == "Europe/Madrid"

            # Cancel, then the page offers times again.
            await page.click("#callback form[action$='/callback/cancel'] button[type=submit]")
            await page.wait_for_selector("#callback-slot")
            assert "Llamada cancelada" in await page.inner_text("#callback")
            async with sqlite_db.session() as s:
                [row] = (await s.scalars(select(CallbackRow))).all()
            assert row.state == "cancelled"

            # A case, then a rating (an agent answered this call).
            await page.fill("#description", "Me han cobrado dos veces la factura de octubre")
            await page.click("#case button[type=submit]")
            await page.wait_for_selector("#case [role=status]")
            await page.check("input[name=score][value='4']")
            await page.fill("#comment", "Rápido y amable")
            await page.click("#rate button[type=submit]")
            await page.wait_for_selector("#rate [role=status]")
            assert "4 de 5" in await page.inner_text("#rate [role=status]")

            await page.click("header a[hreflang=en]")
            await page.wait_for_selector("html[lang=en]")
            assert "You called on Monday 23 November" in await page.inner_text("#called")
        finally:
            await browser.close()
    async with sqlite_db.session() as s:
        [case] = (await s.scalars(select(CaseRow))).all()
        [rating] = (await s.scalars(select(RatingRow))).all()
    assert case.description.startswith("Me han cobrado") and case.context["queue"] == "billing"
    assert (rating.score, rating.comment) == (4, "Rápido y amable")


@pytest.mark.parametrize("javascript", [True, False], ids=["js-on", "js-off"])
async def test_no_rating_form_before_anyone_served_the_caller(sqlite_db: Database, javascript: bool) -> None:
    c, token, _ = await _landing(sqlite_db, served=False)
    async with serving(c) as port, playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            ctx = await browser.new_context(viewport=PHONE, is_mobile=True, java_script_enabled=javascript)
            page = await ctx.new_page()
            response = await page.goto(f"http://127.0.0.1:{port}/c/{token}")
            assert response is not None and response.status == 200
            await page.wait_for_selector("#callback")
            assert await page.locator("#rate").count() == 0
            assert await page.locator("input[name=score]").count() == 0
        finally:
            await browser.close()
