"""The flow editor in headless Chromium: rollback to the shipped file, diff of any two versions,
confirmations that name the change, errors beside the action, a mistyped flow name."""

from __future__ import annotations

import re
import wave
from pathlib import Path

from playwright.async_api import FloatRect, Page, expect

from tests.ui.test_browser import Ui, confirm, ui

__all__ = ["ui"]  # the fixture (Chromium against the app), shared with test_browser

SUPPORT_MARK = "description: Customer support line (default flow)"


async def open_support(ui: Ui, page: Page) -> None:
    await page.goto(f"{ui.base}/ui/flows/support")
    await expect(page.locator("#main")).to_have_attribute("data-ready", "yes")


async def edit_yaml(page: Page, old: str, new: str) -> None:
    text = await page.input_value("#yaml")
    assert old in text
    await page.fill("#yaml", text.replace(old, new, 1))


async def test_a_mistyped_flow_name_asks_before_creating(ui: Ui) -> None:
    page = await ui.page_as("ana")
    await page.goto(f"{ui.base}/ui/flows/suport")
    await expect(page.locator("#main")).to_have_attribute("data-ready", "missing")
    await expect(page.locator("#missing")).to_contain_text("No flow named “suport”")
    await expect(page.locator("#editor-area")).to_be_hidden()
    await page.click("#create-flow")
    await expect(page.locator("#yaml")).to_have_value(_starts("name: suport\n"))


async def test_publish_asks_naming_the_change_and_rolls_back_to_the_shipped_file(ui: Ui) -> None:
    page = await ui.page_as("ana")
    await open_support(ui, page)
    await expect(page.locator("#in-service")).to_have_text("the shipped file")
    await expect(page.locator('#versions tr[data-version="0"]')).to_contain_text("shipped (in service)")
    await edit_yaml(page, SUPPORT_MARK, "description: Customer support line (v2)")
    await expect(page.locator("#problem-count")).to_have_text("(none)")

    await page.click("#save-publish")  # cancelled: nothing reaches callers
    await expect(page.locator("#confirm-text")).to_have_text("Publish v1 of support: flow settings changed?")
    await page.click("#confirm-cancel")
    await expect(page.locator("#action-msg")).to_have_text("Not published: cancelled")
    assert ui.container.flowadmin.provider.published_versions == {}

    await page.locator('#versions tr[data-version="1"] button', has_text="Publish").click()
    await confirm(page, "Publish v1 of support: flow settings changed?")
    await expect(page.locator("#versions-msg")).to_contain_text("Published v1")
    await expect(page.locator("#versions-msg")).to_be_in_viewport()
    assert ui.container.flowadmin.provider.by_name("support").description == "Customer support line (v2)"

    await page.click("#rollback")  # the first published version: back to the shipped file
    await confirm(page, "Roll back support from v1 to shipped")
    await expect(page.locator("#action-msg")).to_contain_text("Rolled back: the shipped file is in service")
    await expect(page.locator("#in-service")).to_have_text("the shipped file")
    await expect(page.locator("#yaml")).to_have_value(_contains(SUPPORT_MARK))
    assert ui.container.flowadmin.provider.published_versions == {}
    assert ui.container.flowadmin.provider.by_name("support").description == "Customer support line (default flow)"


async def test_diff_any_two_versions_defaults_to_the_newest_against_service(ui: Ui) -> None:
    page = await ui.page_as("ana")
    await open_support(ui, page)
    await edit_yaml(page, SUPPORT_MARK, "description: Customer support line (typo fixed)")
    await page.click("#save-draft")
    await expect(page.locator("#action-msg")).to_contain_text("Saved draft v1")
    await edit_yaml(page, "    agent: need_agent\n", "      4: {next: need_agent}\n    agent: need_agent\n")
    await page.click("#save-draft")
    await expect(page.locator("#action-msg")).to_contain_text("Saved draft v2")

    await page.click("#diff-form button[type=submit]")  # default: the newest version against service
    await expect(page.locator("#diff")).to_contain_text("--- support@shipped")
    await expect(page.locator("#diff")).to_contain_text("+++ support@v2")
    await expect(page.locator("#diff")).to_contain_text("+      4: {next: need_agent}")
    await expect(page.locator("#diff")).to_contain_text("+description: Customer support line (typo fixed)")

    await page.select_option("#diff-from", "0")
    await page.select_option("#diff-to", "1")
    await page.click("#diff-form button[type=submit]")
    await expect(page.locator("#diff")).to_contain_text("+description: Customer support line (typo fixed)")
    await expect(page.locator("#diff")).not_to_contain_text("4: {next: need_agent}")


