"""Speech on the AGI channel: EXEC AudioSocket beside the real AudioSocket server and listener."""

from __future__ import annotations

import uuid
import wave
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from ivr.channel import Grammar, InputMode, InputSpec, PromptFile
from ivr.channels.agi.channel import AgiChannel
from ivr.channels.agi.speech import AgiSpeech
from ivr.channels.audiosocket.server import AudioSocketServer
from ivr.settings import Settings
from ivr.speech.factory import SpeechEngines
from tests.agi.conftest import running_server
from tests.agi.helpers import Outcome, drive, script_of
from tests.audiosocket.asterisk_side import FakeAsterisk
from tests.support.agi_driver import CallerModel, env_block

MENU_EN = Grammar("en", {"billing": "1", "technical support": "2", "order status": "3"})
MENU_ES = Grammar("es", {"facturación": "1", "soporte": "2"})


@pytest.fixture
async def audiosocket() -> AsyncIterator[AudioSocketServer]:
    server = AudioSocketServer("127.0.0.1", 0, connect_timeout=2.0)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def speech(audiosocket: AudioSocketServer, tmp_path: Path) -> AsyncIterator[AgiSpeech]:
    (tmp_path / "en").mkdir()
    with wave.open(str(tmp_path / "en" / "main_menu.wav"), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(bytes(320 * 10))  # 0.2 s
    engines = SpeechEngines(Settings())  # the shipped engines (these tests press keys)
    try:
        yield AgiSpeech(server=audiosocket, engines=engines, advertised=f"127.0.0.1:{audiosocket.bound_port}",
                        audio_dir=tmp_path)
    finally:
        await engines.aclose()


class CallerOnAudioSocket(CallerModel):
    """Asterisk running ``EXEC AudioSocket``: connects to Puente's AudioSocket server with the
    uuid from the command, presses keys there (0x03 frames), and answers ``200 result=0`` once the
    server hangs the socket up (agi-transcript-audiosocket.txt)."""

    def __init__(self, port: int, dtmf: str) -> None:
        super().__init__()
        self.port = port
        self.dtmf = dtmf
        self.sides: list[FakeAsterisk] = []

    async def _exec(self, command: str) -> Sequence[str]:
        if not command.startswith("EXEC AudioSocket "):
            return await super()._exec(command)
        call_uuid, address = command.split(" ", 2)[2].split(",")
        assert address == f"127.0.0.1:{self.port}"
        side = await FakeAsterisk.connect(self.port, uuid.UUID(call_uuid))
        self.sides.append(side)
        await side.dtmf(self.dtmf)
        await side.wait_closed()
        return ["200 result=0"]


async def collect(speech: AgiSpeech, model: CallerModel, prompt: str, grammar: Grammar):  # type: ignore[no-untyped-def]
    outcome = Outcome()

    async def body(channel: AgiChannel):  # type: ignore[no-untyped-def]
        return await channel.collect([PromptFile(prompt)], InputSpec(grammar=grammar, first_timeout=3.0))

    async with running_server({"t": script_of(body, outcome)}, speech=speech) as server:
        result = await drive(server, model, env=env_block(script="t"))
    assert result.closed_by_server
    assert outcome.error is None, outcome.error
    return outcome.value, [c for c in result.commands if not c.startswith("SET VARIABLE PUENTE_RESULT")]


@pytest.mark.speech
async def test_a_grammar_runs_exec_audiosocket_and_keys_still_work(speech: AgiSpeech,
                                                                    audiosocket: AudioSocketServer) -> None:
    model = CallerOnAudioSocket(audiosocket.bound_port, "2")
    result, commands = await collect(speech, model, "en/main_menu", MENU_EN)
    assert result.mode is InputMode.DTMF and result.digits == "2"
    [command] = commands  # the prompt played over the socket: no STREAM FILE
    assert command.startswith("EXEC AudioSocket ") and command.endswith(f",127.0.0.1:{audiosocket.bound_port}")
    assert model.sides[0].kinds().count(0x10) >= 1  # the prompt audio went to Asterisk
    assert model.sides[0].kinds()[-1] == 0x00  # and we hung the socket up


async def test_no_engine_for_the_language_means_keys_only(speech: AgiSpeech) -> None:
    result, commands = await collect(speech, CallerModel("1"), "es/main_menu", MENU_ES)
    assert result.digits == "1"
    assert commands == ['STREAM FILE puente/es/main_menu "0123456789*#"']


@pytest.mark.speech
async def test_missing_prompt_audio_means_keys_only(speech: AgiSpeech) -> None:
    result, commands = await collect(speech, CallerModel("3"), "en/not_rendered", MENU_EN)
    assert result.digits == "3"
    assert commands == ['STREAM FILE puente/en/not_rendered "0123456789*#"']


class AudioSocketTimesOut(CallerModel):
    """round3/audiosocket-timeout-3a-no-rtp.txt: Asterisk connects, sends its uuid, then closes the
    socket when 2 s (scaled down here) pass with no frame either way, and EXEC AudioSocket answers
    "200 result=-1" while the caller is still up (CHANNEL STATUS 6). The caller then keys "1"."""

    def __init__(self, port: int, keys: str) -> None:
        super().__init__(keys)
        self.port = port
        self.sides: list[FakeAsterisk] = []

    async def _exec(self, command: str) -> Sequence[str]:
        if not command.startswith("EXEC AudioSocket "):
            return await super()._exec(command)
        call_uuid, _ = command.split(" ", 2)[2].split(",")
        # A timer of 0: it fires before any frame of ours can count (as in 4b, first frame at 2.5 s).
        side = await FakeAsterisk.connect(self.port, uuid.UUID(call_uuid), inactivity=0.0)
        self.sides.append(side)
        await side.wait_closed()
        return ["200 result=-1" if side.timed_out else "200 result=0"]


@pytest.mark.speech
async def test_an_audiosocket_timeout_with_the_caller_there_is_keys_only_not_a_hangup(
        speech: AgiSpeech, audiosocket: AudioSocketServer) -> None:
    model = AudioSocketTimesOut(audiosocket.bound_port, "1")
    result, commands = await collect(speech, model, "en/main_menu", MENU_EN)
    assert model.sides[0].timed_out
    assert result.digits == "1"  # the same turn, with keys
    assert "HANGUP" not in commands
    assert commands[0].startswith("EXEC AudioSocket ")
    # result=-1: the AGI channel asks whether the caller is there (6 = up), then keys only
    assert commands[1:] == ["CHANNEL STATUS", 'STREAM FILE puente/en/main_menu "0123456789*#"']
