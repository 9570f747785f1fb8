"""The web UI in headless Chromium (Debian's, through Playwright) against the app served by uvicorn.

(a) edit a flow in the editor, publish, and a new call follows the new version;
(b) the agent's screen pop appears when the ACD connects a call;
(c) the wallboard's figures change when a caller joins a queue.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from api.app import create_app
from api.security import Role
from ivr.acd.runtime import AcdRuntime
from ivr.acd.types import AgentState, EntryKind
from ivr.composition import Container, build_container
from ivr.db import Database, utcnow
from ivr.events.types import AgentConnected
from ivr.settings import Settings
from tests.support.calls_rows import record_call
from tests.support.scripted import ScriptedChannel, scripted_info
from tests.support.ui_server import serving
from tests.support.ui_users import add_users

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 10_000
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
    await container.services["acd"].load()
    await add_users(container.services["users"], USERS)
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


async def call(container: Container, dialled: str, call_id: str) -> list[str]:
    channel = ScriptedChannel(call_info=scripted_info(dialled=dialled, call_id=call_id))
    await container.services["engine"].run(channel)
    return channel.played


async def test_the_editor_lists_a_refused_document_like_any_problem(ui: Ui) -> None:
    page = await ui.page_as("ana")
    await page.goto(f"{ui.base}/ui/flows/mini")
    await expect(page.locator("#main")).to_have_attribute("data-ready", "yes")
    bomb = "a: &a [lol, lol]\nb: &b [*a, *a]\nc: [*b, *b]\n"
    await page.fill("#yaml", bomb)
    await expect(page.locator("#problems")).to_contain_text("line 2: YAML aliases (*a) are not allowed in flows")
    await expect(page.locator("#yaml")).to_have_attribute("aria-invalid", "true")
    await page.click("#save-draft")  # refused (422): said in the notice, nothing saved
    await expect(page.locator("#notice")).to_contain_text("the flow cannot be checked")
    await expect(page.locator("#problems")).to_contain_text("YAML aliases (*a) are not allowed in flows")
    await expect(page.locator("#versions tr")).to_have_count(0)


async def test_edit_a_flow_publish_and_a_new_call_follows_it(ui: Ui) -> None:
    page = await ui.page_as("ana")
    await page.goto(f"{ui.base}/ui/flows/mini")
    await expect(page.locator("#main")).to_have_attribute("data-ready", "yes")

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
    await expect(page.locator("#notice")).to_contain_text("Published v1")
    assert any("greeting" in p for p in await call(ui.container, "700", "ui-call-1"))

    # the structured form: change the node's prompt, which rewrites the YAML; publish again
    await page.click('#graph g[data-node="hello"]')
    await expect(page.locator("#node-select")).to_have_value("hello")
    await page.fill("#node-prompts", "goodbye")
    await page.click("#node-form button[type=submit]")
    await expect(page.locator("#yaml")).to_have_value(_contains("goodbye"))
    await page.click("#save-publish")
    await expect(page.locator("#notice")).to_contain_text("Published v2")
    played = await call(ui.container, "700", "ui-call-2")
    assert any("goodbye" in p for p in played) and not any("greeting" in p for p in played)

    await page.locator('#versions tr[data-version="2"] button', has_text="Diff").click()
    await expect(page.locator("#diff")).to_contain_text("-  hello: {kind: play, prompts: [greeting], next: bye}")
    await expect(page.locator("#diff")).to_contain_text("+    - goodbye")  # the form rewrote the YAML

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


async def test_agent_screen_pop_appears_on_connect(ui: Ui) -> None:
    page = await ui.page_as("alex")
    await expect(page.locator("#feed")).to_have_text("(live)")  # subscribed: events now reach the page
    acd = ui.container.services["acd"]
    await page.click('button[data-state="away"]')  # sign in to work: the state comes back over the stream
    await expect(page.locator("#agent-state")).to_have_text("away")
    assert acd.agent("agent1").state is AgentState.AWAY
    acd.set_agent_state("agent1", AgentState.WRAP_UP)
    await expect(page.locator("#agent-state")).to_have_text("wrap_up")

    await record_call(ui.container.db, "call-77", agent_id="agent1")  # what the call store writes on connect
    ui.container.bus.publish(AgentConnected(agent_id="agent1", call_id="call-77", queue="support", context={
        "call_id": "call-77", "caller": "+34600111222", "dialled": "900100200", "language": "es",
        "flow": "support", "path": ["choose_language", "greeting", "main_menu"],
        "inputs": [{"node": "main_menu", "mode": "speech", "digits": "", "transcript": "factura",
                    "confidence": 0.82, "engine": "vosk", "at": None}],
        "variables": {}, "queue": "support", "waited_seconds": 42.0, "ewt_seconds": 60.0, "reason": None,
        "started_at": None}))
    # another agent's pop never shows here
    ui.container.bus.publish(AgentConnected(agent_id="agent2", call_id="call-78", queue="support",
                                            context={"caller": "+34699999999"}))

    await expect(page.locator("#pop-caller")).to_have_text("+34600111222")
    await expect(page.locator("#pop-path")).to_have_text("choose_language → greeting → main_menu")
    await expect(page.locator("#pop-inputs")).to_contain_text("said “factura” (confidence 82%)")
    await expect(page.locator("#pop-wait")).to_have_text("42 s")
    await expect(page.locator("#pop-language")).to_have_text("es")
    await expect(page.locator("#wrap-call")).to_have_value("call-77")

    await page.select_option("#wrap-disposition", "resolved")
    await page.fill("#wrap-notes", "billing question answered")
    await page.click("#wrapup-form button[type=submit]")
    await expect(page.locator("#notice")).to_contain_text("Wrap-up saved (resolved); state available")
    await expect(page.locator("#wrapups")).to_contain_text("call-77: resolved — billing question answered")
    assert acd.agent("agent1").state is AgentState.AVAILABLE
    assert (await ui.container.services["audit"].recent())[0]["action"] == "desk.wrapup"


async def test_wallboard_updates_when_a_caller_joins(ui: Ui) -> None:
    page = await ui.page_as("sam")
    await page.goto(f"{ui.base}/ui/wallboard")
    waiting = page.locator('#queues tr[data-queue="support"] td.waiting')
    await expect(waiting).to_have_text("0")
    await expect(page.locator('#charts figure[data-chart="Calls"]')).to_be_visible()

    acd = ui.container.services["acd"]
    acd.join("support", arrival=utcnow(), priority=0, kind=EntryKind.CALL, call_id="wall-1")
    acd.join("support", arrival=utcnow(), priority=0, kind=EntryKind.CALL, call_id="wall-2")
    await AcdRuntime(acd, acd.store).flush()  # what the runtime does every second in `ivr serve`
    await expect(waiting).to_have_text("2")