async def test_a_refused_publish_is_said_beside_its_button(ui: Ui) -> None:
    page = await ui.page_as("ana")
    await open_support(ui, page)
    await edit_yaml(page, "name: support", "name: other")  # the document names another flow
    await page.click("#save-draft")
    await expect(page.locator("#action-msg")).to_contain_text("Saved draft v1 with 1 problem(s)")
    await page.locator('#versions tr[data-version="1"] button', has_text="Publish").click()
    await confirm(page, "Publish v1 of support")
    await expect(page.locator("#versions-msg")).to_contain_text("Not published: the version has problems")
    await expect(page.locator("#versions-msg")).to_be_in_viewport()


def _contains(text: str) -> re.Pattern[str]:
    return re.compile(".*" + re.escape(text) + ".*", re.DOTALL)


def _starts(text: str) -> re.Pattern[str]:
    return re.compile("^" + re.escape(text), re.DOTALL)


async def test_apply_to_yaml_keeps_every_comment(ui: Ui) -> None:
    page = await ui.page_as("ana")
    await open_support(ui, page)
    before = await page.input_value("#yaml")
    comments = [line for line in before.splitlines() if line.lstrip().startswith("#")]
    assert len(comments) > 5
    await page.click("#graph-fit")  # the page opens on the start node; main_menu is further down
    await page.click('#graph g[data-node="main_menu"]')
    await expect(page.locator("#node-select")).to_have_value("main_menu")
    await page.fill("#opt-new-key", "4")
    await page.select_option("#opt-new-next", "need_agent")
    await page.click("#node-form button[type=submit]")
    await expect(page.locator("#node-msg")).to_contain_text("Node main_menu applied to the YAML")
    after = await page.input_value("#yaml")
    assert [line for line in after.splitlines() if line.lstrip().startswith("#")] == comments
    assert after == before.replace("    agent: need_agent\n", "      4: {next: need_agent}\n    agent: need_agent\n", 1)


async def test_a_key_the_menu_prompt_never_announces_is_a_warning(ui: Ui) -> None:
    page = await ui.page_as("ana")
    await open_support(ui, page)
    await expect(page.locator("#warning-count")).to_have_text("(1)")  # the shipped after-hours menu
    await edit_yaml(page, "    agent: need_agent\n", "      4: {next: need_agent}\n    agent: need_agent\n")
    for lang in ("es", "en"):
        await expect(page.locator("#warnings")).to_contain_text(
            f"main_menu: key 4 is not announced in {lang} (prompt main_menu)")
    await expect(page.locator("#problem-count")).to_have_text("(none)")  # a warning, not a problem


async def test_the_graph_is_laid_out_with_labelled_edges_full_names_and_fits(ui: Ui) -> None:
    page = await ui.page_as("sam")  # supervisors see the graph too (read-only)
    await page.set_viewport_size({"width": 1440, "height": 900})
    await open_support(ui, page)
    graph = page.locator("#graph")
    await expect(graph.locator("svg[data-layout=dagre]")).to_be_visible()
    assert len(ui.container.flowadmin.provider.by_name("support").nodes) > 20
    api_edges = (await page.evaluate("fetch('/api/v1/flows/support/graph').then(r => r.json())"))["edges"]
    await expect(graph.locator("text.edge-label")).to_have_count(len(api_edges))
    await expect(graph.locator('text.edge-label[data-from="main_menu"][data-to="need_billing"]')).to_have_text(
        "1 · facturación")
    await expect(graph.locator('text.edge-label[data-from="check_hours"]', has_text="closed")).to_have_count(1)
    await expect(graph.locator('g[data-node="after_hours_callback"] text.name')).to_have_text("after_hours_callback")
    # the start node is in view when the page opens, and "Fit to view" brings every node inside the box
    box = await graph.bounding_box()
    assert box is not None
    start = await graph.locator("g.node.start").bounding_box()
    assert start is not None and _inside(start, box)
    await page.click("#graph-zoom-in")
    await page.click("#graph-zoom-in")
    await page.click("#graph-fit")
    for node in await graph.locator("g.node").all():
        where = await node.bounding_box()
        assert where is not None and _inside(where, box), await node.get_attribute("data-node")


