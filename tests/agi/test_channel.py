"""AgiChannel over a real socket against the Asterisk-side driver (shapes from the captures)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

import pytest

from ivr.channel import CallerHungUp, DialStatus, InputMode, InputSpec, PromptFile
from ivr.channels.agi.channel import AgiChannel
from ivr.channels.agi.errors import AgiUnknownCommand, AgiUsageError
from tests.agi.conftest import running_server
from tests.agi.helpers import Outcome, drive, script_of
from tests.support.agi_driver import CallerModel, DialOutcome, env_block

GREETING = PromptFile("es/greeting")
MENU = PromptFile("es/menu")


async def run_script(body, model, *, script: str = "t", env: bytes | None = None):  # type: ignore[no-untyped-def]
    outcome = Outcome()
    async with running_server({script: script_of(body, outcome)}) as server:
        if isinstance(model, CallerModel):
            model.hook_port = server.port  # Dial's answer hook connects back to the server
        result = await drive(server, model, env=env or env_block(script=script))
    assert result.closed_by_server, "Puente must always close the AGI socket"
    # the server's own last word for the dialplan is checked in test_server.py
    if result.commands and result.commands[-1].startswith("SET VARIABLE PUENTE_RESULT"):
        result.commands.pop()
    return outcome, result


async def test_dtmf_one_two_three_like_the_rfc2833_capture() -> None:
    # agi-transcript-dtmf-rfc2833.txt: ANSWER, WAIT FOR DIGIT 6000 x3 -> 49/50/51, HANGUP
    async def body(channel: AgiChannel) -> list[str | None]:
        await channel.answer()
        digits = [await channel.wait_for_digit(6.0) for _ in range(3)]
        await channel.hangup()
        return digits

    outcome, result = await run_script(body, CallerModel("123"))
    assert outcome.value == ["1", "2", "3"]
    assert result.commands == ["ANSWER", "WAIT FOR DIGIT 6000", "WAIT FOR DIGIT 6000", "WAIT FOR DIGIT 6000",
                               "HANGUP"]


async def test_play_sound_names_and_a_key_stops_the_sequence() -> None:
    async def body(channel: AgiChannel) -> str | None:
        return await channel.play([GREETING, MENU, PromptFile("es/never")], interrupt_digits="12")

    class PressOnSecond(CallerModel):
        async def _stream(self, command: str) -> Sequence[str]:
            if "menu" in command:
                self.keys.append("2")
            return await super()._stream(command)

    outcome, result = await run_script(body, PressOnSecond())
    assert outcome.value == "2"
    assert result.commands == ['STREAM FILE puente/es/greeting "12"', 'STREAM FILE puente/es/menu "12"']


async def test_a_missing_prompt_is_skipped_when_the_caller_is_still_there() -> None:
    async def body(channel: AgiChannel) -> str | None:
        return await channel.play([PromptFile("es/missing"), GREETING])

    outcome, result = await run_script(body, CallerModel(missing_sounds=["puente/es/missing"]))
    assert outcome.error is None
    assert result.commands == ['STREAM FILE puente/es/missing ""', "CHANNEL STATUS",
                               'STREAM FILE puente/es/greeting ""']


async def test_caller_hangs_up_mid_stream_file_then_511() -> None:
    # agi-transcript-builtin-uac.txt: "200 result=-1 endpos=196000", "HANGUP", then 511s
    async def body(channel: AgiChannel) -> None:
        try:
            await channel.play([GREETING, MENU])
        except CallerHungUp:
            assert channel.hung_up
            with pytest.raises(CallerHungUp):
                await channel.play([MENU])  # refused without a round trip
            assert await channel.get_variable("CHANNEL") == "PJSIP/sipp-00000001"  # still 200
            raise

    outcome, result = await run_script(body, CallerModel(hangup_at_media=1, late_hangup=True))
    assert isinstance(outcome.error, CallerHungUp)
    # the HANGUP line came after our probe was sent: the probe got 511 (AgiDeadChannel)
    assert result.commands == ['STREAM FILE puente/es/greeting ""', "CHANNEL STATUS", "GET VARIABLE CHANNEL"]


def spec(**kw) -> InputSpec:  # type: ignore[no-untyped-def]
    return InputSpec(**kw)


@pytest.mark.parametrize(
    ("keys", "input_spec", "digits", "commands"),
    [
        # one key during the prompt
        ("1", spec(), "1", ['STREAM FILE puente/es/menu "0123456789*#"']),
        # nothing: one WAIT FOR DIGIT with the first timeout
        ("", spec(first_timeout=5.0), "", ['STREAM FILE puente/es/menu "0123456789*#"', "WAIT FOR DIGIT 5000"]),
        # 4 digits: first during the prompt, then inter-digit waits
        ("1234", spec(max_digits=4, inter_digit_timeout=2.5), "1234",
         ['STREAM FILE puente/es/menu "0123456789*#"'] + ["WAIT FOR DIGIT 2500"] * 3),
        # "#" ends the entry and is not part of it
        ("45#", spec(max_digits=6, inter_digit_timeout=3.0), "45",
         ['STREAM FILE puente/es/menu "0123456789*#"'] + ["WAIT FOR DIGIT 3000"] * 2),
        # inter-digit timeout ends a short entry
        ("7", spec(max_digits=3, first_timeout=4.0, inter_digit_timeout=2.0), "7",
         ['STREAM FILE puente/es/menu "0123456789*#"', "WAIT FOR DIGIT 2000"]),
        # "#" alone in a one-key menu is a choice
        ("#", spec(max_digits=1), "#", ['STREAM FILE puente/es/menu "0123456789*#"']),
        # no barge-in: the prompt takes no escape digits, the key comes in the wait
        ("3", spec(barge_in=False), "3", ['STREAM FILE puente/es/menu ""', "WAIT FOR DIGIT 5000"]),
    ],
)
async def test_collect_keys(keys: str, input_spec: InputSpec, digits: str, commands: list[str]) -> None:
    async def body(channel: AgiChannel):  # type: ignore[no-untyped-def]
        return await channel.collect([MENU], input_spec)

    outcome, result = await run_script(body, CallerModel(keys))
    assert outcome.value.digits == digits
    assert outcome.value.mode is (InputMode.DTMF if digits else InputMode.NONE)
    assert result.commands == commands


async def test_get_data_shapes() -> None:
    # round2/agi-getdata-prompts.txt: "200 result=12", "200 result=3 (timeout)", "200 result= (timeout)"
    async def body(channel: AgiChannel):  # type: ignore[no-untyped-def]
        first = await channel.get_data(PromptFile("vm-intro"), timeout=5.0, max_digits=2)
        second = await channel.get_data(PromptFile("beep"), timeout=3.0, max_digits=2)
        third = await channel.get_data(PromptFile("beep"), timeout=3.0, max_digits=2)
        fourth = await channel.get_data(PromptFile("beep"), timeout=3.0, max_digits=4)
        return [(r.digits, r.timed_out) for r in (first, second, third, fourth)]

    outcome, result = await run_script(body, CallerModel(get_data_entries=["12", "3", "", "45#"]))
    assert outcome.value == [("12", False), ("3", True), ("", True), ("45", False)]
    assert result.commands[0] == "GET DATA puente/vm-intro 5000 2"


async def test_hold_until_a_key() -> None:
    # round2/agi-hold-loop.txt: SET MUSIC on, WAIT FOR DIGIT 1000 ..., key 1 -> 49, SET MUSIC off
    class KeyOnThird(CallerModel):
        async def _wait_digit(self, command: str) -> Sequence[str]:
            if self.media_count == 2:
                self.keys.append("1")
            return await super()._wait_digit(command)

    async def body(channel: AgiChannel) -> str | None:
        return await channel.hold(30, interrupt_digits="1")

    model = KeyOnThird()
    outcome, result = await run_script(body, model)
    assert outcome.value == "1"
    assert result.commands == ["SET MUSIC on default"] + ["WAIT FOR DIGIT 1000"] * 3 + ["SET MUSIC off"]
    assert model.music_on is False


async def test_hold_wakes_up_on_the_event_and_ignores_other_keys() -> None:
    wake = asyncio.Event()

    class WakeOnSecond(CallerModel):
        async def _wait_digit(self, command: str) -> Sequence[str]:
            if self.media_count == 0:
                self.keys.append("5")  # not an interrupt digit: ignored
            if self.media_count == 1:
                wake.set()
            return await super()._wait_digit(command)

    async def body(channel: AgiChannel) -> str | None:
        return await channel.hold(30, interrupt_digits="1", wake=wake)

    outcome, result = await run_script(body, WakeOnSecond())
    assert outcome.value is None
    assert result.commands == ["SET MUSIC on default", "WAIT FOR DIGIT 1000", "WAIT FOR DIGIT 1000", "SET MUSIC off"]


async def test_hold_loop_with_a_hangup() -> None:
    # agi-hold-loop.txt: "200 result=-1" during WAIT FOR DIGIT, then HANGUP; SET MUSIC off would 511
    async def body(channel: AgiChannel) -> str | None:
        return await channel.hold(30)

    outcome, result = await run_script(body, CallerModel(hangup_at_media=3))
    assert isinstance(outcome.error, CallerHungUp)
    # the HANGUP line right after result=-1 settles it: no probe, no SET MUSIC off (it would 511)
    assert result.commands == ["SET MUSIC on default"] + ["WAIT FOR DIGIT 1000"] * 3


async def test_hangup_pushed_while_no_command_is_in_flight() -> None:
    # agi-hold-loop.txt conn 2: SET MUSIC on default, idle, "HANGUP" arrives unprompted
    seen = asyncio.Event()

    async def body(channel: AgiChannel) -> bool:
        await channel.command("SET MUSIC on default")
        seen.set()
        await asyncio.wait_for(channel.wait_hangup(), 5)
        return channel.hung_up

    outcome = Outcome()
    async with running_server({"t": script_of(body, outcome)}) as server:
        from tests.support.agi_driver import AsteriskDriver

        driver = AsteriskDriver(server.port, CallerModel(), env=env_block(script="t"))
        run = asyncio.create_task(driver.run())
        await asyncio.wait_for(seen.wait(), 5)
        await driver.push("HANGUP")
        result = await asyncio.wait_for(run, 5)
    assert outcome.value is True
    assert result.closed_by_server


RING, TALK = 0.05, 0.15  # the emulated agent leg's ring and bridge (sleeps on Asterisk's side)


@pytest.mark.parametrize(
    ("dial", "status", "hung_up", "answered", "cause", "peer"),
    [
        # agi-dial-a-g.txt + round3 dial-answer-hook-1a/1b: answered through the hook, agent hung
        # up, caller still there. DIALEDTIME/ANSWEREDTIME are the caller channel's (IVR included):
        # 23 s here, and they must not be taken for the agent leg's times.
        (DialOutcome(dialedtime="23", answeredtime="23", ring_seconds=RING, talk_seconds=TALK),
         DialStatus.ANSWER, False, True, 16, "PJSIP/agent1-00000009"),
        # agi-dial-b.txt / agi-dial-c.txt: NOANSWER after the timeout
        (DialOutcome(status="NOANSWER", hangupcause="0", dialedtime="", answeredtime="", peer="", ring_seconds=RING),
         DialStatus.NOANSWER, False, False, 0, None),
        # agi-dial-c-agent2.txt: CHANUNAVAIL at once
        (DialOutcome(status="CHANUNAVAIL", hangupcause="3", dialedtime="", answeredtime="", peer=""),
         DialStatus.CHANUNAVAIL, False, False, 3, None),
        # agi-dial-d.txt: caller BYE while it rings: -1, HANGUP, DIALSTATUS=CANCEL
        (DialOutcome(status="CANCEL", hangupcause="0", dialedtime="", answeredtime="", peer="", caller_leaves=True,
                     ring_seconds=RING), DialStatus.CANCEL, True, False, 0, None),
        # agi-dial-a-callerbye.txt: the caller leaves during the bridge
        (DialOutcome(dialedtime="6", answeredtime="6", peer="PJSIP/agent1-0000000b", caller_leaves=True,
                     ring_seconds=RING, talk_seconds=TALK), DialStatus.ANSWER, True, True, 16, "PJSIP/agent1-0000000b"),
        # agi-dial-a.txt (no g): result=-1 although the caller is still there -> probe says alive
        (DialOutcome(result="200 result=-1", peer="PJSIP/agent1-0000001a", ring_seconds=RING, talk_seconds=TALK),
         DialStatus.ANSWER, False, True, 16, "PJSIP/agent1-0000001a"),
    ],
)
async def test_connect_outcomes(  # noqa: PLR0917 - one parameter per column of the table
    dial: DialOutcome, status: DialStatus, hung_up: bool, answered: bool, cause: int, peer: str | None
) -> None:
    answers: list[float] = []

    returned: list[float] = []

    async def body(channel: AgiChannel):  # type: ignore[no-untyped-def]
        loop = asyncio.get_running_loop()
        result = await channel.connect("PJSIP/agent1", timeout=10, on_answer=lambda: answers.append(loop.time()))
        returned.append(loop.time())
        return result, channel.hung_up

    model = CallerModel(dial=dial, late_hangup=True)
    outcome, driven = await run_script(body, model)
    result, was_hung_up = outcome.value
    assert result.status is status
    assert was_hung_up is hung_up
    assert (result.hangup_cause, result.peer) == (cause, peer)
    # The answer is known through the hook, once, on the agent leg; times are the agent leg's.
    assert len(answers) == (1 if answered else 0)
    assert len(model.hooks) == (1 if answered else 0)
    if answered:
        assert RING <= result.ring_seconds < RING + 2.0
        assert TALK <= result.talk_seconds < TALK + 2.0  # never the caller channel's 23 s / 6 s
        assert model.hooks[0].received == b"" and model.hooks[0].held_seconds < 1.0  # closed at once, no command
        assert returned[0] - answers[0] >= TALK  # known at the answer, not when the bridge ended
    else:
        assert result.talk_seconds == 0.0
    dial_command = driven.commands[0]
    assert dial_command.startswith("EXEC Dial PJSIP/agent1,10,gU(puente-agent-answered^")
    assert driven.commands[1:4] == [f"GET VARIABLE {v}" for v in ("DIALSTATUS", "HANGUPCAUSE", "DIALEDPEERNAME")]


async def test_connect_without_the_hook_takes_the_dial_span_as_talk() -> None:
    # answer_hook_context = "" (a dialplan without the context): plain "g", Dial's span is the talk
    async def body(channel: AgiChannel):  # type: ignore[no-untyped-def]
        return await channel.connect("PJSIP/agent1", timeout=10)

    outcome = Outcome()
    model = CallerModel(dial=DialOutcome(dialedtime="23", answeredtime="23", ring_seconds=RING, talk_seconds=TALK))
    async with running_server({"t": script_of(body, outcome)}, answer_hook_context="") as server:
        model.hook_port = server.port
        driven = await drive(server, model, env=env_block(script="t"))
    assert driven.commands[0] == "EXEC Dial PJSIP/agent1,10,g"
    assert model.hooks == []
    assert outcome.value.ring_seconds == 0.0 and RING + TALK <= outcome.value.talk_seconds < 5.0


async def test_an_answer_hook_for_an_unknown_dial_is_closed_and_counted() -> None:
    from tests.support.agi_driver import run_answer_hook

    async with running_server({}) as server:
        hook = await run_answer_hook(server.port, "not-a-dial-of-ours")
        assert hook.received == b""
        assert server.hooks.unknown == 1 and server.hooks.pending == 0


async def test_connect_sets_the_caller_id_first() -> None:
    async def body(channel: AgiChannel):  # type: ignore[no-untyped-def]
        return await channel.connect("PJSIP/1001", timeout=12.5, caller_id="+34910000000")

    _, result = await run_script(body, CallerModel())
    assert result.commands[0] == 'SET VARIABLE CALLERID(num) "+34910000000"'
    assert result.commands[1].startswith("EXEC Dial PJSIP/1001,13,gU(puente-agent-answered^")


async def test_unknown_command_and_usage_errors_leave_the_call_usable() -> None:
    # agi-transcript-ivr-call.txt: "THIS IS NOT A COMMAND" -> 510
    async def body(channel: AgiChannel) -> list[str]:
        seen = []
        with pytest.raises(AgiUnknownCommand):
            await channel.command("THIS IS NOT A COMMAND")
        seen.append("510")
        with pytest.raises(AgiUsageError) as usage:
            await channel.command("WAIT FOR DIGIT")
        seen.append(usage.value.usage.strip())
        await channel.set_variable("PUENTE_QUEUE", 'bill "vip"')
        seen.append(await channel.get_variable("PUENTE_QUEUE") or "")
        return seen

    outcome, _ = await run_script(body, CallerModel())
    assert outcome.value == ["510", "Usage: WAIT FOR DIGIT <timeout>", 'bill "vip"']


async def test_info_from_the_environment() -> None:
    async def body(channel: AgiChannel):  # type: ignore[no-untyped-def]
        return channel.info

    env = env_block(script="short?lang=de", dnid="args", arguments=["first", "second arg", "third=3"],
                    uniqueid="1795425193.13", channel="PJSIP/sipp-0000000d")
    outcome, _ = await run_script(body, CallerModel(), script="short", env=env)
    info = outcome.value
    assert info.call_id == "1795425193.13"
    assert info.caller == "sipp"
    assert info.dialled == "args"
    assert info.flow_hint == "short"
    assert info.params == {"lang": "de"}
    assert info.arguments == ("first", "second arg", "third=3")
    assert info.channel_name == "PJSIP/sipp-0000000d"
    assert info.backend.value == "agi"
    assert info.resumed_from is None  # arguments that are not this channel's call id mean nothing


@pytest.mark.parametrize(("arguments", "resumed"), [
    (["1795425193.13", "billing"], ("1795425193.13", "billing")),  # sent on from a dead node
    (["1795425193.13", ""], ("1795425193.13", None)),
    (["", ""], (None, None)),  # the call's first node (PUENTE_CALL_ID still empty)
    (["cb-42"], (None, None)),  # another script's argument (a callback id)
])
async def test_a_later_leg_is_known_by_its_own_call_id(arguments: list[str],
                                                       resumed: tuple[str | None, str | None]) -> None:
    async def body(channel: AgiChannel):  # type: ignore[no-untyped-def]
        return channel.info

    env = env_block(script="support", arguments=arguments, uniqueid="1795425193.13")
    outcome, _ = await run_script(body, CallerModel(), script="support", env=env)
    assert (outcome.value.resumed_from, outcome.value.resumed_queue) == resumed


async def test_wait_hangup_beside_a_hold_loop() -> None:
    # the ACD waits for the hangup while the hold loop runs commands on the same channel
    async def body(channel: AgiChannel) -> tuple[bool, bool]:
        watcher = asyncio.create_task(channel.wait_hangup())
        with contextlib.suppress(CallerHungUp):
            await channel.hold(30)
        await asyncio.wait_for(watcher, 5)
        return watcher.done(), channel.hung_up

    outcome, result = await run_script(body, CallerModel(hangup_at_media=4, late_hangup=True))
    assert outcome.value == (True, True)
    assert result.commands[:5] == ["SET MUSIC on default"] + ["WAIT FOR DIGIT 1000"] * 4


async def test_wait_hangup_sees_a_hangup_between_commands_then_commands_resume() -> None:
    pushed = asyncio.Event()

    async def body(channel: AgiChannel) -> list[str | None]:
        waiter = asyncio.create_task(channel.wait_hangup())
        await asyncio.sleep(0)  # the watcher reads while we are idle
        value = await channel.get_variable("CHANNEL")  # the watcher steps aside for a command
        pushed.set()
        await asyncio.wait_for(waiter, 5)
        return [value, await channel.get_variable("CHANNEL")]  # GET VARIABLE still works (200)

    outcome = Outcome()
    async with running_server({"t": script_of(body, outcome)}) as server:
        from tests.support.agi_driver import AsteriskDriver

        model = CallerModel()
        driver = AsteriskDriver(server.port, model, env=env_block(script="t"))
        run = asyncio.create_task(driver.run())
        await asyncio.wait_for(pushed.wait(), 5)
        model.dead = True
        await driver.push("HANGUP")
        result = await asyncio.wait_for(run, 5)
    assert outcome.value == ["PJSIP/sipp-00000001", "PJSIP/sipp-00000001"]
    assert result.closed_by_server


async def test_ami_redirect_looks_like_a_hangup() -> None:
    # round2/agi-ami-redirect.txt: "200 result=-1" in WAIT FOR DIGIT, then (after our next command
    # was sent) "HANGUP", then 511s: exactly a hangup; the call must end and the socket close so
    # Asterisk can run the redirect target.
    async def body(channel: AgiChannel) -> str | None:
        return await channel.hold(30)

    class Redirected(CallerModel):
        async def _wait_digit(self, command: str) -> Sequence[str]:
            if self.media_count == 2:
                self.dead = True
                self.media_count += 1
                return ["200 result=-1"]  # the HANGUP line comes only with the next reply
            return await super()._wait_digit(command)

    outcome, result = await run_script(body, Redirected(late_hangup=True))
    assert isinstance(outcome.error, CallerHungUp)
    assert result.commands[-1] == "CHANNEL STATUS"  # the probe got "511" (and the late HANGUP)
