"""Offers (a link, a callback) as the engine and the ACD hold loop call them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from ivr.channel import CallerHungUp, DialStatus, Grammar, InputMode, InputSpec, PromptFile
from ivr.context import CallContext
from ivr.dialogs.offers import offer_callback, offer_deflection
from ivr.ports import CallbackSource, CallEventKind, ConsentMethod, MessageChannel
from ivr.prompts.catalogue import PromptCatalogue
from ivr.settings import PROJECT_ROOT
from tests.support.fakes import FakeCallbacks, FakeDeflection, FakeRecorder
from tests.support.scripted import (
    AgentAnswers,
    AgentFails,
    HangUp,
    Press,
    Say,
    ScriptedChannel,
    Silence,
    match_grammar,
    scripted_info,
)


@pytest.fixture(scope="module")
def catalogue() -> PromptCatalogue:
    return PromptCatalogue.load(PROJECT_ROOT / "prompts")


def context(lang: str = "es") -> CallContext:
    ctx = CallContext(info=scripted_info(), flow="support", language=lang)
    ctx.waited_seconds = 42.0
    return ctx


async def test_link_with_key_consent_and_one_channel(catalogue: PromptCatalogue) -> None:
    port = FakeDeflection(channels=[MessageChannel.SMS])
    recorder = FakeRecorder()
    channel = ScriptedChannel([Press("1")])
    ticket = await offer_deflection(channel, context(), port, catalogue, recorder, reason="queue_wait",
                                    consent_prompt_id="offer/link_consent")
    assert ticket is not None and ticket.channel is MessageChannel.SMS
    [sent] = port.sent
    assert sent.consent.method is ConsentMethod.KEY and sent.consent.prompt_version == "1"
    assert sent.context.waited_seconds == 42.0 and sent.reason == "queue_wait" and sent.channel is MessageChannel.SMS
    assert channel.played == ["es/offer/link_consent", "es/offer/link_sent"]
    assert [e.kind for e in recorder.events if e.kind is not CallEventKind.PROMPT_PLAYED] == [
        CallEventKind.INPUT, CallEventKind.DEFLECTION_OFFERED, CallEventKind.DEFLECTION_SENT]


async def test_link_whatsapp_chosen_by_speech(catalogue: PromptCatalogue) -> None:
    port = FakeDeflection()
    channel = ScriptedChannel([Say("yes please"), Say("whatsapp")])
    ticket = await offer_deflection(channel, context("en"), port, catalogue, FakeRecorder(), reason="after_hours",
                                    consent_prompt_id="offer/link_consent")
    assert ticket is not None and ticket.channel is MessageChannel.WHATSAPP
    assert port.sent[0].consent.method is ConsentMethod.SPEECH


async def test_link_declined(catalogue: PromptCatalogue) -> None:
    port = FakeDeflection()
    recorder = FakeRecorder()
    channel = ScriptedChannel([Press("2")])
    assert await offer_deflection(channel, context(), port, catalogue, recorder, reason="r",
                                  consent_prompt_id="offer/link_consent") is None
    assert port.sent == []
    assert port.declines == [(context().info.caller, "r")]  # the funnel counts the refused offer
    assert recorder.of_kind(CallEventKind.DEFLECTION_OFFERED)[0].data["answer"] == "no"


async def test_link_silence_twice_is_no_consent(catalogue: PromptCatalogue) -> None:
    port = FakeDeflection()
    channel = ScriptedChannel([Silence(), Silence()])
    assert await offer_deflection(channel, context(), port, catalogue, FakeRecorder(), reason="r",
                                  consent_prompt_id="offer/link_consent") is None
    assert port.sent == [] and channel.played == ["es/offer/link_consent"] * 2


async def test_link_refused_by_the_provider(catalogue: PromptCatalogue) -> None:
    port = FakeDeflection(channels=[MessageChannel.SMS], refuse="opted out")
    channel = ScriptedChannel([Press("1")])
    assert await offer_deflection(channel, context(), port, catalogue, FakeRecorder(), reason="r",
                                  consent_prompt_id="offer/link_consent") is None
    assert channel.played[-1] == "es/offer/link_failed"


async def test_no_message_channel_means_no_question(catalogue: PromptCatalogue) -> None:
    channel = ScriptedChannel([Press("1")])
    assert await offer_deflection(channel, context(), FakeDeflection(channels=[]), catalogue, FakeRecorder(),
                                  reason="r", consent_prompt_id="offer/link_consent") is None
    assert channel.played == [] and channel.remaining == [Press("1")]


async def test_callback_soon(catalogue: PromptCatalogue) -> None:
    port = FakeCallbacks()
    arrival = datetime.now(UTC) - timedelta(minutes=3)
    channel = ScriptedChannel([Press("1")])
    ticket = await offer_callback(channel, context(), port, catalogue, FakeRecorder(), queue="billing",
                                  source=CallbackSource.QUEUE_KEY, arrival_time=arrival)
    assert ticket is not None
    [req] = port.requests
    assert req.queue == "billing" and req.source is CallbackSource.QUEUE_KEY and req.arrival_time == arrival
    assert req.waited_seconds == 42.0 and req.language == "es" and req.number == channel.info.caller
    assert channel.played == ["es/offer/callback_confirm", "es/offer/callback_soon"]


async def test_callback_in_a_few_hours_says_how_long(catalogue: PromptCatalogue) -> None:
    port = FakeCallbacks(delay=timedelta(hours=2, seconds=30))
    channel = ScriptedChannel([Say("sí")])
    assert await offer_callback(channel, context(), port, catalogue, FakeRecorder(), queue="general",
                                source=CallbackSource.FLOW) is not None
    assert channel.played[1] == "es/offer/callback_in"
    assert "es/word/minutes" in channel.played[2:]


async def test_callback_next_day(catalogue: PromptCatalogue) -> None:
    opens = datetime.now(UTC) + timedelta(hours=20)
    channel = ScriptedChannel([Press("1")])
    ticket = await offer_callback(channel, context("en"), FakeCallbacks(), catalogue, FakeRecorder(),
                                  queue="general", source=CallbackSource.AFTER_HOURS, not_before=opens)
    assert ticket is not None and ticket.scheduled_for == opens
    assert channel.played[-1] == "en/offer/callback_next_open"


async def test_callback_declined_and_refused(catalogue: PromptCatalogue) -> None:
    port = FakeCallbacks()
    assert await offer_callback(ScriptedChannel([Press("2")]), context(), port, catalogue, FakeRecorder(),
                                queue="general", source=CallbackSource.FLOW) is None
    assert port.requests == []
    port.refuse = "anonymous caller"
    channel = ScriptedChannel([Press("1")])
    assert await offer_callback(channel, context(), port, catalogue, FakeRecorder(), queue="general",
                                source=CallbackSource.FLOW) is None
    assert channel.played[-1] == "es/offer/callback_failed"


async def test_hangup_during_an_offer_propagates(catalogue: PromptCatalogue) -> None:
    with pytest.raises(CallerHungUp):
        await offer_callback(ScriptedChannel([HangUp()]), context(), FakeCallbacks(), catalogue, FakeRecorder(),
                             queue="general", source=CallbackSource.FLOW)


# --------------------------------------------------------------------------- the scripted channel itself
def test_grammar_matching() -> None:
    grammar = Grammar("es", {"soporte": "2", "soporte técnico": "2", "factura": "1"})
    assert match_grammar(grammar, "Soporte  Técnico") == "2"
    assert match_grammar(grammar, "quiero pagar una factura ya") == "1"
    assert match_grammar(grammar, "facturas") is None


async def test_scripted_channel_operations() -> None:
    channel = ScriptedChannel([Press("5"), Press("9"), Silence(), AgentFails(DialStatus.CHANUNAVAIL),
                               AgentAnswers(caller_stays=True), HangUp()])
    assert await channel.play([PromptFile("es/a")], interrupt_digits="5") == "5"
    assert await channel.hold(30, interrupt_digits="12") is None  # 9 is not an interrupt digit: kept
    result = await channel.collect([], InputSpec())
    assert result.mode is InputMode.DTMF and result.digits == "9"
    assert await channel.hold(30) is None and channel.hold_seconds == 60
    assert (await channel.connect("PJSIP/a", timeout=5)).status is DialStatus.CHANUNAVAIL
    assert (await channel.connect("PJSIP/b", timeout=5)).status is DialStatus.ANSWER and not channel.hung_up
    with pytest.raises(CallerHungUp):
        await channel.hold(30)
    with pytest.raises(CallerHungUp):
        await channel.play([PromptFile("es/a")])
    await channel.wait_hangup()


async def test_real_time_hold_wakes_on_the_event() -> None:
    channel = ScriptedChannel([Silence()], hold_real_time=True)
    wake = asyncio.Event()
    task = asyncio.create_task(channel.hold(60, wake=wake))
    await asyncio.sleep(0)
    wake.set()
    assert await asyncio.wait_for(task, timeout=20) is None


async def test_hang_up_at_an_operation() -> None:
    channel = ScriptedChannel([Press("1")], hang_up_at_op=3)
    await channel.answer()
    await channel.set_variable("A", "1")
    with pytest.raises(CallerHungUp):
        await channel.collect([PromptFile("es/a")], InputSpec())
    assert channel.hung_up and channel.remaining == [Press("1")] and channel.played == []
