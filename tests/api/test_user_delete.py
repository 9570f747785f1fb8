"""Deleting users: the API, the no-script confirmation page, and the rules (not yourself, not the
last active admin, the audit trail keeps the name)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from api.security import AuditLog, CannotDelete, UnknownUser, UserService
from ivr.composition import Container
from ivr.db import Database
from ivr.web.auth import AuthError, Role
from tests.support.app import app_for, make_container

PASSWORDS = {"ana": "correct-horse", "sam": "supervisor-pw", "alex": "agent-pass"}


@pytest.fixture
async def container(database: Database) -> Container:
    container = await make_container(database)
    service: UserService = container.web.users
    await service.add_user("ana", PASSWORDS["ana"], Role.ADMIN)
    await service.add_user("sam", PASSWORDS["sam"], Role.SUPERVISOR)
    await service.add_user("alex", PASSWORDS["alex"], Role.AGENT, agent_id="1001")
    return container


@pytest.fixture
def users(container: Container) -> UserService:
    service: UserService = container.web.users
    return service


@pytest.fixture
async def client(container: Container) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app_for(container))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def bearer(client: httpx.AsyncClient, user: str) -> dict[str, str]:
    r = await client.post("/api/v1/auth/login", json={"username": user, "password": PASSWORDS[user]})
    assert r.status_code == 200, r.text
    client.cookies.clear()
    return {"Authorization": f"Bearer {r.json()['token']}"}


async def test_an_admin_deletes_a_user_whose_audit_entries_keep_the_name(
        client: httpx.AsyncClient, users: UserService, database: Database) -> None:
    ana = await bearer(client, "ana")
    assert (await client.patch("/api/v1/users/sam", json={"role": "admin"}, headers=ana)).status_code == 200
    sam = await bearer(client, "sam")
    added = await client.post("/api/v1/users", json={"username": "eve", "password": "long-enough", "role": "agent"},
                              headers=sam)
    assert added.status_code == 201
    _, sam_token = await users.login("sam", PASSWORDS["sam"])

    r = await client.delete("/api/v1/users/sam", headers=ana)
    assert r.status_code == 204, r.text
    with pytest.raises(AuthError):
        await users.user_for_token(sam_token)  # their sessions ended with the account
    listed = (await client.get("/api/v1/users", headers=ana)).json()
    assert [u["username"] for u in listed] == ["alex", "ana", "eve"]
    entries = await AuditLog(database).recent()
    assert (entries[0]["user"], entries[0]["action"], entries[0]["target"]) == ("ana", "user.delete", "sam")
    assert entries[0]["detail"] == {"role": "admin", "agent_id": None}
    assert any(e["user"] == "sam" and e["action"] == "user.add" and e["target"] == "eve" for e in entries)
    assert (await client.delete("/api/v1/users/sam", headers=ana)).status_code == 404
    # the name is free again: a new account with it is a new user
    again = await client.post("/api/v1/users", json={"username": "sam", "password": "long-enough", "role": "agent"},
                              headers=ana)
    assert again.status_code == 201


async def test_nobody_deletes_their_own_account(client: httpx.AsyncClient) -> None:
    ana = await bearer(client, "ana")
    r = await client.delete("/api/v1/users/ana", headers=ana)
    assert r.status_code == 409
    assert r.json()["detail"] == "you cannot delete your own account: ask another admin to do it"
    assert (await client.get("/api/v1/auth/me", headers=ana)).status_code == 200


async def test_only_admins_delete(client: httpx.AsyncClient) -> None:
    for who in ("sam", "alex"):
        assert (await client.delete("/api/v1/users/alex", headers=await bearer(client, who))).status_code == 403
    assert (await client.delete("/api/v1/users/alex")).status_code == 401


async def test_the_last_active_admin_stays(users: UserService) -> None:
    with pytest.raises(CannotDelete, match="ana is the last active admin: make another user admin first"):
        await users.delete_user("ana", by="somebody-else")
    await users.add_user("zed", "long-enough", Role.ADMIN)
    await users.update_user("zed", active=False)
    with pytest.raises(CannotDelete):  # a disabled admin cannot sign in: it does not count
        await users.delete_user("ana", by="zed")
    with pytest.raises(UnknownUser):
        await users.delete_user("nobody", by="ana")
    await users.delete_user("zed", by="ana")


async def test_two_admins_deleting_each_other_at_once_leave_one(users: UserService, database: Database) -> None:
    if database.is_sqlite:
        pytest.skip("SQLite runs one writer at a time; the race needs PostgreSQL's row locks")
    await users.add_user("bea", "long-enough", Role.ADMIN)
    results = await asyncio.gather(users.delete_user("bea", by="ana"), users.delete_user("ana", by="bea"),
                                   return_exceptions=True)
    refused = [r for r in results if isinstance(r, CannotDelete)]
    assert len(refused) == 1, results
    admins = [u.username for u, active in await users.accounts() if u.role is Role.ADMIN and active]
    assert len(admins) == 1


# --------------------------------------------------------------------------- the page (no script)


async def signed_in(client: httpx.AsyncClient, user: str) -> None:
    r = await client.post("/api/v1/auth/login", json={"username": user, "password": PASSWORDS[user]})
    assert r.status_code == 200


def token_in(html: str) -> str:
    found = re.search(r'name="token" value="([0-9a-f]+)"', html)
    assert found, html
    return found.group(1)


async def test_the_confirmation_page_deletes_with_a_plain_form(client: httpx.AsyncClient, database: Database) -> None:
    await signed_in(client, "ana")
    page = await client.get("/ui/admin/users")
    assert 'href="/ui/admin/users/alex/delete"' in page.text  # listed with a link, no script needed
    confirm = await client.get("/ui/admin/users/alex/delete")
    assert confirm.status_code == 200
    assert "Delete alex (agent, agent 1001)?" in confirm.text and "The audit log keeps the name" in confirm.text
    token = token_in(confirm.text)

    forged = await client.post("/ui/admin/users/alex/delete", data={"token": "0" * 64})
    assert forged.status_code == 400 and "confirm again below" in forged.text
    foreign = await client.post("/ui/admin/users/alex/delete", data={"token": token},
                                headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 400
    other_user = await client.post("/ui/admin/users/sam/delete", data={"token": token})  # bound to alex
    assert other_user.status_code == 400

    done = await client.post("/ui/admin/users/alex/delete", data={"token": token})
    assert done.status_code == 303 and done.headers["location"] == "/ui/admin/users?deleted=alex"
    after = await client.get(done.headers["location"])
    assert "User alex deleted; the audit log keeps the name." in after.text
    assert 'data-user="alex"' not in after.text
    entries = await AuditLog(database).recent()
    assert (entries[0]["action"], entries[0]["target"]) == ("user.delete", "alex")
    assert (await client.get("/ui/admin/users/alex/delete")).status_code == 404
    # a made-up link does not announce a deletion that did not happen
    assert "deleted;" not in (await client.get("/ui/admin/users?deleted=sam")).text


async def test_the_page_says_why_before_the_button(client: httpx.AsyncClient) -> None:
    await signed_in(client, "ana")
    own = await client.get("/ui/admin/users/ana/delete")
    assert own.status_code == 409
    assert "You cannot delete your own account" in own.text and 'id="delete-form"' not in own.text
    posted = await client.post("/ui/admin/users/ana/delete", data={"token": token_in(
        (await client.get("/ui/admin/users/sam/delete")).text)})
    assert posted.status_code == 400  # a token for another user: refused before anything else
    await signed_in(client, "sam")
    assert (await client.get("/ui/admin/users/alex/delete")).status_code == 403
