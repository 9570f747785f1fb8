"""The desk's hold, resume and transfer of an Asterisk bridge: AMI actions in the real wire format
(a fake AMI server answering from round2/ami-action-redirect.txt and ami-action-hangup.txt) and the
caller's AGI emulated as Asterisk 22 behaves (main/features.c, main/bridge_after.c): a Dial peer that
is redirected or hung up ends the bridge, the caller's ``Dial`` (with ``g``) returns ``200 result=0``
with DIALSTATUS=ANSWER, and ``Bridge(<chan>,x)`` returns when that bridge ends."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from ivr.ami.client import AmiClient
from ivr.callcontrol import CallControls, ControlAction, TransferTarget
from ivr.channel import DialStatus
from ivr.channels.agi.channel import AgiChannel
from ivr.channels.agi.server import AgiServer, ScriptHandler
from ivr.settings import AmiSettings
from tests.agi.conftest import agi_settings
from tests.agi.helpers import Outcome, script_of
from tests.support.agi_driver import (
    AGENT_HOOK_ENV,
    AsteriskDriver,
    CallerModel,
    DriverResult,
    env_block,
    run_answer_hook,
)
from tests.support.ami_server import Block, FakeAmiServer, load_capture, responses_to

AGENT_CHANNEL = dict(AGENT_HOOK_ENV)["agi_channel"]  # PJSIP/1001-00000009, where the hook ran


async def until(condition: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    """Poll a condition with a deadline (the peers here are separate sockets)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


class BridgedCaller(CallerModel):
    """The caller's channel: Dial is answered (the hook runs on the agent's channel) and lasts until
    AMI moves or hangs up the agent's channel; Bridge likewise. Keys on hold: none."""

    def __init__(self, ami: FakeAmiServer) -> None:
        super().__init__()
        self.ami = ami

    def _agent_actions(self) -> int:
        return sum(1 for m in self.ami.received
                   if m.get("action", "").lower() in ("redirect", "hangup") and m.get("channel") == AGENT_CHANNEL)

    async def _exec(self, command: str) -> Sequence[str]:
        before = self._agent_actions()
        if command.startswith("EXEC Dial"):
            assert self.hook_port is not None
            token = command.split("^", 1)[1].rstrip(")")
            self.hooks.append(await run_answer_hook(self.hook_port, token))
            await until(lambda: self._agent_actions() > before, "an AMI action on the agent's channel")
            self.variables.update(DIALSTATUS="ANSWER", HANGUPCAUSE="16", DIALEDPEERNAME=AGENT_CHANNEL)
            return ["200 result=0"]
        if command.startswith("EXEC Bridge"):
            await until(lambda: self._agent_actions() > before, "an AMI action on the agent's channel")
            self.variables["BRIDGERESULT"] = "SUCCESS"
            return ["200 result=0"]
        return await super()._exec(command)

    async def _wait_digit(self, command: str) -> Sequence[str]:
        await asyncio.sleep(0.02)  # WAIT FOR DIGIT 1000 with no key: emulated media time, shortened
        return ["200 result=0"]


async def test_hold_redirects_the_agent_resume_bridges_back_transfer_hangs_the_agent_up(
        asterisk_captures: Path) -> None:
    redirect = load_capture(asterisk_captures / "round2" / "ami-action-redirect.txt")
    hangup = load_capture(asterisk_captures / "round2" / "ami-action-hangup.txt")
    login = responses_to(redirect, "Login")
    ami_server = FakeAmiServer(login=login[:1], after_login=login[1:],
                               answers={"redirect": responses_to(redirect, "Redirect")[:1],
                                        "hangup": responses_to(hangup, "Hangup")[:1]})
    await ami_server.start()
    controls = CallControls()
    bridge = controls.open("call-1", "agent1", "support", datetime.now(UTC))
    outcome = Outcome()

    async def body(channel: AgiChannel):  # type: ignore[no-untyped-def]
        result = await channel.connect("PJSIP/1001", timeout=10, bridge=bridge)
        return result, channel.hung_up

    async with bridged_call(ami_server, script_of(body, outcome)) as (driver, driving):
        commands = driver.result.commands
        await until(lambda: bridge.ops is not None, "the agent's answer")
        assert bridge.why_not(ControlAction.HOLD) is None

        await controls.hold(bridge, datetime.now(UTC))
        await until(lambda: "SET MUSIC on default" in commands, "music for the caller")
        moved = next(m for m in ami_server.received if m.get("action") == "Redirect")
        assert (moved["channel"], moved["context"], moved["exten"], moved["priority"]) == \
            (AGENT_CHANNEL, "puente-agent-hold", "s", "1")

        await controls.resume(bridge)
        await until(lambda: f"EXEC Bridge {AGENT_CHANNEL},x" in commands, "the bridge back to the agent")

        await controls.transfer(bridge, TransferTarget(queue="billing", by="alex"))
        result, caller_gone = await asyncio.wait_for(_done(outcome), 10)
        ended = next(m for m in ami_server.received if m.get("action") == "Hangup")
        assert ended["channel"] == AGENT_CHANNEL and ended["cause"] == "16"
        await asyncio.wait_for(driving, 10)
    assert result.status is DialStatus.ANSWER and not caller_gone  # the caller stays, for the next queue
    dial_at = next(i for i, c in enumerate(commands) if c.startswith("EXEC Dial PJSIP/1001,10,gU("))
    music_on, music_off = commands.index("SET MUSIC on default"), commands.index("SET MUSIC off")
    bridged = commands.index(f"EXEC Bridge {AGENT_CHANNEL},x")
    assert dial_at < music_on < music_off < bridged
    assert all(c.startswith("WAIT FOR DIGIT") for c in commands[music_on + 1:music_off])
    assert commands[bridged + 1] == "GET VARIABLE BRIDGERESULT"


