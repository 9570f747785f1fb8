"""The FastAGI server over real sockets: captured sessions replayed, routing, hostile peers, shutdown."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from ivr.channel import Channel
from ivr.channels.agi.channel import AgiChannel
from ivr.channels.agi.errors import AgiCommandError, AgiDeadChannel, AgiUnknownCommand
from ivr.channels.agi.stats import AgiErrorKind
from ivr.ports import Disposition
from tests.agi.conftest import running_server
from tests.agi.helpers import Outcome, drive, script_of
from tests.support.agi_driver import AsteriskDriver, CallerModel, env_block
from tests.support.agi_transcripts import TranscriptResponder, load_transcript


def replay_script(commands: list[str], seen: list[tuple[str, Any, bool]]):  # type: ignore[no-untyped-def]
    """Issue the captured commands in order; record each reply (or error class) and hung_up."""

    async def body(channel: AgiChannel) -> None:
        for command in commands:
            try:
                response = await channel.command(command)
                seen.append((command, (response.code, response.result, response.data), channel.hung_up))
            except AgiCommandError as exc:
                seen.append((command, type(exc), channel.hung_up))

    return body


async def replay(path: Path, conn: int = 1) -> tuple[list[tuple[str, Any, bool]], Any, TranscriptResponder]:
    transcript = load_transcript(path, conn)
    seen: list[tuple[str, Any, bool]] = []
    outcome = Outcome()
    script = transcript.env[2].split("/")[-1].split("?")[0]  # from agi_request
    body = replay_script([e.command for e in transcript.exchanges], seen)
    responder = TranscriptResponder(transcript)
    async with running_server({script: script_of(body, outcome)}) as server:
        result = await drive(server, responder, env=transcript.env_bytes())
    assert result.closed_by_server
    return seen, outcome, responder


async def test_replay_normal_ivr_call(asterisk_captures: Path) -> None:
    seen, outcome, responder = await replay(asterisk_captures / "agi-transcript-ivr-call.txt")
    assert outcome.error is None
    table = {command: (reply, hung_up) for command, reply, hung_up in seen}
    assert table["ANSWER"] == ((200, "0", None), False)
    assert table['STREAM FILE demo-congrats ""'] == ((200, "0", None), False)
    assert table["WAIT FOR DIGIT 2000"] == ((200, "0", None), False)
    assert table["SET VARIABLE X y"] == ((200, "1", None), False)
    assert table["GET VARIABLE X"] == ((200, "1", "y"), False)
    assert table["CHANNEL STATUS"] == ((200, "6", None), False)
    assert table["THIS IS NOT A COMMAND"] == (AgiUnknownCommand, False)
    assert table["HANGUP"] == ((200, "1", None), True)  # our own HANGUP: the channel is gone
    # the post-hangup GET VARIABLE: "HANGUP" line first, then its 200
    assert seen[-1] == ("GET VARIABLE CHANNEL", (200, "1", "PJSIP/sipp-00000001"), True)
    # The extra server line PUENTE_RESULT is not sent: the channel is hung up by then.
    assert responder.mismatches == []


async def test_replay_caller_hangup_mid_stream_file_then_511(asterisk_captures: Path) -> None:
    seen, _, responder = await replay(asterisk_captures / "agi-transcript-builtin-uac.txt")
    replies = [(command, reply, hung_up) for command, reply, hung_up in seen]
    assert replies[3] == ('STREAM FILE demo-congrats ""', (200, "-1", None), False)
    assert replies[4] == ('STREAM FILE beep "0123456789*#"', AgiDeadChannel, True)
    assert replies[5] == ("WAIT FOR DIGIT 2000", AgiDeadChannel, True)
    assert replies[6] == ("EXEC Playback beep", (200, "0", None), True)
    assert ("CHANNEL STATUS", AgiDeadChannel, True) in replies
    assert ("THIS IS NOT A COMMAND", AgiUnknownCommand, True) in replies
    assert replies[-2] == ("HANGUP", AgiDeadChannel, True)
    assert replies[-1] == ("GET VARIABLE CHANNEL", (200, "1", "PJSIP/sipp-00000000"), True)
    assert responder.mismatches == []


@pytest.mark.parametrize(
    ("capture", "conn"),
    [
        ("round2/agi-hold-loop.txt", 1),
        ("round2/agi-dial-d.txt", 1),
        ("round2/agi-dial-a-callerbye.txt", 1),
        ("round2/agi-ami-redirect.txt", 1),
        ("round2/agi-ami-hangup.txt", 1),
        ("round2/agi-during-core-restart.txt", 1),
        ("round2/agi-getdata-prompts.txt", 1),
        ("round2/agi-originate.txt", 2),
        ("agi-transcript-audiosocket.txt", 5),
    ],
)
async def test_replay_round2_sessions(asterisk_captures: Path, capture: str, conn: int) -> None:
    """Every captured session stays in step: HANGUP lines anywhere never shift a reply."""
    seen, outcome, responder = await replay(asterisk_captures / capture, conn)
    assert outcome.error is None
    assert responder.mismatches == []
    transcript = load_transcript(asterisk_captures / capture, conn)
    for (command, reply, _), exchange in zip(seen, transcript.exchanges, strict=True):
        expected = [line for line in exchange.replies if line != "HANGUP"]
        if isinstance(reply, tuple):
            assert expected[0].startswith(f"{reply[0]} result={reply[1]}"), command
        else:
            code = {AgiDeadChannel: "511 ", AgiUnknownCommand: "510 "}[reply]
            assert expected[0].startswith(code), command
    hangup_seen = [hung for _, _, hung in seen]
    if any(hangup_seen):  # once hung up, always hung up
        first = hangup_seen.index(True)
        assert all(hangup_seen[first:])


async def test_arguments_reach_the_script(asterisk_captures: Path) -> None:
    transcript = load_transcript(asterisk_captures / "agi-transcript-args.txt", 1)
    outcome = Outcome()

    async def body(channel: AgiChannel) -> tuple[tuple[str, ...], dict[str, str]]:
        await channel.answer()
        await channel.get_variable("CHANNEL")
        await channel.hangup()
        return channel.info.arguments, channel.info.params

    async with running_server({"short": script_of(body, outcome)}) as server:
        responder = TranscriptResponder(transcript)
        result = await drive(server, responder, env=transcript.env_bytes())
    assert outcome.value == (("first", "second arg", "third=3"), {"lang": "de"})
    assert responder.mismatches == []
    assert result.commands == ["ANSWER", "GET VARIABLE CHANNEL", "HANGUP"]
    assert result.closed_by_server


# --------------------------------------------------------------------------- routing


class RecordingEngine:
    def __init__(self, *, fail: bool = False) -> None:
        self.infos: list[Any] = []
        self.fail = fail

    async def run(self, channel: Channel) -> Disposition:
        self.infos.append(channel.info)
        await channel.answer()
        if self.fail:
            raise RuntimeError("flow bug")
        return Disposition.COMPLETED


@pytest.mark.parametrize(
    ("script", "dnid", "hint", "dialled"),
    [("support", "900100200", "support", "900100200"), ("", "900100200", None, "900100200"),
     ("", "unknown", None, "ivr")],
)
async def test_the_engine_runs_unregistered_routes(script: str, dnid: str, hint: str | None, dialled: str) -> None:
    engine = RecordingEngine()
    async with running_server({"callback": script_of(lambda c: asyncio.sleep(0), Outcome())}, engine) as server:
        model = CallerModel()
        result = await drive(server, model, env=env_block(script=script, dnid=dnid, extension="ivr"))
    assert [i.flow_hint for i in engine.infos] == [hint]
    assert engine.infos[0].dialled == dialled
    assert result.commands == ["ANSWER", 'SET VARIABLE PUENTE_RESULT "done"']
    assert model.variables["PUENTE_RESULT"] == "done"
    assert result.closed_by_server
    assert server.stats.calls_completed == 1


async def test_registered_scripts_win_over_the_engine() -> None:
    engine = RecordingEngine()
    outcome = Outcome()
    async with running_server({"callback": script_of(lambda c: c.get_variable("CALLBACK_ID"), outcome)}, engine) as s:
        model = CallerModel()
        model.variables["CALLBACK_ID"] = "cb42"  # agi-originate.txt: GET VARIABLE CALLBACK_ID -> cb42
        await drive(s, model, env=env_block(script="callback", dnid="unknown", arguments=["cb42"]))
    assert outcome.value == "cb42"
    assert engine.infos == []


async def test_a_failing_flow_hands_the_caller_back_to_the_dialplan() -> None:
    async with running_server(engine=RecordingEngine(fail=True)) as server:
        model = CallerModel()
        result = await drive(server, model, env=env_block(script="support"))
    assert model.variables["PUENTE_RESULT"] == "failed"
    assert result.closed_by_server
    assert server.stats.errors[AgiErrorKind.CALL_FAILED] == 1


async def test_no_engine_means_fallback() -> None:
    async with running_server() as server:
        model = CallerModel()
        result = await drive(server, model, env=env_block(script="support"))
    assert result.commands == ['SET VARIABLE PUENTE_RESULT "failed"']
    assert server.stats.errors[AgiErrorKind.NO_ENGINE] == 1


async def test_caller_hangup_ends_the_call_quietly() -> None:
    async def body(channel: AgiChannel) -> None:
        await channel.hold(30)

    async with running_server({"t": script_of(body, Outcome())}) as server:
        model = CallerModel(hangup_at_media=2)
        result = await drive(server, model, env=env_block(script="t"))
    assert result.closed_by_server
    assert "PUENTE_RESULT" not in model.variables
    assert server.stats.caller_hangups == 1
    assert server.stats.errors_total == 0


# --------------------------------------------------------------------------- shutdown


async def test_graceful_shutdown_lets_live_calls_finish() -> None:
    release = asyncio.Event()
    inside = asyncio.Event()

    async def body(channel: AgiChannel) -> str:
        await channel.answer()
        inside.set()
        await release.wait()
        await channel.answer()
        return "finished"

    outcome = Outcome()
    async with running_server({"t": script_of(body, outcome)}) as server:
        port = server.port
        call = asyncio.create_task(drive(server, CallerModel(), env=env_block(script="t")))
        await asyncio.wait_for(inside.wait(), 5)
        shutdown = asyncio.create_task(server.shutdown(grace=5))
        # new connections are refused while the live call goes on
        for _ in range(100):
            try:
                _, w = await asyncio.open_connection("127.0.0.1", port)
                w.close()
                await asyncio.sleep(0.01)
            except OSError:
                break
        else:
            pytest.fail("the server still accepts connections while shutting down")
        assert not shutdown.done()
        release.set()
        await asyncio.wait_for(shutdown, 5)
        result = await call
    assert outcome.value == "finished"
    assert result.commands == ["ANSWER", "ANSWER", 'SET VARIABLE PUENTE_RESULT "done"']
    assert result.closed_by_server


async def test_shutdown_grace_is_bounded() -> None:
    inside = asyncio.Event()

    async def body(channel: AgiChannel) -> None:
        inside.set()
        await asyncio.Event().wait()  # a call that would never end

    outcome = Outcome()
    async with running_server({"t": script_of(body, outcome)}) as server:
        driver = AsteriskDriver(server.port, CallerModel(), env=env_block(script="t"))
        call = asyncio.create_task(driver.run())
        await asyncio.wait_for(inside.wait(), 5)
        await asyncio.wait_for(server.shutdown(grace=0.2), 5)
        result = await asyncio.wait_for(call, 5)
    assert result.closed_by_server
    assert server.live_connections == 0


async def test_component_run_serves_until_cancelled() -> None:
    from ivr.channels.agi.server import AgiServer
    from tests.agi.conftest import agi_settings

    server = AgiServer(agi_settings(), engine=RecordingEngine())
    started = asyncio.Event()
    task = asyncio.create_task(server.run(started))
    await asyncio.wait_for(started.wait(), 5)
    model = CallerModel()
    await drive(server, model, env=env_block(script="support"))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert model.variables["PUENTE_RESULT"] == "done"


async def test_an_environment_longer_than_the_line_limit_is_fine_when_each_line_is() -> None:
    outcome = Outcome()

    async def body(channel: AgiChannel) -> int:
        return len(channel.info.arguments)

    args = [f"{i}:" + "x" * 500 for i in range(40)]  # ~20 KB of agi_arg_N lines, each < 8 KiB
    async with running_server({"t": script_of(body, outcome)}) as server:
        result = await drive(server, CallerModel(), env=env_block(script="t", arguments=args))
    assert outcome.value == 40
    assert result.closed_by_server


class BrokenChannel(AgiChannel):
    """A fault outside any flow: the call cannot even be built."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("cannot build the channel")


async def test_a_fault_outside_the_flow_fails_that_call_open_and_the_next_call_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ivr.channels.agi import server as server_module

    engine = RecordingEngine()
    async with running_server(engine=engine) as server:
        with monkeypatch.context() as patch:
            patch.setattr(server_module, "AgiChannel", BrokenChannel)
            broken = await drive(server, CallerModel(), env=env_block(script="support"))
        assert broken.commands == ['SET VARIABLE PUENTE_RESULT "failed"']
        assert broken.closed_by_server
        assert server.stats.errors[AgiErrorKind.CALL_FAILED] == 1
        model = CallerModel()
        await drive(server, model, env=env_block(script="support"))  # the server itself goes on
    assert model.variables["PUENTE_RESULT"] == "done"
    assert len(engine.infos) == 1