async def test_a_click_on_a_node_opens_its_form_with_node_dropdowns(ui: Ui) -> None:
    page = await ui.page_as("ana")
    await open_support(ui, page)
    await page.click("#graph-fit")
    await page.click('#graph g[data-node="holiday_notice"]')
    await expect(page.locator("#node-select")).to_have_value("holiday_notice")
    await expect(page.locator("#node-kind")).to_have_text("play")
    await expect(page.locator("#node-next")).to_have_value("after_hours_menu")
    await expect(page.locator("#form-h")).to_be_in_viewport()
    options = await page.locator("#node-next option").all_text_contents()
    assert "after_hours_menu" in options and "main_menu" in options  # every node of the flow, to pick from
    await expect(page.locator('#graph g[data-node="holiday_notice"]')).to_have_class("node   selected")


def _inside(inner: FloatRect, outer: FloatRect) -> bool:
    return (inner["x"] >= outer["x"] - 1 and inner["y"] >= outer["y"] - 1
            and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 1
            and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 1)


async def test_the_simulator_steps_through_the_draft_menu(ui: Ui) -> None:
    page = await ui.page_as("ana")
    await open_support(ui, page)
    # the draft (not saved, not published) has a key 4 that goes to an agent
    await edit_yaml(page, "    agent: need_agent\n", "      4: {next: need_agent}\n    agent: need_agent\n")
    await expect(page.locator("#problem-count")).to_have_text("(none)")
    await page.fill("#sim-at", "2026-12-07T10:00")  # a Monday morning: open
    await page.click("#sim-start")
    await expect(page.locator("#sim-state")).to_have_text("Waiting at choose_language for keys or words")
    await expect(page.locator("#sim-steps")).to_contain_text("[es/language_choice]")
    await page.fill("#sim-keys", "2")
    await page.click("#sim-press")
    await expect(page.locator("#sim-state")).to_have_text("Waiting at main_menu for keys or words")
    await expect(page.locator("#sim-steps")).to_contain_text(
        "[es/main_menu] Para facturación, pulse 1 o diga facturación.")
    await expect(page.locator("#sim-steps")).to_contain_text("dtmf: '2'")
    await expect(page.locator("#sim-vars")).to_contain_text("language=es")
    await page.fill("#sim-words", "facturación")
    await page.click("#sim-say")
    await expect(page.locator("#sim-state")).to_have_text("The call has ended: connected")
    await expect(page.locator("#sim-steps")).to_contain_text("speech: 'facturación' → option 1")
    await expect(page.locator("#sim-steps")).to_contain_text("would wait in queue 'billing'")
    await expect(page.locator("#sim-vars")).to_contain_text("need=billing")
    # again, with the draft's new key
    await page.click("#sim-start")
    await page.fill("#sim-keys", "2")
    await page.click("#sim-press")
    await expect(page.locator("#sim-state")).to_have_text("Waiting at main_menu for keys or words")
    await page.fill("#sim-keys", "4")
    await page.click("#sim-press")
    await expect(page.locator('#sim-steps li[data-kind="node"]', has_text="need_agent")).to_have_count(1)
    assert ui.container.flowadmin.provider.published_versions == {}  # nothing was published or saved


async def test_the_node_form_plays_its_prompts(ui: Ui, tmp_path: Path) -> None:
    # the shipped catalogue's texts, with one recording made here (the repository has none built)
    catalogue = ui.container.config.prompts
    audio = tmp_path / "audio" / "es" / "hours.wav"
    audio.parent.mkdir(parents=True)
    with wave.open(str(audio), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0\0" * 800)
    catalogue.audio_dir = tmp_path / "audio"
    page = await ui.page_as("sam")
    await open_support(ui, page)
    await page.select_option("#node-select", "hours")
    row = page.locator('#node-play .prompt-play[data-key="es/hours"]')
    await expect(row).to_contain_text("Nuestro horario")
    player = row.locator("audio")
    await expect(player).to_have_attribute("src", "/api/v1/ui/flows/prompt-audio?key=es/hours")
    duration = await player.evaluate(
        "a => new Promise((ok, bad) => { a.onloadedmetadata = () => ok(a.duration); a.onerror = () => bad('error');"
        " a.load(); })")
    assert abs(duration - 0.1) < 0.02  # 800 frames at 8 kHz: the file itself was served
    await expect(page.locator('#node-play .prompt-play[data-key="en/hours"]')).to_contain_text("no recording yet")


async def test_new_flow_from_the_list_opens_without_asking(ui: Ui) -> None:
    page = await ui.page_as("ana")
    await page.goto(f"{ui.base}/ui/flows")
    await page.fill("#new-name", "sales")
    await page.click("#new-flow button[type=submit]")
    await expect(page.locator("#main")).to_have_attribute("data-ready", "yes")
    await expect(page.locator("#missing")).to_be_hidden()
    await expect(page.locator("#yaml")).to_have_value(_starts("name: sales\n"))
