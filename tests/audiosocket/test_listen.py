"""listen_via_audiosocket with a fake AGI ``EXEC AudioSocket`` that plays the caller's side."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from ivr.channel import CallerHungUp, Grammar, InputMode, InputResult, InputSpec
from ivr.channels.audiosocket.listen import listen_via_audiosocket, recognize_stream
from ivr.channels.audiosocket.server import AudioSocketServer
from ivr.speech.base import SpeechError
from ivr.speech.engines.pocketsphinx import PocketSphinxEngine
from ivr.speech.runner import SpeechRunner
from tests.audiosocket.asterisk_side import FakeAsterisk
from tests.support.speech_audio import chunks, have_espeak, padded, render, silence

MENU = Grammar("en", {"billing": "1", "technical support": "2", "order status": "3"})
PROMPT = bytes(320 * 250)  # a 5 s prompt


@pytest.fixture(scope="module")
def engine() -> PocketSphinxEngine:
    if not have_espeak():
        pytest.fail("espeak-ng and sox are needed")
    return PocketSphinxEngine("en")


@pytest.fixture
async def runner() -> AsyncIterator[SpeechRunner]:
    pool = SpeechRunner(2)
    try:
        yield pool
    finally:
        pool.shutdown()


Caller = Callable[[FakeAsterisk], Awaitable[bool]]  # returns True when the caller hung up


def fake_agi(server: AudioSocketServer, caller: Caller, log: list[str], sides: list[FakeAsterisk], *,
             inactivity: float | None = None) -> Callable[[str], Awaitable[str]]:
    """``EXEC AudioSocket`` as AgiChannel.exec_application sees it: a caller who hung up is
    CallerHungUp (its 511 probe after "200 result=-1"); a socket Asterisk closed on its own
    (inactivity timer) answers "200 result=-1" with the caller still there."""

    async def agi_exec(command: str) -> str:
        log.append(command)
        app, args = command.split(" ", 1)
        call_uuid, address = args.split(",")
        assert app == "AudioSocket" and address == "127.0.0.1:9092"
        asterisk = await FakeAsterisk.connect(server.bound_port, uuid.UUID(call_uuid), inactivity=inactivity)
        sides.append(asterisk)
        if await caller(asterisk):
            raise CallerHungUp("511 after EXEC AudioSocket")  # the AGI channel's word
        await asterisk.wait_closed()
        return "200 result=-1" if asterisk.timed_out else "200 result=0"

    return agi_exec


async def run_turn(server: AudioSocketServer, caller: Caller, *, engine: object | None,
                   runner: SpeechRunner, spec: InputSpec, prompt: bytes = PROMPT, inactivity: float | None = None,
                   keepalive: float = 0.5) -> tuple[InputResult | None, list[str], FakeAsterisk]:
    log: list[str] = []
    sides: list[FakeAsterisk] = []
    result = await listen_via_audiosocket(server, fake_agi(server, caller, log, sides, inactivity=inactivity),
                                          advertised="127.0.0.1:9092", prompt_pcm=prompt,
                                          engine=engine, spec=spec, runner=runner,  # type: ignore[arg-type]
                                          keepalive=keepalive)
    return result, log, sides[0]


@pytest.mark.speech
async def test_spoken_option_barges_in_and_maps_to_its_key(server: AudioSocketServer, engine: PocketSphinxEngine,
                                                           runner: SpeechRunner) -> None:
    speech = padded(render("technical support"), after_ms=1200)

    async def caller(asterisk: FakeAsterisk) -> bool:
        await asterisk.audio(speech)
        return False

    result, log, asterisk = await run_turn(server, caller, engine=engine, runner=runner,
                                           spec=InputSpec(grammar=MENU, first_timeout=3.0))
    assert result is not None
    assert result.mode is InputMode.SPEECH
    assert (result.key, result.transcript, result.engine) == ("2", "technical support", "pocketsphinx")
    assert result.latency_ms is not None and result.latency_ms >= 0
    assert log[0].startswith("AudioSocket ")
    kinds = asterisk.kinds()
    assert kinds[-1] == 0x00  # we hung the socket up: EXEC AudioSocket returns 200 result=0
    assert kinds.count(0x10) < 250  # the prompt stopped when speech started


async def test_keys_while_the_prompt_plays(server: AudioSocketServer, runner: SpeechRunner,
                                           engine: PocketSphinxEngine) -> None:
    async def caller(asterisk: FakeAsterisk) -> bool:
        await asterisk.dtmf("12")
        return False

    result, _, asterisk = await run_turn(server, caller, engine=engine, runner=runner,
                                         spec=InputSpec(max_digits=2, grammar=MENU))
    assert result is not None
    assert (result.mode, result.digits) == (InputMode.DTMF, "12")
    assert asterisk.kinds().count(0x10) < 250


async def test_terminator_and_inter_digit_timeout(server: AudioSocketServer, runner: SpeechRunner) -> None:
    async def caller(asterisk: FakeAsterisk) -> bool:
        await asterisk.dtmf("4#")
        return False

    result, _, _ = await run_turn(server, caller, engine=None, runner=runner, spec=InputSpec(max_digits=3))
    assert result is not None
    assert (result.mode, result.digits) == (InputMode.DTMF, "4")

    async def slow(asterisk: FakeAsterisk) -> bool:
        await asterisk.dtmf("9")
        return False

    result, _, _ = await run_turn(server, slow, engine=None, runner=runner,
                                  spec=InputSpec(max_digits=3, inter_digit_timeout=0.1))
    assert result is not None
    assert (result.mode, result.digits) == (InputMode.DTMF, "9")


async def test_no_input_after_the_prompt(server: AudioSocketServer, runner: SpeechRunner,
                                         engine: PocketSphinxEngine) -> None:
    async def caller(asterisk: FakeAsterisk) -> bool:
        await asterisk.audio(silence(200))
        return False

    result, _, asterisk = await run_turn(server, caller, engine=engine, runner=runner, prompt=bytes(320 * 5),
                                         spec=InputSpec(grammar=MENU, first_timeout=0.2))
    assert result is not None
    assert result.mode is InputMode.NONE
    kinds = asterisk.kinds()
    # the whole prompt (then keep-alive silence, if the turn outlived 0.5 s on a loaded machine),
    # then our hangup
    assert kinds[:5] == [0x10] * 5 and set(kinds[5:-1]) <= {0x10} and kinds[-1] == 0x00


async def test_caller_hangup_raises(server: AudioSocketServer, runner: SpeechRunner) -> None:
    async def caller(asterisk: FakeAsterisk) -> bool:
        await asterisk.hangup_by_caller()
        return True

    with pytest.raises(CallerHungUp):
        await run_turn(server, caller, engine=None, runner=runner, spec=InputSpec())


async def test_asterisk_never_connects_means_keys_only_for_this_turn(server: AudioSocketServer,
                                                                     runner: SpeechRunner) -> None:
    async def agi_exec(command: str) -> str:
        return "200 result=-1"  # AudioSocket() could not reach us (network) with the caller still up

    result = await listen_via_audiosocket(server, agi_exec, advertised="127.0.0.1:9", prompt_pcm=b"", engine=None,
                                          spec=InputSpec(), runner=runner)
    assert result is None  # not a ChannelError: the menu goes on with keys


async def test_a_missing_audiosocket_app_means_keys_only(server: AudioSocketServer, runner: SpeechRunner) -> None:
    async def agi_exec(command: str) -> str:
        return "200 result=-2"  # EXEC of an application Asterisk has not loaded

    result = await listen_via_audiosocket(server, agi_exec, advertised="127.0.0.1:9", prompt_pcm=PROMPT,
                                          engine=None, spec=InputSpec(), runner=runner)
    assert result is None


async def test_a_caller_gone_before_asterisk_connects_is_a_hangup(server: AudioSocketServer,
                                                                  runner: SpeechRunner) -> None:
    async def agi_exec(command: str) -> str:
        raise CallerHungUp("511")

    with pytest.raises(CallerHungUp):
        await listen_via_audiosocket(server, agi_exec, advertised="127.0.0.1:9", prompt_pcm=b"", engine=None,
                                     spec=InputSpec(), runner=runner)


async def test_asterisk_closing_the_socket_with_the_caller_there_is_keys_only(server: AudioSocketServer,
                                                                            runner: SpeechRunner) -> None:
    # app_audiosocket's inactivity timer fires (the server sent nothing: keep-alive far too slow
    # here): TCP closed, no 0x00, "200 result=-1", the caller still up. Not a hangup.
    async def caller(asterisk: FakeAsterisk) -> bool:
        return False  # silent, no RTP

    result, _, asterisk = await run_turn(server, caller, engine=None, runner=runner, prompt=b"",
                                         spec=InputSpec(first_timeout=5.0), inactivity=0.3, keepalive=30.0)
    assert asterisk.timed_out
    assert result is None


async def test_keys_typed_before_the_socket_closed_stand(server: AudioSocketServer, runner: SpeechRunner) -> None:
    async def caller(asterisk: FakeAsterisk) -> bool:
        await asterisk.dtmf("12")
        return False

    result, _, asterisk = await run_turn(server, caller, engine=None, runner=runner, prompt=b"",
                                         spec=InputSpec(max_digits=4, inter_digit_timeout=5.0), inactivity=0.3,
                                         keepalive=30.0)
    assert asterisk.timed_out
    assert result is not None
    assert result is not None and (result.mode, result.digits) == (InputMode.DTMF, "12")


class SlowEngine:
    """A recognizer that takes as long as the test wants to build (a loaded machine), then fails."""

    name = "slow"
    language = "en"
    ready = False  # not loaded yet: the runner builds the session in its pool
    isolated = False
    under_load = None

    def __init__(self) -> None:
        self.release = threading.Event()
        self.asked = threading.Event()

    def new_session(self, grammar: Grammar) -> object:
        self.asked.set()
        self.release.wait(10.0)
        raise SpeechError("decoder could not be built in time")


async def test_a_slow_recognizer_never_lets_asterisk_time_out(server: AudioSocketServer, runner: SpeechRunner) -> None:
    # No prompt audio and a silent caller (no RTP): only our keep-alive stands between the socket
    # and app_audiosocket's timer (0.3 s here, 2 s on Asterisk) while the decoder is being built.
    slow = SlowEngine()

    async def caller(asterisk: FakeAsterisk) -> bool:
        await asyncio.to_thread(slow.asked.wait, 5.0)
        await asyncio.sleep(1.0)  # the caller thinks for 1 s: 3 times Asterisk's (scaled) timer
        await asterisk.dtmf("1")
        return False

    try:
        result, _, asterisk = await run_turn(server, caller, engine=slow, runner=runner, prompt=b"",
                                             spec=InputSpec(grammar=MENU, first_timeout=5.0), inactivity=0.3,
                                             keepalive=0.1)
    finally:
        slow.release.set()
    assert not asterisk.timed_out
    assert result is not None
    assert result is not None and (result.mode, result.digits) == (InputMode.DTMF, "1")
    assert 0x10 in asterisk.kinds()  # silence frames went out


async def test_the_prompt_starts_before_the_recognizer_is_ready(server: AudioSocketServer,
                                                                runner: SpeechRunner) -> None:
    slow = SlowEngine()

    async def caller(asterisk: FakeAsterisk) -> bool:
        async with asyncio.timeout(5):
            while asterisk.kinds().count(0x10) < 5:  # prompt frames arrive while the decoder is built
                await asyncio.sleep(0.01)
        assert not slow.release.is_set()
        await asterisk.dtmf("2")
        return False

    try:
        result, _, _ = await run_turn(server, caller, engine=slow, runner=runner,
                                      spec=InputSpec(grammar=MENU, first_timeout=5.0))
    finally:
        slow.release.set()
    assert result is not None
    assert result is not None and result.digits == "2"


@pytest.mark.speech
async def test_recognize_stream_on_plain_audio(engine: PocketSphinxEngine, runner: SpeechRunner) -> None:
    async def frames(pcm: bytes) -> AsyncIterator[bytes]:
        for chunk in chunks(pcm, 160):  # RTP-sized: 20 ms of 8 kHz after decoding is 320 bytes; any size works
            yield chunk

    started = asyncio.Event()
    result = await recognize_stream(frames(padded(render("order status"))), engine, MENU, runner=runner,
                                    on_speech_start=started.set)
    assert result is not None and result.key == "3"
    assert started.is_set()
    assert await recognize_stream(frames(silence(1000)), engine, MENU, runner=runner, no_input_timeout=0.5) is None


async def test_speech_unavailable_falls_back_to_keys(server: AudioSocketServer, runner: SpeechRunner,
                                                     engine: PocketSphinxEngine) -> None:
    unusable = Grammar("xx", {"facturación": "1"})  # no word of it in the English dictionary

    async def caller(asterisk: FakeAsterisk) -> bool:
        await asterisk.dtmf("1")
        return False

    result, _, _ = await run_turn(server, caller, engine=engine, runner=runner, spec=InputSpec(grammar=unusable))
    assert result is not None
    assert (result.mode, result.digits) == (InputMode.DTMF, "1")
