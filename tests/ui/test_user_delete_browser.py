"""Deleting a user in real Chromium: from the scripted users page and with scripts switched off."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from api.security import AuthError
from tests.ui import test_browser
from tests.ui.test_browser import TIMEOUT_MS, USERS, Ui

pytestmark = pytest.mark.browser
ui = test_browser.ui  # the same server + Chromium fixture as the other page tests


async def test_delete_asks_then_deletes_and_refuses_your_own_account(ui: Ui) -> None:
    users = ui.container.web.users
    _, sam_token = await users.login("sam", USERS["sam"][0])
    page = await ui.page_as("ana")
    await page.goto(f"{ui.base}/ui/admin/users")
    row = page.locator('#rows tr[data-user="sam"]')
    await expect(row.locator('select[data-field="role"]')).to_be_visible()  # the script's rows are in place
    await row.locator('a[data-act="delete"]').click()
    await expect(page.locator("h1")).to_have_text("Delete user sam")
    await expect(page.locator("#del-h")).to_have_text("Delete sam (supervisor)?")
    await page.click("#delete-cancel")  # changing one's mind deletes nothing
    await expect(page.locator('#rows tr[data-user="sam"]')).to_be_visible()

    await page.locator('#rows tr[data-user="sam"] a[data-act="delete"]').click()
    await page.click("#delete-confirm")
    await page.wait_for_url(f"{ui.base}/ui/admin/users?deleted=sam")
    await expect(page.locator("#notice")).to_have_text("User sam deleted; the audit log keeps the name.")
    await expect(page.locator('#rows tr[data-user="alex"] select[data-field="role"]')).to_be_visible()
    await expect(page.locator('#rows tr[data-user="sam"]')).to_have_count(0)
    with pytest.raises(AuthError):
        await users.user_for_token(sam_token)

    await page.locator('#rows tr[data-user="ana"] a[data-act="delete"]').click()
    await expect(page.locator("#delete-refused")).to_have_text(
        "You cannot delete your own account: ask another admin to do it.")
    await expect(page.locator("#delete-confirm")).to_have_count(0)
    audit = await ui.container.web.audit.recent()
    assert [(e["user"], e["action"], e["target"]) for e in audit if e["action"] == "user.delete"] == [
        ("ana", "user.delete", "sam")]


async def test_delete_works_without_javascript(ui: Ui) -> None:
    context = await ui.browser.new_context(java_script_enabled=False)
    try:
        page = await context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        await page.goto(f"{ui.base}/ui/login?next=/ui/admin/users")
        await page.fill("#username", "ana")
        await page.fill("#password", USERS["ana"][0])
        await page.click("button[type=submit]")
        await page.wait_for_url(f"{ui.base}/ui/admin/users")
        await expect(page.locator('#rows tr[data-user="alex"]')).to_contain_text("agent1")  # rows from the server
        await page.locator('#rows tr[data-user="alex"] a[data-act="delete"]').click()
        await expect(page.locator("#del-h")).to_have_text("Delete alex (agent, agent agent1)?")
        await page.click("#delete-confirm")
        await page.wait_for_url(f"{ui.base}/ui/admin/users?deleted=alex")
        await expect(page.locator("#notice")).to_have_text("User alex deleted; the audit log keeps the name.")
        await expect(page.locator('#rows tr[data-user="alex"]')).to_have_count(0)
        assert all(u.username != "alex" for u, _ in await ui.container.web.users.accounts())
    finally:
        await context.close()
