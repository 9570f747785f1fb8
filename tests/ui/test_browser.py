"""The web UI in headless Chromium (Debian's, through Playwright) against the app served by uvicorn.

(a) edit a flow in the editor, publish, and a new call follows the new version;
(b) the agent's screen pop appears when the ACD connects a call;
(c) the wallboard's figures change when a caller joins a queue.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, ViewportSize, async_playwright, expect

from api.app import create_app
from ivr.acd.runtime import AcdRuntime
from ivr.acd.store import AnnouncedBand
from ivr.acd.types import AgentState, EntryKind
from ivr.callcontrol import LiveBridge
from ivr.channel import ConnectResult, DialStatus, InputMode, PromptFile
from ivr.composition import Container, build_container
from ivr.context import CallContext, InputRecord
from ivr.db import Database, utcnow
from ivr.events.types import AgentConnected, QueueJoined
from ivr.ports import CallbackRequest, CallbackSource, Consent, ConsentMethod, DeflectionRequest, QueueRequest
from ivr.settings import Settings
from ivr.web.auth import AuthError, Role
from tests.acd.test_transfer import RecordingOps
from tests.support.calls_rows import record_call
from tests.support.scripted import ScriptedChannel, scripted_info
from tests.support.ui_server import serving
from tests.support.ui_users import add_users

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 10_000
SCREEN: ViewportSize = {"width": 1440, "height": 900}
# Screenshots at 1440×900: into a temporary folder, or into docs/screenshots with PUENTE_SCREENSHOTS=1
# (how the README's pictures are made: `PUENTE_SCREENSHOTS=1 pytest tests/ui/test_browser.py`).
SHOTS_DIR = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
USERS = {"ana": ("admin-pass-1", Role.ADMIN, None), "sam": ("super-pass-1", Role.SUPERVISOR, None),
         "alex": ("agent-pass-1", Role.AGENT, "agent1")}

MINI = """\
name: mini
numbers: ["700"]
languages: [es, en]
start: hello
nodes:
  hello: {kind: play, prompts: [greeting], next: bye}
  bye: {kind: hangup}
