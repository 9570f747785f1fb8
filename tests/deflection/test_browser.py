"""The landing page in headless Chromium at phone size, with every action exercised."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import select

from api.plugin import HttpServer
from deflection.models import CaseRow, RatingRow
from deflection.service import DeflectionService
from ivr.composition import Container
from ivr.db import Database
from tests.support.deflection_env import AlwaysOpen, FakeCallbacks, container, request, settings

playwright_api = pytest.importorskip("playwright.async_api")

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


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


async def test_page_in_chromium_phone(sqlite_db: Database) -> None:
    callbacks = FakeCallbacks()
    c = await container(sqlite_db, settings(whatsapp_business_number="+34910000000"), callbacks=callbacks,
                        schedules=AlwaysOpen())
    svc: DeflectionService = c.services["deflection"]
    ticket = await svc.send_link(request())
    token = re.search(r"/c/([A-Za-z0-9_-]+)", ticket.url).group(1)  # type: ignore[union-attr]
    async with serving(c) as port, playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            ctx = await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                            has_touch=True, device_scale_factor=2)
            page = await ctx.new_page()
            url = f"http://127.0.0.1:{port}/c/{token}"
            response = await page.goto(url)
            assert response is not None and response.status == 200
            assert len(await response.body()) < 50 * 1024
            assert await page.get_attribute("html", "lang") == "es"
            assert "Llamó por facturación a las 10:42 y esperó 3 minutos." in await page.inner_text("#greeting")
            assert await page.inner_text("#reference") == ticket.reference
            href = await page.get_attribute("#whatsapp", "href")
            assert href == f"https://wa.me/34910000000?text=Hola%2C%20mi%20referencia%20es%20{ticket.reference}"
            # Nothing wider than the phone; every control labelled; landmarks present.
            assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            unlabelled = await page.evaluate(
                "[...document.querySelectorAll('textarea,select,input:not([type=hidden])')]"
                ".filter(e => !e.labels || e.labels.length === 0).length")
            assert unlabelled == 0
            assert await page.locator("main").count() == 1 and await page.locator("header").count() == 1
            await page.keyboard.press("Tab")
            assert await page.evaluate("document.activeElement.className") == "skip"

            await page.fill("#description", "Me han cobrado dos veces la factura de octubre")
            await page.click("#case button[type=submit]")
            await page.wait_for_selector("#case [role=status]")
            await page.select_option("#slot", index=1)
            chosen = await page.eval_on_selector("#slot", "e => e.value")
            await page.click("#callback button[type=submit]")
            await page.wait_for_selector("#callback [role=status]")
            await page.check("input[name=score][value='4']")
            await page.fill("#comment", "Rápido y amable")
            await page.click("#rate button[type=submit]")
            await page.wait_for_selector("#rate [role=status]")
            assert "4 de 5" in await page.inner_text("#rate [role=status]")

            await page.click("header a[hreflang=en]")
            await page.wait_for_selector("html[lang=en]")
            assert "You called about billing at 10:42" in await page.inner_text("#greeting")
        finally:
            await browser.close()
    async with sqlite_db.session() as s:
        [case] = (await s.scalars(select(CaseRow))).all()
        [rating] = (await s.scalars(select(RatingRow))).all()
    assert case.description.startswith("Me han cobrado") and case.context["queue"] == "billing"
    assert (rating.score, rating.comment) == (4, "Rápido y amable")
    [cb] = callbacks.requests
    assert cb.not_before is not None and cb.not_before.isoformat() == chosen
