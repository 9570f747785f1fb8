"""Agent-first on Asterisk, end to end over real sockets: the dispatcher originates through AMI
(a fake server replaying the real OriginateResponse), the agent's channel runs the ``callback``
FastAGI script (an Asterisk-side driver answering like the captured Asterisk 22), which briefs the
agent and dials the customer with ``EXEC Dial ...,g``."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from callbacks.dispatcher import CallbackDispatcher
from callbacks.ivr_handler import ScriptDeps, agi_script
from callbacks.models import AttemptOutcome, CallbackState
from callbacks.origination.ami import AmiOriginator
from callbacks.policy import CallbackMode, QueuePolicy
from callbacks.sessions import SessionRegistry
from callbacks.values import Callback
from ivr.ami.client import AmiClient
from ivr.channels.agi.server import AgiServer
from ivr.db import Database
from ivr.events import EventBus
from ivr.ports import CallbackRequest, CallbackSource
from ivr.prompts.catalogue import PromptCatalogue
from ivr.settings import PROJECT_ROOT, AgiSettings, AmiSettings, CallbackSettings
from tests.support.agi_driver import AsteriskDriver, CallerModel, DialOutcome, DriverResult, env_block
from tests.support.ami_server import FakeAmiServer, load_capture, responses_to
from tests.support.callbacks_fakes import InstantAcd, make_callbacks

pytestmark = pytest.mark.timeout(60)
Driven = tuple[Callback, DriverResult, FakeAmiServer, InstantAcd]
SETTINGS = CallbackSettings(poll_interval=0.02, lease_seconds=5.0, customer_dial="PJSIP/{number}@trunk")
# the agent's channel as captured in round2/agi-originate.txt (conn 1)
AGENT_ENV = {"agi_context": "callback-agi", "agi_extension": "s", "agi_priority": "2", "agi_calleridname": "Callback",
             "agi_dnid": "unknown"}


@pytest.mark.parametrize("by_argument", [True, False])
async def test_agent_first_through_ami_and_fastagi(sqlite_db: Database, asterisk_captures: Path,
                                                   by_argument: bool) -> None:
    cb, driven, ami_server, acd = await drive(sqlite_db, asterisk_captures, by_argument=by_argument,
                                              policy=QueuePolicy(quiet_hours=None))
    commands = driven.commands
    if not by_argument:
        assert commands[0] == "GET VARIABLE CALLBACK_ID"
    streams = [c for c in commands if c.startswith("STREAM FILE")]
    assert streams[0].startswith("STREAM FILE puente/en/callbacks/agent_intro")
    assert any("callbacks/agent_connecting" in c for c in streams)
    dial = next(c for c in commands if c.startswith("EXEC Dial"))
    assert dial.startswith("EXEC Dial PJSIP/+34600111222@trunk,30,gU(puente-agent-answered^")  # answer hook
    assert commands.index(dial) > commands.index(streams[-1])  # the agent is briefed before the dial
    assert commands[-1] == "HANGUP" and driven.closed_by_server
    assert [a.outcome for a in cb.history] == [AttemptOutcome.ANSWERED]
    sent = next(m for m in ami_server.received if m.get("action") == "Originate")
    assert sent["channel"] == "PJSIP/agent1" and sent["context"] == "callback-agi"
    assert acd.finished and acd.finished[0][1].status.value == "ANSWER"


async def test_customer_first_through_a_local_channel(sqlite_db: Database, asterisk_captures: Path) -> None:
    """As captured for ``Local/s@callback-test`` (conn 2): no AGI argument, the id from GET VARIABLE."""
    policy = QueuePolicy(quiet_hours=None, mode=CallbackMode.CUSTOMER_FIRST)
    cb, driven, ami_server, acd = await drive(sqlite_db, asterisk_captures, by_argument=False, policy=policy,
                                              channel="Local/s@callback-test-00000000;2", uniqueid="cb43-leg2",
                                              capture="ami-originate-ok-local.txt")
    assert driven.commands[0] == "GET VARIABLE CALLBACK_ID"
    assert driven.commands[1].startswith("STREAM FILE puente/en/callbacks/customer_intro")
    assert not any(c.startswith("EXEC Dial") for c in driven.commands) and driven.commands[-1] == "HANGUP"
    sent = next(m for m in ami_server.received if m.get("action") == "Originate")
    assert sent["channel"] == "Local/+34600111222@puente-dial-out"
    (queued,) = acd.queued
    assert queued.priority == 100 and queued.context.info.caller == "+34600111222"
    assert [a.outcome for a in cb.history] == [AttemptOutcome.ANSWERED]


async def drive(sqlite_db: Database, asterisk_captures: Path, *, by_argument: bool, policy: QueuePolicy,
                channel: str = "PJSIP/agent1-0000001b", uniqueid: str = "1795426452.27",
                capture: str = "ami-originate-ok-pjsip.txt") -> Driven:
    """Run one callback: AMI answers from ``capture``, then the driver plays Asterisk's AGI side."""
    blocks = load_capture(asterisk_captures / "round2" / capture)
    login = responses_to(blocks, "Login")
    ami_server = FakeAmiServer(login=login[:1], after_login=login[1:],
                               answers={"originate": responses_to(blocks, "Originate")})
    await ami_server.start()
    bus, acd = EventBus(), InstantAcd(endpoint="PJSIP/agent1")
    service = make_callbacks(sqlite_db, policies={"support": policy}, acd=acd,
                             settings=SETTINGS, bus=bus)
    sessions = SessionRegistry()
    catalogue = PromptCatalogue.load(PROJECT_ROOT / "prompts")
    deps = ScriptDeps(bus, prompts=catalogue, acd=acd, default_language="en")
    agi = AgiServer(AgiSettings(host="127.0.0.1", port=0, command_timeout=5.0, max_prompt_seconds=5.0,
                                max_bridge_seconds=5.0, timeout_margin=1.0),
                    engine=None, scripts={"callback": agi_script(sessions, deps)})
    await agi.start()
    client = AmiClient(AmiSettings(enabled=True, host="127.0.0.1", port=ami_server.port, username="labadmin",
                                   secret="labsecret"), initial_delay=0.02)
    originator = AmiOriginator(client, context="callback-agi", customer_channel=SETTINGS.customer_originate,
                               customer_dial=SETTINGS.customer_dial)
    dispatcher = CallbackDispatcher(service, originator=originator, acd=acd, sessions=sessions,
                                    script=deps, settings=SETTINGS, owner="ast")
    try:
        async with client:
            await client.wait_connected(5)
            started = asyncio.Event()
            task = asyncio.create_task(dispatcher.run(started))
            ticket = await service.request(CallbackRequest(number="+34600111222", queue="support",
                                                           source=CallbackSource.API, waited_seconds=180,
                                                           language="en"))
            async with asyncio.timeout(10):
                while sessions.get(ticket.callback_id) is None:  # originated; Asterisk now runs the AGI
                    await asyncio.sleep(0.01)
            caller = CallerModel(dial=DialOutcome(status="ANSWER", dialedtime="40", answeredtime="35",
                                                  peer="PJSIP/trunk-00000021"))
            caller.variables.update(CHANNEL=channel, CALLBACK_ID=ticket.callback_id)
            caller.hook_port = agi.port  # Dial's answer hook connects back
            env = env_block(script="callback", uniqueid=uniqueid, channel=channel,
                            callerid="5551234", dnid="unknown", arguments=[ticket.callback_id] if by_argument else [],
                            overrides=AGENT_ENV)
            driven = await AsteriskDriver(agi.port, caller, env=env).run()
            async with asyncio.timeout(10):
                while (cb := await service.get(ticket.callback_id)).state is not CallbackState.COMPLETED:
                    await asyncio.sleep(0.02)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    finally:
        await agi.shutdown(grace=1.0)
        await ami_server.stop()
    return cb, driven, ami_server, acd
