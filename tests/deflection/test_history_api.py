"""Customer history across channels, the staff API (roles), and the CLI."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from api.security import UserService
from deflection.service import DeflectionService
from ivr.calls.records import CallRecord
from ivr.cli import main as ivr_main
from ivr.db import Database
from ivr.db.migrate import upgrade
from ivr.ports import LinkTicket
from ivr.web.auth import Role
from tests.support.calls_rows import record_call
from tests.support.deflection_env import NUMBER, AlwaysOpen, FakeCallbacks, client, container, request


class _Calls:
    async def calls_for_number(self, number: str, limit: int = 20) -> list[CallRecord]:
        assert number == NUMBER
        return [CallRecord(call_id="call-1", caller=NUMBER, dialled="900100200", backend="agi", flow="support",
                           language="es", started_at=datetime(2026, 11, 23, 9, 42, tzinfo=UTC), queue="billing",
                           waited_seconds=185.0, disposition="deflected")]

    async def get_call(self, call_id: str) -> CallRecord | None:
        """The link's call: agent a1 answered it (so the page lets the caller rate)."""
        return CallRecord(call_id=call_id, caller=NUMBER, dialled="900100200", backend="agi", flow="support",
                          language="es", started_at=datetime(2026, 11, 23, 9, 42, tzinfo=UTC), queue="billing",
                          waited_seconds=185.0, disposition="answered", agent_id="a1")


async def _token(c, role: Role, agent_id: str | None = None) -> str:  # type: ignore[no-untyped-def]
    users: UserService = c.web.users
    await users.add_user(f"u-{role.value}", "correct horse battery", role, agent_id=agent_id)
    _, token = await users.login(f"u-{role.value}", "correct horse battery")
    return token


async def test_history_and_api(database: Database) -> None:
    c = await container(database, callbacks=FakeCallbacks(), schedules=AlwaysOpen(), calls=_Calls())
    svc: DeflectionService = c.deflection.service
    ticket = await svc.send_link(request())
    token = re.search(r"/c/([A-Za-z0-9_-]+)", ticket.url).group(1)  # type: ignore[union-attr]
    agent = await _token(c, Role.AGENT, agent_id="a1")
    supervisor = await _token(c, Role.SUPERVISOR)
    await record_call(database, "call-1", agent_id="a1", caller=NUMBER)  # the link's call: a1 handled it
    async with client(c) as http:
        page = (await http.get(f"/c/{token}")).text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        sub = re.search(r'name="submission" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        await http.post(f"/c/{token}/case", data={"csrf": csrf, "submission": sub, "description": "Factura"})
        await http.post(f"/c/{token}/rate", data={"csrf": csrf, "score": "5"})
        slot = re.search(r'<option value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        await http.post(f"/c/{token}/callback", data={"csrf": csrf, "slot": slot})
        assert (await http.get(f"/api/v1/customers/{NUMBER}/history")).status_code == 401
        auth = {"Authorization": f"Bearer {agent}"}
        r = await http.get("/api/v1/customers/612345678/history", headers=auth)
        assert r.status_code == 200
        kinds = [i["kind"] for i in r.json()["items"]]
        assert set(kinds) == {"call", "link", "message", "case", "rating", "callback"}
        items = {i["kind"]: i for i in r.json()["items"]}
        assert items["case"]["respond_by"] and items["case"]["target_hours"] == 24.0
        assert "body" not in items["message"]  # the outbox body holds a live link
        assert token not in r.text  # nor anywhere else (WhatsApp template parameters, ...)
        links = (await http.get("/api/v1/deflections", headers=auth)).json()
        assert [link["id"] for link in links] == [ticket.link_id] and "context" not in links[0]
        shown = await http.get(f"/api/v1/deflections/{ticket.link_id}", headers=auth)
        assert shown.json()["context"]["call_id"] == "call-1" and shown.json()["rating"]["score"] == 5
        assert len(shown.json()["cases"]) == 1 and len(shown.json()["messages"]) == 1
        assert token not in shown.text and f"/c/{token[:4]}…" in shown.json()["messages"][0]["body"]
        assert (await http.get("/api/v1/deflections/lnk_nope", headers=auth)).status_code == 404
        # the outbox is for supervisors, with links masked unless asked for in full (audited)
        assert (await http.get("/api/v1/deflections/outbox", headers=auth)).status_code == 403
        sup = {"Authorization": f"Bearer {supervisor}"}
        outbox = await http.get("/api/v1/deflections/outbox", headers=sup)
        assert token not in outbox.text and f"/c/{token[:4]}…" in outbox.json()[0]["body"]
        full = (await http.get("/api/v1/deflections/outbox", params={"full": "true"}, headers=sup)).json()
        assert ticket.url in full[0]["body"]
        assert (await c.web.audit.recent())[0]["action"] == "deflection.outbox.full"
        stats = (await http.get("/api/v1/deflections/stats", headers=auth)).json()
        assert stats == {"offered": 1, "accepted": 1, "sent": 1, "delivered": 0, "opened": 1, "continued": 0,
                         "case": 1, "rating": 1}
        cases = (await http.get("/api/v1/deflections/cases", headers=auth)).json()
        assert cases[0]["description"] == "Factura"
        assert (await http.get("/api/v1/customers/12/history", headers=auth)).status_code == 422


def test_cli(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    upgrade(url)

    async def setup() -> LinkTicket:
        db = Database(url)
        try:
            c = await container(db)
            svc: DeflectionService = c.deflection.service
            ticket = await svc.send_link(request())
            await c.aclose()
            return ticket
        finally:
            await db.dispose()

    ticket = asyncio.run(setup())
    runner = CliRunner()
    env = {"IVR_DATABASE_URL": url, "IVR_CONFIG": ""}

    def run(*args: str) -> str:
        result = runner.invoke(ivr_main, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    listed = json.loads(run("deflections", "list", "--json"))
    assert [row["id"] for row in listed] == [ticket.link_id]
    shown = json.loads(run("deflections", "show", ticket.link_id))
    assert shown["reference"] == ticket.reference
    outbox = json.loads(run("deflections", "outbox", "--json"))
    assert ticket.url in outbox[0]["body"]
    assert "opted out" in run("optouts", "add", "612 345 678")
    assert NUMBER in run("optouts", "list")
    assert "contacted again" in run("optouts", "remove", NUMBER)
    assert runner.invoke(ivr_main, ["optouts", "remove", NUMBER], env=env).exit_code != 0
