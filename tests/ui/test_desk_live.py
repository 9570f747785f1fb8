"""The agent desk in real Chromium following a real call, on both backends, end to end over sockets.

Everything ``ivr serve`` runs is running here (the composition root's components: HTTP, FastAGI,
the built-in SIP endpoint, the ACD runtime, the call store...) on free loopback ports, with the
shipped support flow. A caller presses 1 (English) and 1 (billing) and reaches agent1:

- over FastAGI, from an emulated Asterisk (:mod:`tests.support.agi_driver`) whose ``EXEC Dial``
  rings until the test picks up, reports the answer through Dial's answer hook (a second FastAGI
  connection to ``puente-agent-answered``, as Asterisk does), and talks until the test hangs up;
- over SIP, from SIPp (``uac_support_billing_agent.xml``) to a SIPp agent phone
  (``uas_gated.xml``) that rings until the test sends an INFO in its dialog, then talks until a
  second INFO makes it hang up.

The desk shows offered → on call (talk timer running) → wrap-up (countdown, "more time") → done,
with the route and choices named in the agent's language (Spanish here: the browser's, or the
agent's choice on the desk). Every wait is on a page condition or an event, with a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from api.plugin import HttpServer
from ivr.acd.config import AgentConfig
from ivr.composition import Container, build_container, server_components
from ivr.db import Database
from ivr.serve import _run_components
from ivr.settings import Settings
from ivr.supervision import SupervisionHooks
from tests.sipp.sipp import LOOPBACK, free_port, require_sipp, run_sipp, sipp_agent
from tests.support.agi_driver import AsteriskDriver, CallerModel, DialOutcome, env_block
from tests.support.ui_users import add_users
from tests.ui.test_browser import CHROMIUM, CHROMIUM_ARGS, SCREEN, TIMEOUT_MS, USERS

pytestmark = pytest.mark.browser
START_SECONDS = 30.0
ROUTE_ES = "Elección de idioma → ¿Vuelve a la cola? → Saludo → Horario de atención → Menú principal"


@dataclass
class Live:
    base: str
    container: Container
    browser: Browser
    agi_port: int
    sip_target: str
    errors: list[str] = field(default_factory=list)

    async def desk(self, username: str, *, locale: str) -> tuple[BrowserContext, Page]:
        context = await self.browser.new_context(locale=locale, viewport=SCREEN)
        page = await context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        await page.goto(f"{self.base}/ui/login?next=/ui/desk")
        await page.fill("#username", username)
        await page.fill("#password", USERS[username][0])
        await page.click("button[type=submit]")
        await page.wait_for_url(f"{self.base}/ui/desk")
        await expect(page.locator("#feed")).to_have_text("(live)")  # subscribed: events now reach the page
        return context, page


@pytest.fixture
async def live(sqlite_db: Database, tmp_path: Path) -> AsyncIterator[Live]:
    if shutil.which(CHROMIUM) is None:
        pytest.skip("Debian chromium is not installed (scripts/install-system-deps.sh)")
    settings = Settings(
        var_dir=tmp_path / "var", http={"host": LOOPBACK, "port": 0}, agi={"host": LOOPBACK, "port": 0},
        sip={"host": LOOPBACK, "port": 0, "rtp_port_min": 0}, audiosocket={"enabled": False},
        speech={"enabled": False}, callbacks={"dispatch": False},
    )
    container = await build_container(settings, db=sqlite_db)
    await add_users(container.web.users, USERS)
    stop, up = asyncio.Event(), asyncio.Event()
    components = server_components(container)
    http = next(c for c in components if isinstance(c, HttpServer))
    server = asyncio.create_task(_run_components(components, stop, hooks=SupervisionHooks(), settings=settings,
                                                 on_up=up.set))
    try:
        started = asyncio.ensure_future(up.wait())
        await asyncio.wait({started, server}, timeout=START_SECONDS, return_when=asyncio.FIRST_COMPLETED)
        if not up.is_set():
            started.cancel()
            if server.done():
                server.result()  # raises why it could not start
            pytest.fail(f"the server did not start in {START_SECONDS} s")
        # open whatever the hour: the caller must reach the main menu
        await container.config.schedules.set_override("support", "open", reason="desk test")
        assert container.sip is not None and container.agi is not None
        host, sip_port = container.sip.endpoint.address
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                live = Live(f"http://{LOOPBACK}:{http.port}", container, browser,
                            container.agi.server.port, f"{host}:{sip_port}")
                yield live
                assert not live.errors, live.errors
            finally:
                await browser.close()
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(server, 30)
        await container.aclose()


async def become_available(page: Page) -> None:
    await page.click('button[data-state="available"]')  # the state comes back over the stream
    await expect(page.locator("#agent-state")).to_have_text("available")


async def see_offered_with_route_in_spanish(page: Page) -> None:
    await expect(page.locator("#pop")).to_have_attribute("data-contact", "offered")
    await expect(page.locator("#contact-status")).to_contain_text("ringing")
    await expect(page.locator("#pop-path")).to_contain_text(ROUTE_ES)
    inputs = page.locator("#pop-inputs")
    await expect(inputs).to_contain_text("Elección de idioma: chose “inglés” (key 1)")
    await expect(inputs).to_contain_text("Menú principal: chose “Facturación” (key 1)")
    await expect(page.locator("#pop-reason")).to_have_text("Facturación")  # the need, named like its choice
    await expect(page.locator("#pop-language")).to_have_text("inglés")


async def see_on_call_with_the_talk_timer_running(page: Page) -> None:
    await expect(page.locator("#pop")).to_have_attribute("data-contact", "on_call")
    await expect(page.locator("#contact-status")).to_have_text("On call")
    talk = page.locator("#talk-time")
    await expect(talk).to_have_text(re.compile(r"^\d+ s$"))
    first = await talk.text_content()
    await expect(talk).not_to_have_text(first or "")  # it ticks
    await expect(page.locator("#agent-state")).to_have_text("busy")


async def see_wrap_up_and_ask_for_more_time(page: Page, live: Live) -> None:
    await expect(page.locator("#pop")).to_have_attribute("data-contact", "wrap_up")
    await expect(page.locator("#wrap-time")).to_have_text(re.compile(r"^\d+ s \(at \d\d:\d\d"))
    acd = live.container.acd.service
    before = acd.wrap_up_until("agent1")
    assert before is not None  # the billing queue's timed wrap-up
    await page.click("#more-time")
    await expect(page.locator("#notice")).to_contain_text("Wrap-up now ends at")
    after = acd.wrap_up_until("agent1")
    assert after is not None and (after - before).total_seconds() >= 29


async def see_done(page: Page) -> None:
    await expect(page.locator("#pop")).to_have_attribute("data-contact", "none")
    await expect(page.locator("#contact-status")).to_contain_text("No contact")
    await expect(page.locator("#pop-body")).to_be_hidden()


async def test_desk_follows_a_call_over_fastagi(live: Live) -> None:
    context, page = await live.desk("alex", locale="es-ES")  # a Spanish browser: the route in Spanish
    await become_available(page)
    ringing, answer, hangup = asyncio.Event(), asyncio.Event(), asyncio.Event()
    model = CallerModel("11", dial=DialOutcome(ringing=ringing, answer_gate=answer, hangup_gate=hangup))
    model.hook_port = live.agi_port  # Dial's answer hook connects back to Puente's FastAGI
    driver = AsteriskDriver(live.agi_port, model, read_timeout=30, env=env_block(
        script="support", dnid="900100200", callerid="+34600111222", uniqueid="1795500000.7"))
    call = asyncio.create_task(driver.run())
    try:
        await asyncio.wait_for(ringing.wait(), 20)  # EXEC Dial PJSIP/agent1 arrived: the phone rings
        await see_offered_with_route_in_spanish(page)
        call_id = await page.locator("#pop-call").text_content()
        await expect(page.locator("#wrap-call")).to_have_value(call_id or "")

        answer.set()  # the agent picks up: the answer hook reports it
        await see_on_call_with_the_talk_timer_running(page)

        hangup.set()  # the agent hangs up: Dial returns, the call ends
        await see_wrap_up_and_ask_for_more_time(page, live)
        result = await asyncio.wait_for(call, 20)
    finally:
        answer.set()
        hangup.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(call, 20)
    assert result.closed_by_server
    assert [c.split(",", 1)[0] for c in result.commands if c.startswith("EXEC Dial")] == ["EXEC Dial PJSIP/agent1"]
    assert len(model.hooks) == 1 and model.hooks[0].received == b""  # the hook closed at once, no command

    await page.select_option("#wrap-disposition", "resolved")
    await page.fill("#wrap-notes", "factura explicada")
    await page.click("#wrapup-form button[type=submit]")
    await expect(page.locator("#notice")).to_contain_text("Wrap-up saved (resolved); state available")
    await see_done(page)  # the finished contact clears and the form no longer names its call
    await expect(page.locator("#wrap-call")).to_have_value("")
    await expect(page.locator("#wrapups")).to_contain_text(f"{call_id}: resolved — factura explicada")
    await context.close()


# --------------------------------------------------------------------------- SIP, with SIPp


class SipGate:
    """Steps the SIPp agent phone (``uas_gated.xml``): an INFO in its dialog, whose Call-ID the
    phone writes to a file when it starts ringing."""

    def __init__(self, agent_port: int, call_id_file: Path) -> None:
        self.agent = (LOOPBACK, agent_port)
        self.file = call_id_file
        self.cseq = 0

    async def call_id(self, deadline: float = 20.0) -> str:
        end = time.monotonic() + deadline
        while not (self.file.exists() and self.file.read_text().strip()):
            if time.monotonic() > end:
                raise AssertionError("the SIPp agent was never rung (no Call-ID written)")
            await asyncio.sleep(0.05)  # polling a file for a condition, with a deadline
        return self.file.read_text().strip()

    async def step(self, call_id: str) -> None:
        """Send the INFO. SIPp answers it towards the dialog's peer (Puente, which drops a stray
        response), not to us: what the agent phone did next is seen on the desk, which the test
        waits for."""
        self.cseq += 1
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, local_addr=(LOOPBACK, 0))
        try:
            port = transport.get_extra_info("sockname")[1]
            transport.sendto((
                f"INFO sip:agent1@{LOOPBACK}:{self.agent[1]} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP {LOOPBACK}:{port};branch=z9hG4bK-gate-{self.cseq}\r\n"
                f"From: <sip:test@{LOOPBACK}:{port}>;tag=gate\r\n"
                f"To: <sip:agent1@{LOOPBACK}>\r\n"
                f"Call-ID: {call_id}\r\nCSeq: {self.cseq} INFO\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
            ).encode(), self.agent)
        finally:
            transport.close()


async def test_desk_follows_a_call_over_the_builtin_sip_endpoint(live: Live, tmp_path: Path) -> None:
    require_sipp()
    context, page = await live.desk("alex", locale="en-US")
    await page.select_option("#desk-lang", "es")  # the agent's own choice, over the browser's English
    await page.click("#lang-form button[type=submit]")
    await page.wait_for_url(f"{live.base}/ui/desk")
    await expect(page.locator("#desk-lang")).to_have_value("es")
    await expect(page.locator("#feed")).to_have_text("(live)")
    await become_available(page)

    agent_port = free_port()
    acd = live.container.acd.service
    await acd.upsert_agent(AgentConfig("agent1", "Agent One", f"sip:agent1@{LOOPBACK}:{agent_port}",
                                       {"support": 2, "billing": 1}))  # as the admin page does: no restart
    gate = SipGate(agent_port, tmp_path / "agent-call-id.txt")
    async with sipp_agent("uas_gated.xml", workdir=tmp_path, port=agent_port, timeout=60,
                          extra=["-key", "gatefile", str(gate.file)]) as agent:
        caller = asyncio.create_task(run_sipp("uac_support_billing_agent.xml", workdir=tmp_path,
                                              target=live.sip_target, timeout=45, caller="+34600000077"))
        try:
            call_id = await gate.call_id()  # Puente's INVITE reached the agent phone: it rings
            await see_offered_with_route_in_spanish(page)

            await gate.step(call_id)  # the agent picks up: 200 OK
            await see_on_call_with_the_talk_timer_running(page)

            await gate.step(call_id)  # the agent hangs up: BYE
            await see_wrap_up_and_ask_for_more_time(page, live)
            outcome = await asyncio.wait_for(caller, 40)  # Puente ends the caller's leg too
        finally:
            if not caller.done():
                caller.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await caller
        agent_outcome = await agent.result()
    assert outcome.ok, outcome.describe()
    assert agent_outcome.ok, agent_outcome.describe()

    # ready before the countdown ends: Available ends the wrap-up, the contact clears, notes still go in
    await page.click('button[data-state="available"]')
    await see_done(page)
    await expect(page.locator("#wrap-for")).to_contain_text("has ended; its notes can still be saved here")
    await page.fill("#wrap-notes", "pedido en camino")
    await page.click("#wrapup-form button[type=submit]")
    await expect(page.locator("#notice")).to_contain_text("Wrap-up saved (resolved); state available")
    await expect(page.locator("#wrapups")).to_contain_text("resolved — pedido en camino")
    await context.close()

