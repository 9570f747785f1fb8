"""Real calls with SIPp (Debian sip-tester) against the endpoint: DTMF, barge-in, B2BUA, originate."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ivr.channel import CallerHungUp, ConnectResult, DialStatus, InputMode, InputSpec, PromptFile
from ivr.channels.sip.channel import SipChannel
from ivr.channels.sip.errors import OriginateFailed, OriginateReason
from tests.sipp.sipp import SCENARIOS, free_port, run_sipp, sipp_agent

pytestmark = pytest.mark.sipp


async def test_rfc2833_digits_from_sipp_pcaps(start_endpoint: Callable[..., Any], tmp_path: Path) -> None:
    results: asyncio.Queue[Any] = asyncio.Queue()

    async def handler(channel: SipChannel) -> None:
        await channel.answer()
        await results.put(await channel.collect([], InputSpec(max_digits=2, first_timeout=5)))

    async with start_endpoint(handler) as harness:
        outcome = await run_sipp("uac_digits_12.xml", workdir=tmp_path, target=f"127.0.0.1:{harness.port}", timeout=20)
        assert outcome.ok, outcome.describe()
        result = await asyncio.wait_for(results.get(), 5)
    assert (result.mode, result.digits) == (InputMode.DTMF, "12")


async def test_prompt_barge_in_and_pacing(start_endpoint: Callable[..., Any], tmp_path: Path) -> None:
    results: asyncio.Queue[tuple[str | None, float]] = asyncio.Queue()

    async def handler(channel: SipChannel) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        digit = await channel.play([PromptFile("en/long")], interrupt_digits="1")  # 6 s prompt
        await results.put((digit, loop.time() - started))
        await channel.collect([], InputSpec(first_timeout=3))  # the "2": hang up only after it

    async with start_endpoint(handler) as harness:
        outcome = await run_sipp("uac_digits_12.xml", workdir=tmp_path, target=f"127.0.0.1:{harness.port}", timeout=20)
        assert outcome.ok, outcome.describe()
        digit, elapsed = await asyncio.wait_for(results.get(), 5)
        pacing = harness.endpoint.pacing
    assert digit == "1"
    assert 0.9 < elapsed < 5.0  # the digit comes ~1 s after the ACK; the prompt would last 6 s
    assert pacing.frames_sent >= 40  # audio went out until the key (its timing: bench/sip_load.py)


async def _dial(
    start_endpoint: Callable[..., Any],
    tmp_path: Path,
    uri_for: Callable[[str], str] | None,
    scenario: str | None,
    timeout: float,
) -> tuple[ConnectResult, bool]:
    results: asyncio.Queue[tuple[ConnectResult, bool]] = asyncio.Queue()
    agent_uri: list[str] = []

    async def handler(channel: SipChannel) -> None:
        await channel.answer()
        result = await channel.connect(agent_uri[0], timeout=timeout)
        await results.put((result, channel.hung_up))

    async with start_endpoint(handler) as harness:
        target = f"127.0.0.1:{harness.port}"
        if scenario is None:
            assert uri_for is not None
            agent_uri.append(uri_for(""))
            outcome = await run_sipp("uac_wait_bye.xml", workdir=tmp_path, target=target, timeout=20)
            assert outcome.ok, outcome.describe()
            return await asyncio.wait_for(results.get(), 5)
        async with sipp_agent(scenario, workdir=tmp_path, timeout=20) as agent:
            agent_uri.append(agent.uri)
            caller = await run_sipp("uac_wait_bye.xml", workdir=tmp_path, target=target, timeout=20)
            assert caller.ok, caller.describe()
            agent_result = await agent.result()
            assert agent_result.ok, agent_result.describe()
        return await asyncio.wait_for(results.get(), 5)


async def test_agent_answers_then_hangs_up_caller_stays(start_endpoint: Callable[..., Any], tmp_path: Path) -> None:
    result, caller_gone = await _dial(start_endpoint, tmp_path, None, "uas_answer_bye.xml", timeout=5)
    assert result.status is DialStatus.ANSWER
    assert 1.5 < result.talk_seconds < 8.0 and 0.3 < result.ring_seconds < 4.0  # answers after 0.5 s, talks 2 s
    assert not caller_gone  # like Dial(...,g): the caller goes back to the flow


async def test_agent_rings_without_answer_is_cancelled(start_endpoint: Callable[..., Any], tmp_path: Path) -> None:
    result, _ = await _dial(start_endpoint, tmp_path, None, "uas_ring_noanswer.xml", timeout=1.0)
    assert result.status is DialStatus.NOANSWER
    assert 0.9 < result.ring_seconds < 4.0  # the 1 s dial timeout, then CANCEL


async def test_busy_agent(start_endpoint: Callable[..., Any], tmp_path: Path) -> None:
    result, _ = await _dial(start_endpoint, tmp_path, None, "uas_busy.xml", timeout=5)
    assert result.status is DialStatus.BUSY and result.hangup_cause == 486


async def test_unreachable_agent_is_chanunavail_at_once(start_endpoint: Callable[..., Any], tmp_path: Path) -> None:
    port = free_port()  # nothing listens there: ICMP port unreachable
    result, _ = await _dial(start_endpoint, tmp_path, lambda _: f"sip:agent9@127.0.0.1:{port}", None, timeout=8)
    assert result.status is DialStatus.CHANUNAVAIL
    assert result.ring_seconds < 4.0  # ICMP, long before the 8 s timeout


async def test_unregistered_aor_is_chanunavail(start_endpoint: Callable[..., Any], tmp_path: Path) -> None:
    result, _ = await _dial(start_endpoint, tmp_path, lambda _: "sip:agent2@127.0.0.1", None, timeout=8)
    assert result.status is DialStatus.CHANUNAVAIL and result.ring_seconds < 4.0  # at once, not after 8 s


async def test_originate_then_hangup(start_endpoint: Callable[..., Any], tmp_path: Path) -> None:
    async with start_endpoint() as harness, sipp_agent("uas_answer_wait.xml", workdir=tmp_path) as agent:
        channel = await harness.endpoint.originate(agent.uri, caller_id="+34910000000", timeout=5)
        assert channel.info.caller == "+34910000000" and channel.info.dialled == "agent1"
        digit = await channel.play([PromptFile("en/short")])
        assert digit is None
        await channel.hangup()
        assert (await agent.result()).ok
        with pytest.raises(CallerHungUp):
            await channel.play([PromptFile("en/short")])


async def test_originate_busy_and_no_answer(start_endpoint: Callable[..., Any], tmp_path: Path) -> None:
    async with start_endpoint() as harness:
        async with sipp_agent("uas_busy.xml", workdir=tmp_path) as busy:
            with pytest.raises(OriginateFailed) as caught:
                await harness.endpoint.originate(busy.uri, caller_id="cb", timeout=5)
            assert caught.value.reason is OriginateReason.BUSY and caught.value.status == 486
        async with sipp_agent("uas_ring_noanswer.xml", workdir=tmp_path) as ringing:
            with pytest.raises(OriginateFailed) as caught:
                await harness.endpoint.originate(ringing.uri, caller_id="cb", timeout=0.8)
            assert caught.value.reason is OriginateReason.NO_ANSWER
            assert (await ringing.result()).ok  # it got CANCEL, answered 487, got our ACK


async def test_speech_from_rtp_reaches_the_recognizer(prompt_dir: Path, tmp_path: Path) -> None:
    """SIPp streams espeak-ng 'billing' as PCMU; PocketSphinx hears it. (English's default, Whisper on
    clean lines, is tuned to human voices and hears espeak-ng's English badly: bench/speech.py.)"""
    from ivr.channel import Grammar
    from ivr.channels.sip.audio import AudioLibrary
    from ivr.channels.sip.endpoint import SipEndpoint
    from ivr.settings import Settings, SipSettings, SpeechLanguageSettings
    from ivr.speech.factory import SpeechEngines

    settings = Settings()
    settings.speech.languages["en"] = SpeechLanguageSettings(engine="pocketsphinx")
    engines = SpeechEngines(settings)
    results: asyncio.Queue[Any] = asyncio.Queue()
    grammar = Grammar("en", {"billing": "1", "technical support": "2", "agent": "0"})

    async def handler(channel: SipChannel) -> None:
        await channel.answer()
        await results.put(await channel.collect([PromptFile("en/short")], InputSpec(first_timeout=4, grammar=grammar)))

    endpoint = SipEndpoint(
        SipSettings(port=0, rtp_port_min=0),
        handler=handler,
        audio=AudioLibrary(lambda key: prompt_dir / f"{key}.wav"),
        speech=engines,
    )
    started = asyncio.Event()
    try:
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(endpoint.run(started))
            await started.wait()
            target = f"127.0.0.1:{endpoint.address[1]}"
            outcome = await run_sipp("uac_speech_billing.xml", workdir=tmp_path, target=target, timeout=20)
            result = await asyncio.wait_for(results.get(), 30)
            task.cancel()
    finally:
        await engines.aclose()
    assert outcome.ok, outcome.describe()
    assert result.mode is InputMode.SPEECH, result
    assert result.key == "1" and "billing" in result.transcript


async def test_a_recorded_english_caller_reaches_the_shipped_engine(prompt_dir: Path, tmp_path: Path) -> None:
    """English's shipped engine (Whisper; Moonshine on noisy lines) over RTP: Allison's "one", sent by
    SIPp as PCMU, picks option 1, the key the menu's spoken digit maps to (the way docs/sip.md tells a
    tester to make an English caller: make_speech_pcap --wav)."""
    from ivr.channel import Grammar
    from ivr.channels.sip.audio import AudioLibrary
    from ivr.channels.sip.endpoint import SipEndpoint
    from ivr.settings import Settings, SipSettings
    from ivr.speech.factory import SpeechEngines
    from tests.sipp.make_speech_pcap import TRAILING_SILENCE, write_pcap
    from tests.speech.test_human_voices import voice
    from tests.support import human_audio as human

    voice("en")
    write_pcap(human.digit("en", "1") + TRAILING_SILENCE, tmp_path / "one_en.pcap")
    scenario = tmp_path / "uac_speech_one.xml"
    scenario.write_text((SCENARIOS / "uac_speech_billing.xml").read_text().replace(
        "speech_billing_en.pcap", str(tmp_path / "one_en.pcap")))
    engines = SpeechEngines(Settings(var_dir=tmp_path))
    results: asyncio.Queue[Any] = asyncio.Queue()
    grammar = Grammar("en", {"billing": "1", "technical support": "2"})

    async def handler(channel: SipChannel) -> None:
        await channel.answer()
        await results.put(await channel.collect([PromptFile("en/short")], InputSpec(first_timeout=4, grammar=grammar)))

    endpoint = SipEndpoint(SipSettings(port=0, rtp_port_min=0), handler=handler,
                           audio=AudioLibrary(lambda key: prompt_dir / f"{key}.wav"), speech=engines)
    started = asyncio.Event()
    try:
        await engines.warm()
        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(endpoint.run(started))
            await started.wait()
            target = f"127.0.0.1:{endpoint.address[1]}"
            outcome = await run_sipp(scenario, workdir=tmp_path, target=target, timeout=20)
            result = await asyncio.wait_for(results.get(), 30)
            task.cancel()
    finally:
        await engines.aclose()
    assert outcome.ok, outcome.describe()
    assert (result.mode, result.key, result.engine) == (InputMode.SPEECH, "1", "whisper"), result


@pytest.mark.parametrize(("scenario", "password", "registered"),
                         [("uac_register.xml", "s3cret", True), ("uac_register_forbidden.xml", "guess", False)])
async def test_sipp_registers_with_digest_authentication(
    start_endpoint: Callable[..., Any], tmp_path: Path, scenario: str, password: str, registered: bool
) -> None:
    port = free_port()
    async with start_endpoint(agent_secrets={"agent3": "s3cret"}, digest_algorithms=["MD5"]) as harness:
        outcome = await run_sipp(scenario, workdir=tmp_path, target=f"127.0.0.1:{harness.port}", timeout=10,
                                 service="agent3", port=port, extra=["-au", "agent3", "-ap", password])
        assert outcome.ok, outcome.describe()
        contact = harness.endpoint.registrar.lookup("agent3", asyncio.get_running_loop().time())
    assert contact == (f"sip:agent3@127.0.0.1:{port}" if registered else None)