async def test_the_agent_hanging_up_on_hold_ends_the_hold(asterisk_captures: Path) -> None:
    redirect = load_capture(asterisk_captures / "round2" / "ami-action-redirect.txt")
    hangup = load_capture(asterisk_captures / "round2" / "ami-action-hangup.txt")
    login = responses_to(redirect, "Login")
    ami_server = FakeAmiServer(login=login[:1], after_login=login[1:],
                               answers={"redirect": responses_to(redirect, "Redirect")[:1]})
    await ami_server.start()
    # the captured Hangup event, for the agent's channel
    event = next(b for b in responses_to(hangup, "Hangup") if b.header("Event") == "Hangup")
    agent_hangup = event.text.replace("Channel: PJSIP/sipp-00000020", f"Channel: {AGENT_CHANNEL}")
    controls = CallControls()
    bridge = controls.open("call-2", "agent1", "support", datetime.now(UTC))
    outcome = Outcome()

    async def body(channel: AgiChannel):  # type: ignore[no-untyped-def]
        return await channel.connect("PJSIP/1001", timeout=10, bridge=bridge)

    async with bridged_call(ami_server, script_of(body, outcome)) as (driver, driving):
        await until(lambda: bridge.ops is not None, "the agent's answer")
        await controls.hold(bridge, datetime.now(UTC))
        await until(lambda: "SET MUSIC on default" in driver.result.commands, "music for the caller")
        await ami_server.push([Block(0.0, "RECV", agent_hangup)])
        result = await asyncio.wait_for(_done(outcome), 10)
        await asyncio.wait_for(driving, 10)
    assert result.status is DialStatus.ANSWER and not bridge.held
    assert not any(c.startswith("EXEC Bridge") for c in driver.result.commands)  # nobody to go back to
    ours = [c for c in driver.result.commands if not c.startswith("SET VARIABLE PUENTE_RESULT")]
    assert ours[-1] == "SET MUSIC off"


@contextlib.asynccontextmanager
async def bridged_call(ami_server: FakeAmiServer, script: ScriptHandler,
                       ) -> AsyncIterator[tuple[AsteriskDriver, asyncio.Task[DriverResult]]]:
    """A caller from the emulated Asterisk running ``script`` on a FastAGI server whose AMI client is
    logged in to ``ami_server``; everything (the AMI server included) is stopped on the way out."""
    ami = AmiClient(AmiSettings(enabled=True, host="127.0.0.1", port=ami_server.port, username="labadmin",
                                secret="labsecret"), initial_delay=0.02)
    try:
        async with ami:
            await ami.wait_connected(5)
            server = AgiServer(agi_settings(max_bridge_seconds=30.0), engine=None, scripts={"t": script}, ami=ami)
            await server.start()
            try:
                model = BridgedCaller(ami_server)
                model.hook_port = server.port
                driver = AsteriskDriver(server.port, model, env=env_block(script="t"))
                yield driver, asyncio.create_task(driver.run())
            finally:
                await server.shutdown(grace=1.0)
    finally:
        await ami_server.stop()


async def _done(outcome: Outcome):  # type: ignore[no-untyped-def]
    await outcome.done.wait()
    if outcome.error is not None:
        raise outcome.error
    return outcome.value


def test_what_asterisk_cannot_do_is_said_and_resume_never_needs_ami() -> None:
    from ivr.channels.agi.bridge import AmiBridgeOps

    down = AmiClient(AmiSettings(enabled=True, host="127.0.0.1", port=1))  # never started: not connected
    ops = AmiBridgeOps(down, AGENT_CHANNEL, "puente-agent-hold")
    assert ops.unavailable(ControlAction.HOLD) == "the AMI connection to Asterisk is down"
    assert ops.unavailable(ControlAction.TRANSFER) == "the AMI connection to Asterisk is down"
    assert ops.unavailable(ControlAction.RESUME) is None  # a held caller is never stranded by AMI
    no_ami = AmiBridgeOps(None, AGENT_CHANNEL, "puente-agent-hold")
    assert no_ami.unavailable(ControlAction.HOLD) == \
        "on Asterisk hold and transfer need AMI (set IVR_AMI__ENABLED=true)"
    no_hook = AmiBridgeOps(down, None, "puente-agent-hold")
    assert "did not report the agent's channel" in (no_hook.unavailable(ControlAction.TRANSFER) or "")
