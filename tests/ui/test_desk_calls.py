"""The desk's call controls over HTTP: who may hold, resume and transfer which call, what is said
when it cannot be done, and the audit of each action."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from api.security import Role
from ivr.acd.service import AcdService
from ivr.acd.types import AgentState
from ivr.callcontrol import ControlAction, ControlFailed
from ivr.db import Database
from tests.acd.test_transfer import RecordingOps
from tests.ui.test_desk_api import Env, _env


@pytest.fixture
async def desk(sqlite_db: Database) -> AsyncIterator[Env]:
    async with _env(sqlite_db) as e:
        yield e


class RefusingOps(RecordingOps):
    """A phone system that refuses (e.g. the AMI connection is down when the desk acts)."""

    async def hold(self) -> None:
        raise ControlFailed("Asterisk refused the Redirect: Channel does not exist: PJSIP/1001-00000009")


class NoHoldOps(RecordingOps):
    def unavailable(self, action: ControlAction) -> str | None:
        return "on Asterisk hold and transfer need AMI (set IVR_AMI__ENABLED=true)"


def _acd(env: Env) -> AcdService:
    acd: AcdService = env.container.acd.service
    return acd


async def test_agents_act_on_their_own_call_supervisors_on_any_and_each_action_is_audited(desk: Env) -> None:
    env = desk
    c, acd = env.client, _acd(env)
    mine = acd.controls.open("call-mine", "agent1", "support", datetime.now(UTC))
    theirs = acd.controls.open("call-theirs", "agent2", "support", datetime.now(UTC))
    ringing = acd.controls.open("call-ringing", "agent3", "support", datetime.now(UTC))
    ops, other_ops = RecordingOps(), RecordingOps()
    mine.attach(ops)
    theirs.attach(other_ops)

    seen = (await c.get("/api/v1/desk/call", headers=env.auth[Role.AGENT])).json()
    assert seen["call"]["call_id"] == "call-mine" and seen["call"]["unavailable"]["hold"] is None
    assert "billing" in seen["queues"]
    assert (await c.get("/api/v1/desk/call?agent_id=agent2", headers=env.auth[Role.AGENT])).status_code == 403

    r = await c.post("/api/v1/desk/calls/call-theirs/hold", headers=env.auth[Role.AGENT])
    assert r.status_code == 403 and "their own call" in r.json()["detail"]
    assert (await c.post("/api/v1/desk/calls/call-mine/hold", headers=env.auth[Role.AGENT])).json()["held"] is True
    r = await c.post("/api/v1/desk/calls/call-mine/hold", headers=env.auth[Role.AGENT])
    assert r.status_code == 409 and r.json()["detail"] == "cannot hold this call: the caller is already on hold"
    assert (await c.post("/api/v1/desk/calls/call-mine/resume", headers=env.auth[Role.AGENT])).json()["held"] is False
    r = await c.post("/api/v1/desk/calls/call-mine/transfer", json={"queue": "nowhere"}, headers=env.auth[Role.AGENT])
    assert r.status_code == 422 and "there is no queue 'nowhere'" in r.json()["detail"]
    r = await c.post("/api/v1/desk/calls/call-mine/transfer", json={"queue": "billing"}, headers=env.auth[Role.AGENT])
    assert r.status_code == 200 and r.json()["transferring_to"] == "billing"
    assert ops.calls == ["hold", "resume", "release"]

    # a supervisor may act on any agent's call; an unanswered call says so
    r = await c.post("/api/v1/desk/calls/call-theirs/hold", headers=env.auth[Role.SUPERVISOR])
    assert r.status_code == 200 and other_ops.calls == ["hold"]
    r = await c.post("/api/v1/desk/calls/call-ringing/hold", headers=env.auth[Role.ADMIN])
    assert r.status_code == 409 and "the agent has not answered yet" in r.json()["detail"]
    assert not ringing.held
    r = await c.post("/api/v1/desk/calls/no-such-call/resume", headers=env.auth[Role.ADMIN])
    assert r.status_code == 404 and "not connected to an agent" in r.json()["detail"]

    audited = [(e["action"], e["target"]) for e in await env.container.web.audit.recent()]
    assert audited[:4] == [("desk.call_hold", "call-theirs"), ("desk.call_transfer", "call-mine"),
                           ("desk.call_resume", "call-mine"), ("desk.call_hold", "call-mine")]


async def test_a_refusal_by_the_phone_system_and_a_backend_without_hold_are_said_in_words(desk: Env) -> None:
    env = desk
    c, acd = env.client, _acd(env)
    refused = acd.controls.open("call-r", "agent1", "support", datetime.now(UTC))
    refused.attach(RefusingOps())
    r = await c.post("/api/v1/desk/calls/call-r/hold", headers=env.auth[Role.AGENT])
    assert r.status_code == 502 and "Channel does not exist" in r.json()["detail"]
    assert not refused.held  # nothing changed
    acd.controls.close(refused)
    plain = acd.controls.open("call-p", "agent1", "support", datetime.now(UTC))
    plain.attach(NoHoldOps())
    r = await c.post("/api/v1/desk/calls/call-p/hold", headers=env.auth[Role.AGENT])
    assert r.status_code == 409 and "need AMI (set IVR_AMI__ENABLED=true)" in r.json()["detail"]
    seen = (await c.get("/api/v1/desk/call", headers=env.auth[Role.AGENT])).json()["call"]
    assert seen["unavailable"]["transfer"].startswith("on Asterisk hold and transfer need AMI")


async def test_transfer_to_a_named_agent_needs_one_who_is_available(desk: Env) -> None:
    env = desk
    c, acd = env.client, _acd(env)
    mine = acd.controls.open("call-a", "agent1", "support", datetime.now(UTC))
    ops = RecordingOps()
    mine.attach(ops)
    url = "/api/v1/desk/calls/call-a/transfer"
    listed = (await c.get("/api/v1/desk/call", headers=env.auth[Role.AGENT])).json()["agents"]
    assert "agent1" not in [a["agent_id"] for a in listed] and "agent2" in [a["agent_id"] for a in listed]
    r = await c.post(url, json={"agent_id": "agent2"}, headers=env.auth[Role.AGENT])
    assert r.status_code == 409 and r.json()["detail"].startswith("agent agent2 is offline, not available")
    r = await c.post(url, json={"agent_id": "agent1"}, headers=env.auth[Role.AGENT])
    assert r.status_code == 422 and r.json()["detail"] == "that is the agent already on the call"
    r = await c.post(url, json={"agent_id": "agent2", "queue": "billing"}, headers=env.auth[Role.AGENT])
    assert r.status_code == 422 and r.json()["detail"] == "choose a queue or an agent to transfer to"
    acd.set_agent_state("agent2", AgentState.AVAILABLE)
    r = await c.post(url, json={"agent_id": "agent2"}, headers=env.auth[Role.AGENT])
    assert r.status_code == 200 and r.json()["transferring_to"] == "agent agent2"
    assert ops.calls == ["release"] and mine.transfer is not None and mine.transfer.agent_id == "agent2"
    entry = (await env.container.web.audit.recent())[0]
    assert entry["action"] == "desk.call_transfer" and entry["detail"]["to_agent"] == "agent2"