"""


@dataclass
class Ui:
    base: str
    container: Container
    browser: Browser
    errors: list[str] = field(default_factory=list)

    async def page_as(self, username: str) -> Page:
        page = await self.browser.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        # script exceptions and Content-Security-Policy violations fail the test (see the fixture)
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        page.on("console", lambda msg: self.errors.append(msg.text)
                if msg.type == "error" and "Content Security Policy" in msg.text else None)
        await page.goto(f"{self.base}/ui/desk")  # not signed in: sent to the login page
        await expect(page).to_have_url(f"{self.base}/ui/login?next=/ui/desk")
        await page.fill("#username", username)
        await page.fill("#password", USERS[username][0])
        await page.click("button[type=submit]")
        await page.wait_for_url(f"{self.base}/ui/desk")
        return page


@pytest.fixture
async def ui(sqlite_db: Database) -> AsyncIterator[Ui]:
    if shutil.which(CHROMIUM) is None:
        pytest.skip("Debian chromium is not installed (scripts/install-system-deps.sh)")
    container = await build_container(Settings(), db=sqlite_db)
    await container.acd.service.load()
    await add_users(container.web.users, USERS)
    try:
        async with serving(create_app(container)) as base, async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                ui = Ui(base, container, browser)
                yield ui
                assert not ui.errors, ui.errors
            finally:
                await browser.close()  # closes the event streams before the server stops
    finally:
        await container.aclose()


def screenshot_path(name: str) -> Path:
    if os.environ.get("PUENTE_SCREENSHOTS") == "1":
        SHOTS_DIR.mkdir(parents=True, exist_ok=True)
        return SHOTS_DIR / name
    return Path(tempfile.gettempdir()) / f"puente-test-{os.getpid()}-{name}"


async def call(container: Container, dialled: str, call_id: str) -> list[str]:
    channel = ScriptedChannel(call_info=scripted_info(dialled=dialled, call_id=call_id))
    await container.flows.engine.run(channel)
    return channel.played


async def open_new_flow(ui: Ui, page: Page, name: str) -> None:
    """Open the editor on a flow that does not exist yet: the page asks before starting one."""
    await page.goto(f"{ui.base}/ui/flows/{name}")
    await expect(page.locator("#missing")).to_contain_text(f"No flow named “{name}”")
    await page.click("#create-flow")
    await expect(page.locator("#main")).to_have_attribute("data-ready", "yes")


async def confirm(page: Page, says: str) -> None:
    await expect(page.locator("#confirm")).to_be_visible()
    await expect(page.locator("#confirm-text")).to_contain_text(says)
    await page.click("#confirm-ok")


async def test_the_editor_lists_a_refused_document_like_any_problem(ui: Ui) -> None:
    page = await ui.page_as("ana")
    await open_new_flow(ui, page, "mini")
    bomb = "a: &a [lol, lol]\nb: &b [*a, *a]\nc: [*b, *b]\n"
    await page.fill("#yaml", bomb)
    await expect(page.locator("#problems")).to_contain_text("line 2: YAML aliases (*a) are not allowed in flows")
    await expect(page.locator("#yaml")).to_have_attribute("aria-invalid", "true")
    await page.click("#save-draft")  # refused (422): said beside the button, nothing saved
    await expect(page.locator("#action-msg")).to_contain_text("the flow cannot be checked")
    await expect(page.locator("#action-msg")).to_be_in_viewport()
    await expect(page.locator("#problems")).to_contain_text("YAML aliases (*a) are not allowed in flows")
    await expect(page.locator("#versions tr")).to_have_count(0)


async def test_edit_a_flow_publish_and_a_new_call_follows_it(ui: Ui) -> None:
    page = await ui.page_as("ana")
    await open_new_flow(ui, page, "mini")

    # YAML with validation as you type: a dangling `next` is reported against its node
    await page.fill("#yaml", MINI.replace("next: bye", "next: nowhere"))
    await expect(page.locator("#problems")).to_contain_text("hello:")
    await expect(page.locator("#problems")).to_contain_text("nowhere")
    await expect(page.locator("#yaml")).to_have_attribute("aria-invalid", "true")

    await page.fill("#yaml", MINI)
    await expect(page.locator("#problem-count")).to_have_text("(none)")
    await expect(page.locator('#graph g[data-node="hello"]')).to_be_visible()
    await expect(page.locator('#graph g[data-node="bye"]')).to_be_visible()
    await page.click("#save-publish")
    await confirm(page, "Publish v1 of mini: 2 nodes added")
    await expect(page.locator("#action-msg")).to_contain_text("Published v1")
    assert any("greeting" in p for p in await call(ui.container, "700", "ui-call-1"))

    # the structured form: change the node's prompt, which rewrites the YAML; publish again
    await page.click('#graph g[data-node="hello"]')
    await expect(page.locator("#node-select")).to_have_value("hello")
    await page.fill("#node-prompts", "goodbye")
    await page.click("#node-form button[type=submit]")
    await expect(page.locator("#yaml")).to_have_value(_contains("goodbye"))
    await page.click("#save-publish")
    await confirm(page, "Publish v2 of mini: 1 node changed")
    await expect(page.locator("#action-msg")).to_contain_text("Published v2")
    played = await call(ui.container, "700", "ui-call-2")
    assert any("goodbye" in p for p in played) and not any("greeting" in p for p in played)

    await page.select_option("#diff-from", "1")
    await page.select_option("#diff-to", "2")
    await page.click("#diff-form button[type=submit]")
    await expect(page.locator("#diff")).to_contain_text("-  hello: {kind: play, prompts: [greeting], next: bye}")
    await expect(page.locator("#diff")).to_contain_text("+  hello: {kind: play, prompts: [goodbye], next: bye}")

    # an admin page (its writes go through the JSON API with the cookie and the CSRF header), then sign out
    await page.goto(f"{ui.base}/ui/admin/users")
    await page.fill("#u-name", "newagent")
    await page.fill("#u-pass", "new-agent-pass")
    await page.fill("#u-agent", "agent2")
    await page.click("#user-form button[type=submit]")
    await expect(page.locator("#rows")).to_contain_text("newagent")
    await page.click("#logout")
    await page.wait_for_url(f"{ui.base}/ui/login")
    await page.goto(f"{ui.base}/ui/admin/users")
    await expect(page).to_have_url(f"{ui.base}/ui/login?next=/ui/admin/users")


async def test_signing_in_works_without_javascript(ui: Ui) -> None:
    context = await ui.browser.new_context(java_script_enabled=False)
    try:
        page = await context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        await page.goto(f"{ui.base}/ui/login?next=/ui/desk")
        await page.fill("#username", "alex")
        await page.fill("#password", "not-the-password")
        await page.click("button[type=submit]")
        await expect(page.locator("#login-error")).to_have_text("Wrong username or password.")
        assert "password" not in page.url  # a POST: nothing typed ever lands in a URL
        # (alex now waits a second before the next try; sam's account is not throttled)
        await page.fill("#username", "sam")
        await page.fill("#password", USERS["sam"][0])
        await page.click("button[type=submit]")
        await page.wait_for_url(f"{ui.base}/ui/desk")
        assert any(c["name"] == "puente_session" for c in await context.cookies())
    finally:
        await context.close()


def _contains(text: str) -> Any:
    import re

    return re.compile(".*" + re.escape(text) + ".*", re.DOTALL)


class GatedAgentChannel(ScriptedChannel):
    """A caller whose agent leg the test steps through: ringing until ``pick_up`` is set, then the
    answer is reported the way both backends report it (``on_answer``: AGI's Dial answer hook, the
    built-in endpoint's 200 OK), then talking until ``end_call`` is set."""

    def __init__(self, call_id: str) -> None:
        super().__init__(call_info=scripted_info(dialled="900100200", call_id=call_id))
        self.pick_up = asyncio.Event()
        self.end_call = asyncio.Event()
        self.ops = RecordingOps()  # the backend's hold/transfer (tests/acd/test_transfer.py)
        self.ops.released = self.end_call  # a transfer ends this agent's leg

    async def connect(self, endpoint: str, *, timeout: float, caller_id: str | None = None,
                      on_answer: Callable[[], None] | None = None,
                      announce: Sequence[PromptFile] = (), bridge: LiveBridge | None = None) -> ConnectResult:
        await self.pick_up.wait()
        if bridge is not None:
            bridge.attach(self.ops)
        if on_answer is not None:
            on_answer()
        await self.end_call.wait()
        return ConnectResult(status=DialStatus.ANSWER, ring_seconds=1.0, talk_seconds=5.0, peer=endpoint)


async def test_desk_follows_the_contact_from_offer_to_done(ui: Ui) -> None:
    page = await ui.page_as("alex")
    await page.set_viewport_size(SCREEN)
    await expect(page.locator("#feed")).to_have_text("(live)")  # subscribed: events now reach the page
    acd = ui.container.acd.service
    await page.click('button[data-state="available"]')  # the state comes back over the stream
    await expect(page.locator("#agent-state")).to_have_text("available")
    assert acd.agent("agent1").state is AgentState.AVAILABLE

    await record_call(ui.container.db, "call-77", agent_id="agent1")  # what the call store writes on connect
    channel = GatedAgentChannel("call-77")
    ctx = CallContext(info=channel.info, flow="support", language="es")
    ctx.path.extend(["choose_language", "returning", "greeting", "main_menu"])
    ctx.inputs.append(InputRecord(node="choose_language", mode=InputMode.DTMF, digits="2"))
    ctx.inputs.append(InputRecord(node="main_menu", mode=InputMode.SPEECH, digits="1", transcript="factura",
                                  confidence=0.82))
    caller = asyncio.create_task(acd.wait_in_queue(channel, QueueRequest(queue="support", context=ctx)))
    try:
        status = page.locator("#contact-status")
        await expect(status).to_have_text(_contains("ringing"))  # offered: the pop shows while it rings
        await expect(page.locator("#pop")).to_have_attribute("data-contact", "offered")
        await expect(page.locator("#pop-path")).to_have_text(
            "Language choice → Back in the queue? → Greeting → Main menu")  # the flow's labels (English browser)
        await expect(page.locator("#pop-inputs")).to_contain_text("Language choice: chose “Spanish” (key 2)")
        await expect(page.locator("#pop-inputs")).to_contain_text(
            "said “factura” (confidence 82%), chose “Billing” (key 1)")
        await expect(page.locator("#pop-reason")).to_have_text("Billing")
        await expect(page.locator("#wrap-call")).to_have_value("call-77")

        channel.pick_up.set()  # the agent answers: on call, with a talk timer
        await expect(page.locator("#pop")).to_have_attribute("data-contact", "on_call")
        await expect(status).to_have_text("On call")
        await expect(page.locator("#talk-time")).to_have_text(_contains(" s"))
        await expect(page.locator("#agent-state")).to_have_text("busy")
        await expect(page.locator("#control-status")).to_contain_text("hold, or transfer to a queue or an agent")
        await page.click("#hold-btn")  # hold and resume, as the backend allows
        await expect(page.locator("#control-status")).to_contain_text("The caller is on hold (music) since")
        await expect(page.locator("#hold-btn")).to_be_hidden()
        await page.click("#resume-btn")
        await expect(page.locator("#notice")).to_contain_text("Caller back on the line")
        await expect(page.locator("#hold-btn")).to_be_enabled()
        assert channel.ops.calls == ["hold", "resume"]
        await page.screenshot(path=str(screenshot_path("desk-on-call.png")))

        channel.end_call.set()  # the call ends: wrap-up with a countdown (support: 20 s)
        await expect(page.locator("#pop")).to_have_attribute("data-contact", "wrap_up")
        await expect(page.locator("#wrap-time")).to_have_text(_contains(" s (at "))
        before = acd.wrap_up_until("agent1")
        assert before is not None
        await page.click("#more-time")
        await expect(page.locator("#notice")).to_contain_text("Wrap-up now ends at")
        after = acd.wrap_up_until("agent1")
        assert after is not None and (after - before).total_seconds() >= 29
        await page.screenshot(path=str(screenshot_path("desk-wrap-up.png")))
        await caller
    finally:
        channel.pick_up.set()
        channel.end_call.set()
        await asyncio.wait_for(caller, 10)

    await page.select_option("#wrap-disposition", "resolved")
    await page.fill("#wrap-notes", "billing question answered")
    await page.click("#wrapup-form button[type=submit]")
    await expect(page.locator("#notice")).to_contain_text("Wrap-up saved (resolved); state available")
    await expect(page.locator("#wrapups")).to_contain_text("call-77: resolved — billing question answered")
    # done: the finished contact clears and the form no longer names its call
    await expect(page.locator("#pop")).to_have_attribute("data-contact", "none")
    await expect(page.locator("#wrap-call")).to_have_value("")
    assert acd.agent("agent1").state is AgentState.AVAILABLE
    assert (await ui.container.web.audit.recent())[0]["action"] == "desk.wrapup"


async def test_desk_transfers_a_caller_to_another_queue(ui: Ui) -> None:
    page = await ui.page_as("alex")
    await expect(page.locator("#feed")).to_have_text("(live)")
    acd = ui.container.acd.service
    acd.set_agent_state("agent1", AgentState.AVAILABLE)
    await record_call(ui.container.db, "call-55", agent_id="agent1")
    channel = GatedAgentChannel("call-55")
    channel.pick_up.set()
    sub = ui.container.bus.subscribe()
    ctx = CallContext(info=channel.info, flow="support", language="es")
    caller = asyncio.create_task(acd.wait_in_queue(channel, QueueRequest(queue="support", context=ctx)))
    try:
        await expect(page.locator("#pop")).to_have_attribute("data-contact", "on_call")
        await expect(page.locator("#transfer-btn")).to_be_enabled()
        await page.select_option("#transfer-queue", "billing")
        await page.click("#transfer-btn")
        await expect(page.locator("#notice")).to_contain_text("Caller transferred to billing")
        await expect(page.locator("#pop")).to_have_attribute("data-contact", "wrap_up")  # this agent is done
        await asyncio.wait_for(caller, 10)
    finally:
        channel.end_call.set()
        await asyncio.wait_for(caller, 10)
    joined = [e.queue for e in iter(sub.get_nowait, None) if isinstance(e, QueueJoined)]
    assert joined == ["support", "billing"]  # the same call, into billing
    assert channel.ops.calls == ["release"]
    assert (await ui.container.web.audit.recent())[0]["action"] == "desk.call_transfer"


async def test_desk_replies_to_a_case_and_closes_it(ui: Ui) -> None:
    ui.container.settings.deflection.quiet_hours_start = "00:00"  # never quiet: the reply goes at once
    ui.container.settings.deflection.quiet_hours_end = "00:00"
    await record_call(ui.container.db, "call-66", agent_id="agent1", caller="+34612345678")
    asked_on = CallContext(info=scripted_info(call_id="call-66", caller="+34612345678"), flow="support",
                           language="es").snapshot("queue")
    consent = Consent(method=ConsentMethod.KEY, at=utcnow(), prompt_id="deflection/offer", prompt_version="1")
    ticket = await ui.container.deflection.service.send_link(DeflectionRequest(
        number="+34612345678", context=asked_on, reason="queue_wait", consent=consent))
    case, _ = await ui.container.deflection.cases.create(
        link_id=ticket.link_id, submission="s1", number="+34612345678", call_id="call-66", queue="billing",
        description="Cobro duplicado", context={}, now=utcnow(), target_hours=24.0)
    page = await ui.page_as("alex")
    await page.set_viewport_size(SCREEN)
    row = page.locator(f'#cases tr[data-case="{case.id}"]')
    await expect(row).to_contain_text("no reply yet")
    await row.locator("textarea").fill("Le hemos devuelto el cargo.")
    await row.locator('button[data-act="reply"]').click()
    await expect(page.locator("#notice")).to_contain_text(f"Reply to case {case.id} sent by sms")
    await expect(row.locator(".replies")).to_contain_text("alex (sms, sent): Le hemos devuelto el cargo.")
    await row.scroll_into_view_if_needed()
    await page.screenshot(path=str(screenshot_path("desk-case-reply.png")))
    await row.locator('button[data-act="close-case"]').click()
    await expect(page.locator("#notice")).to_contain_text(f"Case {case.id} closed")
    await expect(row).to_have_count(0)
    actions = [e["action"] for e in await ui.container.web.audit.recent()]
    assert actions[:2] == ["case.close", "case.reply"]


async def test_desk_clears_a_wrap_up_that_ends_by_itself(ui: Ui) -> None:
    page = await ui.page_as("alex")
    await expect(page.locator("#feed")).to_have_text("(live)")
    acd = ui.container.acd.service
    ui.container.bus.publish(AgentConnected(agent_id="agent1", call_id="call-88", queue="support",
                                            context={"caller": "+34600111222", "flow": "support"}))
    # another agent's pop never shows here
    ui.container.bus.publish(AgentConnected(agent_id="agent2", call_id="call-89", queue="support",
                                            context={"caller": "+34699999999"}))
    await expect(page.locator("#pop")).to_have_attribute("data-contact", "on_call")
    await expect(page.locator("#pop-caller")).to_have_text("+34600111222")
    acd.set_agent_state("agent1", AgentState.WRAP_UP)  # a wrap-up without an end: said, no countdown
    await expect(page.locator("#wrap-time")).to_have_text(_contains("no set end"))
    await expect(page.locator("#more-time")).to_be_disabled()
    acd.set_agent_state("agent1", AgentState.AVAILABLE)
    await expect(page.locator("#pop")).to_have_attribute("data-contact", "none")
    await expect(page.locator("#wrap-for")).to_contain_text("call-88 has ended")


async def test_desk_callback_actions(ui: Ui) -> None:
    callbacks = ui.container.callback_service
    assert callbacks is not None
    await record_call(ui.container.db, "call-99", agent_id="agent1")  # agent1 handled the call it was asked on
    asked_on = CallContext(info=scripted_info(call_id="call-99"), flow="support", language="es").snapshot("queue")
    ticket = await callbacks.request(CallbackRequest(
        number="+34600111333", queue="support", source=CallbackSource.QUEUE_KEY, context=asked_on,
        not_before=utcnow() + timedelta(hours=2)))
    page = await ui.page_as("alex")
    row = page.locator(f'#callbacks tr[data-callback="{ticket.callback_id}"]')
    await expect(row).to_be_visible()
    await row.locator("input[type=datetime-local]").fill("2099-12-24T18:00")
    await row.locator('button[data-act="reschedule"]').click()
    await expect(page.locator("#notice")).to_contain_text("rescheduled for 2099-12-24 18:00 CET")
    found = await callbacks.get(ticket.callback_id)
    assert found.due_at == datetime(2099, 12, 24, 17, 0, tzinfo=UTC)  # 18:00 in Madrid
    await row.locator('button[data-act="close"]').click()
    await expect(page.locator("#notice")).to_contain_text("closed")
    await expect(row).to_have_count(0)


async def test_wallboard_updates_when_a_caller_joins(ui: Ui) -> None:
    page = await ui.page_as("sam")
    await page.set_viewport_size(SCREEN)
    await page.goto(f"{ui.base}/ui/wallboard")
    support = page.locator('#queues [data-queue="support"]')
    waiting = support.locator(".tile.waiting .value")
    await expect(waiting).to_have_text("0")
    await expect(support.locator(".tile.waiting")).to_have_attribute("data-level", "ok")
    # the service level says what it counts, and abandons stand beside it
    await expect(support.locator(".tile.sl")).to_contain_text("answered + abandoned after 5 s")
    await expect(page.locator("#sl-definition")).to_contain_text("left out and counted apart")
    await expect(support.locator(".tile.abandons")).to_contain_text("short (under 5 s), not counted")
    await expect(support.locator(".tile.ewt")).to_contain_text("method:")
    await expect(page.locator("#chart-zone")).to_contain_text("Europe/Madrid")
    calls_chart = page.locator('#charts figure[data-chart="Calls"]')
    await expect(calls_chart.locator("canvas")).to_be_visible()  # drawn by uPlot, served by us
    await expect(calls_chart).to_have_attribute("data-total", "0")
    await expect(calls_chart).to_have_attribute("data-x-axis", _contains("hour (Europe/Madrid"))  # the axis title

    acd = ui.container.acd.service
    assert acd.store is not None
    acd.set_agent_state("agent1", AgentState.AVAILABLE)
    agent_row = page.locator('#agents tr[data-agent="agent1"]')
    await expect(agent_row).to_have_attribute("data-state", "available")
    await expect(agent_row.locator("td.in-state")).to_have_text(_seconds_at_least(2))  # time in state ticks

    for i in range(4):  # four callers: over the support queue's warn threshold (3)
        acd.join("support", arrival=utcnow(), priority=0, kind=EntryKind.CALL, call_id=f"wall-{i}")
    await AcdRuntime(acd, acd.store).flush()  # what the runtime does every second in `ivr serve`
    await expect(waiting).to_have_text("4")
    await expect(support.locator(".tile.waiting")).to_have_attribute("data-level", "warn")

    # beside the EWT: how true today's announced waits were (one caller heard "less than 2 min", waited 90 s)
    ewt_tile = support.locator(".tile.ewt")
    await expect(ewt_tile).not_to_contain_text("in band")
    now = utcnow()
    await acd.store.add_prediction(entry_id="heard-1", call_id=None, queue="support", at=now - timedelta(seconds=90),
                                   predicted_seconds=70.0, method="qlm", ahead=1, servers=1,
                                   band=AnnouncedBand("less than 2 min", 0.0, 120.0))
    await acd.store.resolve_predictions("heard-1", left_at=now, outcome="connected")
    await expect(ewt_tile).to_contain_text("100% in band · 100% ±25% · MAE 20 s (1)")

    await record_call(ui.container.db, "wall-call-1", agent_id=None)  # a call today: the chart follows
    await expect(calls_chart).to_have_attribute("data-total", "1")
    await page.screenshot(path=str(screenshot_path("wallboard.png")))
    await page.locator("#a-h").scroll_into_view_if_needed()
    await page.evaluate("window.scrollTo(0, document.getElementById('a-h').offsetTop - 8)")
    await page.screenshot(path=str(screenshot_path("wallboard-agents-charts.png")))
    await page.evaluate("window.scrollTo(0, 0)")

    await page.click("#tv")  # TV mode: the board alone (headless Chromium may refuse full screen)
    await expect(page.locator("body")).to_have_class(_contains("tv"))
    await expect(page.locator("header.top")).to_be_hidden()
    await page.screenshot(path=str(screenshot_path("wallboard-tv.png")))
    await page.click("#tv")
    await expect(page.locator("header.top")).to_be_visible()


def _seconds_at_least(n: int) -> Any:
    import re

    return re.compile(rf"([{n}-9]|[1-5]\d) s|\d+ min \d+ s")


async def test_admin_edits_reach_the_next_call(ui: Ui) -> None:
    page = await ui.page_as("ana")
    await page.set_viewport_size(SCREEN)
    acd = ui.container.acd.service
    schedules = ui.container.config.schedules

    # queues: a form per queue; the change is what the next caller's queue uses
    await page.goto(f"{ui.base}/ui/admin/queues")
    form = page.locator('form.queue-form[data-queue="support"]')
    await form.locator('input[name="wrap_up_seconds"]').fill("45")
    await form.locator('input[name="skills"]').fill("support:2")
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#notice")).to_contain_text("Queue support saved")
    assert acd.queue_config("support").wrap_up_seconds == 45 and acd.queue_config("support").skills == {"support": 2}
    assert acd.queue_config("support").extra["wallboard"]["waiting"] == {"warn": 3, "alarm": 6}  # the rest is kept
    await form.locator('input[name="skills"]').fill("support=2")
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#notice")).to_contain_text("Skills: write skills as name:level")
    await form.locator('input[name="skills"]').fill("support:2")
    await form.locator('input[name="overflow"]').fill("queue:nowhere")
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#notice")).to_contain_text("overflow to unknown queue 'nowhere'")
    assert str(acd.queue_config("support").overflow) == "callback"  # a refused change changes nothing

    # agents: name, endpoint and skills; the router rings the new endpoint on the next offer
    await page.goto(f"{ui.base}/ui/admin/agents")
    await page.locator('#rows tr[data-agent="agent2"] button', has_text="Edit").click()
    await expect(page.locator("#ag-id")).to_have_value("agent2")
    await page.fill("#ag-endpoint", "PJSIP/2002")
    await page.fill("#ag-skills", "support:1, billing:2")
    await page.click("#agent-form button[type=submit]")
    await expect(page.locator("#notice")).to_contain_text("Agent agent2 saved")
    await page.screenshot(path=str(screenshot_path("admin-agents.png")))
    assert acd.agent("agent2").endpoint == "PJSIP/2002" and acd.agent("agent2").skills == {"support": 1, "billing": 2}
    await expect(page.locator('#rows tr[data-agent="agent2"]')).to_contain_text("PJSIP/2002")

    # users: an agent id that does not exist is refused, in words
    await page.goto(f"{ui.base}/ui/admin/users")
    await page.fill("#u-name", "ghost")
    await page.fill("#u-pass", "ghost-pass-1")
    await page.fill("#u-agent", "agent9")
    await page.click("#user-form button[type=submit]")
    await expect(page.locator("#notice")).to_contain_text("there is no agent 'agent9'")
    users = ui.container.web.users
    sam_token = (await users.login("sam", USERS["sam"][0]))[1]
    sam_row = page.locator('#rows tr[data-user="sam"]')
    await sam_row.locator('button[data-act="disable"]').click()
    await expect(page.locator("#notice")).to_contain_text("sam disabled; their sessions ended")
    await expect(sam_row).to_contain_text("disabled")
    with pytest.raises(AuthError):
        await users.user_for_token(sam_token)  # the disabled supervisor is signed out at once
    await sam_row.locator('button[data-act="enable"]').click()
    await expect(sam_row.locator('button[data-act="disable"]')).to_be_visible()
    await sam_row.locator('select[data-field="role"]').select_option("agent")
    await expect(page.locator("#notice")).to_contain_text("sam is now agent")
    await sam_row.locator('input[type="password"]').fill("sam-new-pass-1")
    await sam_row.locator('button[data-act="password"]').click()
    await expect(page.locator("#notice")).to_contain_text("New password set for sam")
    user, _ = await users.login("sam", "sam-new-pass-1")
    assert user.role is Role.AGENT
    await page.locator('#rows tr[data-user="ana"] button[data-act="disable"]').click()
    await expect(page.locator("#notice")).to_contain_text("you cannot disable or demote your own account")

    # schedules: a week view with named holidays; an override until a local time
    await page.goto(f"{ui.base}/ui/admin/schedules")
    card = page.locator('#schedules article[data-schedule="support"]')
    await expect(card.locator('td[data-day="mon"]')).to_have_text("08:00-20:00")
    await expect(card.locator('td[data-day="sun"]')).to_have_text("closed")
    await expect(card.locator("ul.holidays")).to_contain_text("2026-12-25: Natividad del Señor")
    await page.select_option("#ov-name", "support")
    await page.fill("#ov-until", "2020-01-01T10:00")
    await page.click("#override-form button[type=submit]")
    await expect(page.locator("#notice")).to_contain_text("Until: choose a time in the future")
    await page.fill("#ov-until", "2099-12-24T18:00")
    await page.fill("#ov-reason", "storm")
    await page.click("#override-form button[type=submit]")
    await expect(page.locator("#notice")).to_contain_text("until 2099-12-24 18:00 CET")
    override = await schedules.get_override("support")
    assert override is not None and override.until == datetime(2099, 12, 24, 17, tzinfo=UTC)
    assert (await schedules.status("support")).state.value == "closed"  # what the next call's branch sees
    await expect(card).to_contain_text("Override: closed (storm) until 2099-12-24 18:00 CET")
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot(path=str(screenshot_path("admin-schedules.png")))

    # the hours document: a mistake is refused with the checker's words; a good one is live at once
    document = await page.locator("#definition").input_value()
    await page.fill("#definition", document.replace("mon-fri:", "mon-fry:", 1))
    await page.click("#definition-form button[type=submit]")
    await expect(page.locator("#notice")).to_have_class(_contains("bad"))
    await expect(page.locator("#notice")).to_contain_text("unknown day 'fry' (use mon, tue")
    await page.fill("#definition", document.replace('sat: ["09:00-14:00"]', 'sat: ["10:00-13:00"]', 1))
    await page.click("#definition-form button[type=submit]")
    await expect(page.locator("#notice")).to_contain_text("published; new calls follow it")
    await expect(card.locator('td[data-day="sat"]')).to_have_text("10:00-13:00")
    # message templates: a text without its link is refused in words; a good one is what the next message uses
    await page.goto(f"{ui.base}/ui/admin/templates")
    form = page.locator("#templates form").first
    await expect(form).to_be_visible()
    target = await form.get_attribute("data-template")
    assert target is not None
    language, key = target.split("/")
    area = form.locator("textarea")
    original = await area.input_value()
    await area.fill("Hola, sin enlace")
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#notice")).to_contain_text("must contain {url}")
    await area.fill(original.replace("{url}", "{url} ") + " (nuevo)")
    await form.locator("button[type=submit]").click()
    await expect(page.locator("#notice")).to_contain_text(f"Template {key} ({language}) saved")
    book = ui.container.deflection.service.templates
    assert book is not None
    assert book.render(language, key, url="https://x/c/t", ref="R1").endswith(" (nuevo)")  # what is sent next
    audit = [e["action"] for e in await ui.container.web.audit.recent()]
    assert {"queue.put", "agent.put", "schedule.override", "schedules.publish", "deflection.template"} <= set(audit)
