"""The shipped support flow, end to end over a scripted caller with every port faked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ivr.channel import InputMode
from ivr.ports import (
    CallbackSource,
    CallEventKind,
    ConsentMethod,
    Disposition,
    MessageChannel,
    QueueOutcomeKind,
    RecentContact,
)
from ivr.schedules.model import ScheduleState
from tests.flows.conftest import Harness
from tests.support.fakes import FailingOrderLookup
from tests.support.scripted import AgentAnswers, HangUp, Press, Say, Silence, scripted_info

SPANISH = Press("2")
ENGLISH = Press("1")


async def test_billing_by_digit(harness: Harness) -> None:
    disposition, channel = await harness.call(SPANISH, Press("1"), AgentAnswers())
    assert disposition is Disposition.CONNECTED
    assert harness.queues.queues == ["billing"]
    assert channel.variables["PUENTE_QUEUE"] == "billing"
    assert channel.variables["PUENTE_LANGUAGE"] == "es"
    assert channel.variables["PUENTE_CALL_ID"] == channel.info.call_id
    assert ("connect", ("agent/billing",)) in [(e.op, e.detail) for e in channel.log]
    assert harness.callbacks.reached == [(channel.info.caller, "billing")]
    assert harness.recorder.ended[channel.info.call_id] is Disposition.CONNECTED
    assert harness.recorder.nodes()[:5] == ["choose_language", "returning", "greeting", "check_hours", "main_menu"]
    assert "es/greeting" in channel.played and "es/main_menu" in channel.played
    request = harness.queues.requests[0]
    assert request.context.need_known and request.context.variables["need"] == "billing"


async def test_support_by_speech_in_english(harness: Harness) -> None:
    disposition, channel = await harness.call(ENGLISH, Say("technical support", confidence=0.93), AgentAnswers())
    assert disposition is Disposition.CONNECTED
    assert harness.queues.queues == ["support"]
    assert channel.variables["PUENTE_LANGUAGE"] == "en"
    assert "en/main_menu" in channel.played
    speech = [e for e in harness.recorder.of_kind(CallEventKind.INPUT) if e.data["mode"] == "speech"]
    assert speech and speech[0].data["transcript"] == "technical support"
    assert speech[0].data["confidence"] == 0.93 and speech[0].data["engine"] == "scripted"
    # the menu's grammar held the synonyms and the human-escape words
    grammar = channel.specs[1].grammar
    assert grammar is not None and grammar.language == "en"
    assert grammar.phrases["billing"] == "1" and grammar.phrases["tech support"] == "2"
    assert grammar.phrases["agent"] == "agent"


async def test_spanish_synonym_and_low_confidence_is_confirmed(harness: Harness) -> None:
    disposition, channel = await harness.call(SPANISH, Say("quiero ver mis facturas", confidence=0.3), Press("1"),
                                              AgentAnswers())
    assert disposition is Disposition.CONNECTED
    assert harness.queues.queues == ["billing"]
    assert channel.played[-3:] == ["es/confirm/did_you_say", "es/option/billing", "es/confirm/yes_no"]


async def test_low_confidence_rejected_asks_again(harness: Harness) -> None:
    disposition, channel = await harness.call(SPANISH, Say("soporte", confidence=0.2), Press("2"), Press("1"),
                                              AgentAnswers())
    assert disposition is Disposition.CONNECTED
    assert harness.queues.queues == ["billing"]
    assert "es/option/support" in channel.played


async def test_order_status_found(harness: Harness) -> None:
    disposition, channel = await harness.call(SPANISH, Press("3"), Press("123456"), Press("9"))
    assert disposition is Disposition.COMPLETED
    assert channel.hung_up_by_us
    spoken = channel.played[channel.played.index("es/order/your_order"):]
    assert spoken[:8] == ["es/order/your_order", "es/num/1", "es/num/2", "es/num/3", "es/num/4", "es/num/5",
                          "es/num/6", "es/order/shipped"]
    assert channel.played[-1] == "es/goodbye"
    lookup = harness.recorder.of_kind(CallEventKind.LOOKUP)[0]
    assert lookup.data == {"order": "123456", "status": "shipped"}
    assert harness.queues.requests == []


async def test_order_status_repeat_then_agent(harness: Harness) -> None:
    disposition, channel = await harness.call(SPANISH, Press("3"), Press("100003"), Press("1"), Press("0"),
                                              AgentAnswers())
    assert disposition is Disposition.CONNECTED
    assert channel.played.count("es/order/in_transit") == 2
    assert harness.queues.queues == ["general"]


async def test_order_not_found(harness: Harness) -> None:
    disposition, channel = await harness.call(ENGLISH, Press("3"), Press("999999"), Press("9"))
    assert disposition is Disposition.COMPLETED
    assert "en/order/not_found" in channel.played
    assert harness.recorder.of_kind(CallEventKind.LOOKUP)[0].data["status"] is None


async def test_order_lookup_down_offers_an_agent(harness: Harness) -> None:
    harness.lookup = FailingOrderLookup()
    disposition, channel = await harness.call(SPANISH, Press("3"), Press("123456"), Say("asesor"), AgentAnswers())
    assert disposition is Disposition.CONNECTED
    assert "es/order/lookup_failed" in channel.played
    assert harness.queues.queues == ["general"]
    assert "error" in harness.recorder.of_kind(CallEventKind.LOOKUP)[0].data


async def test_no_order_lookup_by_default_offers_an_agent(harness: Harness) -> None:
    """Production settings answer from no made-up table: the caller is told and offered an agent."""
    harness.lookup = None  # the engine builds its lookup from Settings(): off
    disposition, channel = await harness.call(SPANISH, Press("3"), Press("123456"), Say("asesor"), AgentAnswers())
    assert disposition is Disposition.CONNECTED
    assert "es/order/lookup_failed" in channel.played and "es/order/shipped" not in channel.played
    assert harness.recorder.of_kind(CallEventKind.LOOKUP)[0].data == {"error": "no lookup configured"}


async def test_order_number_invalid_twice_goes_to_general(harness: Harness) -> None:
    disposition, channel = await harness.call(SPANISH, Press("3"), Press("12"), Press("12a"), AgentAnswers())
    assert disposition is Disposition.CONNECTED
    assert harness.queues.queues == ["general"]
    assert "es/order/invalid_number" in channel.played


async def test_agent_by_zero(harness: Harness) -> None:
    disposition, channel = await harness.call(SPANISH, Press("0"), AgentAnswers())
    assert disposition is Disposition.CONNECTED
    assert harness.queues.queues == ["general"]
    assert "es/transferring" in channel.played


async def test_agent_by_word(harness: Harness) -> None:
    disposition, _ = await harness.call(ENGLISH, Say("agent"), AgentAnswers())
    assert disposition is Disposition.CONNECTED
    assert harness.queues.queues == ["general"]


async def test_invalid_input_twice_goes_to_general(harness: Harness) -> None:
    disposition, channel = await harness.call(SPANISH, Press("7"), Say("pizza"), AgentAnswers())
    assert disposition is Disposition.CONNECTED
    assert harness.queues.queues == ["general"]
    assert "es/invalid" in channel.played
    assert len(harness.recorder.of_kind(CallEventKind.NO_MATCH)) == 2
    assert not harness.queues.requests[0].context.need_known  # a confused caller stated no need


async def test_no_input_then_one_invalid_share_the_tries(harness: Harness) -> None:
    disposition, channel = await harness.call(SPANISH, Silence(), Press("8"), AgentAnswers())
    assert disposition is Disposition.CONNECTED
    assert harness.queues.queues == ["general"]
    assert "es/no_input" in channel.played


async def test_no_language_choice_defaults_to_spanish(harness: Harness) -> None:
    disposition, channel = await harness.call(Silence(), Press("2"), AgentAnswers())
    assert disposition is Disposition.CONNECTED
    assert channel.variables["PUENTE_LANGUAGE"] == "es"
    assert harness.queues.queues == ["support"]
    assert harness.recorder.of_kind(CallEventKind.LANGUAGE_SET)[0].data == {"language": "es"}


async def test_after_hours_link(harness: Harness) -> None:
    harness.schedules.states["support"] = ScheduleState.CLOSED
    disposition, channel = await harness.call(SPANISH, Press("1"), Say("sí", 0.9), Press("2"))
    assert disposition is Disposition.DEFLECTED
    assert "es/after_hours/menu" in channel.played and "es/offer/link_sent" in channel.played
    [sent] = harness.deflection.sent
    assert sent.reason == "after_hours" and sent.channel is MessageChannel.SMS
    assert sent.consent.method is ConsentMethod.SPEECH and sent.consent.prompt_id == "offer/link_consent"
    assert sent.consent.prompt_version == harness.catalogue.version("offer/link_consent")
    assert sent.context.path[-1] == "after_hours_link"
    offered = harness.recorder.of_kind(CallEventKind.DEFLECTION_OFFERED)[0]
    assert offered.data["prompt_version"] == sent.consent.prompt_version and offered.data["answer"] == "yes"
    assert harness.queues.requests == []


async def test_link_sent_on_a_holiday_carries_the_holiday(harness: Harness) -> None:
    """The landing page says why the caller got the link: the schedule's state and reason (a
    holiday's name) travel in the link's context."""
    harness.schedules.states["support"] = ScheduleState.HOLIDAY
    disposition, _ = await harness.call(SPANISH, Press("1"), Say("sí", 0.9), Press("2"))
    assert disposition is Disposition.DEFLECTED
    [sent] = harness.deflection.sent
    assert sent.reason == "after_hours"
    assert sent.context.variables["schedule_state"] == "holiday"
    assert sent.context.variables["schedule_reason"] == "fake holiday"


async def test_after_hours_callback_next_business_day(harness: Harness) -> None:
    opens = datetime.now(UTC) + timedelta(hours=15)
    harness.schedules.states["support"] = ScheduleState.CLOSED
    harness.schedules.opens_at = opens
    disposition, channel = await harness.call(ENGLISH, Press("2"), Press("1"))
    assert disposition is Disposition.CALLBACK
    [req] = harness.callbacks.requests
    assert req.source is CallbackSource.AFTER_HOURS and req.queue == "general" and req.not_before == opens
    assert req.language == "en"
    assert "en/offer/callback_next_open" in channel.played and channel.played[-1] == "en/goodbye"


async def test_after_hours_hear_hours_and_end(harness: Harness) -> None:
    harness.schedules.states["support"] = ScheduleState.CLOSED
    disposition, channel = await harness.call(SPANISH, Press("0"))
    assert disposition is Disposition.COMPLETED
    assert channel.played[-2:] == ["es/hours", "es/goodbye"]
    assert channel.hung_up_by_us


async def test_holiday_announced_then_after_hours_menu(harness: Harness) -> None:
    harness.schedules.states["support"] = ScheduleState.HOLIDAY
    disposition, channel = await harness.call(SPANISH, Press("0"))
    assert disposition is Disposition.COMPLETED
    assert channel.played.index("es/after_hours/holiday") < channel.played.index("es/after_hours/menu")
    schedule = harness.recorder.of_kind(CallEventKind.SCHEDULE)[0]
    assert schedule.data["state"] == "holiday"


async def test_returning_caller_goes_back_with_credit(harness: Harness) -> None:
    info = scripted_info(caller="+34600999888")
    harness.history.contacts["+34600999888"] = RecentContact(
        call_id="old-1", queue="support", waited_seconds=95.0, ended_at=datetime.now(UTC),
        disposition=Disposition.ABANDONED,
    )
    disposition, channel = await harness.call(SPANISH, Press("1"), AgentAnswers(), call_info=info)
    assert disposition is Disposition.CONNECTED
    [request] = harness.queues.requests
    assert request.queue == "support" and request.credit_seconds == 95.0
    assert "es/greeting" not in channel.played
    assert harness.history.asked == [("+34600999888", harness.settings.returning_caller_window_minutes)]


async def test_returning_caller_declines(harness: Harness) -> None:
    info = scripted_info(caller="+34600999888")
    harness.history.contacts["+34600999888"] = RecentContact(
        call_id="old-1", queue="support", waited_seconds=95.0, ended_at=datetime.now(UTC),
        disposition=Disposition.ABANDONED,
    )
    disposition, channel = await harness.call(SPANISH, Press("2"), Press("1"), AgentAnswers(), call_info=info)
    assert disposition is Disposition.CONNECTED
    assert harness.queues.queues == ["billing"]
    assert channel.played.index("es/returning_caller") < channel.played.index("es/greeting")
    assert harness.queues.requests[0].credit_seconds == 0.0


async def test_hangup_after_need_known_requests_flow_drop_callback(harness: Harness) -> None:
    disposition, channel = await harness.call(SPANISH, Press("3"), HangUp())
    assert disposition is Disposition.CALLER_HANGUP
    [req] = harness.callbacks.requests
    assert req.source is CallbackSource.FLOW_DROP and req.queue == "general"
    assert req.context is not None and req.context.variables["need"] == "order_status"
    assert harness.recorder.ended[channel.info.call_id] is Disposition.CALLER_HANGUP


async def test_hangup_before_any_need_requests_nothing(harness: Harness) -> None:
    disposition, _ = await harness.call(SPANISH, HangUp())
    assert disposition is Disposition.CALLER_HANGUP
    assert harness.callbacks.requests == []


async def test_hangup_during_a_prompt(harness: Harness) -> None:
    disposition, channel = await harness.call(SPANISH, Press("1"), hang_up_on_prompt="es/greeting")
    assert disposition is Disposition.CALLER_HANGUP
    assert channel.played[-1] == "es/greeting" and channel.remaining == [Press("1")]
    assert not channel.hung_up_by_us


async def test_exception_inside_a_node_routes_to_general(harness: Harness) -> None:
    harness.queues.fail_for.add("billing")
    disposition, channel = await harness.call(SPANISH, Press("1"), AgentAnswers())
    assert disposition is Disposition.CONNECTED
    assert harness.queues.queues == ["billing", "general"]
    assert channel.variables["PUENTE_QUEUE"] == "general"
    error = harness.recorder.of_kind(CallEventKind.ERROR)[0]
    assert error.node == "billing" and error.data["error"] == "RuntimeError"


async def test_queue_abandoned(harness: Harness) -> None:
    harness.queues.outcomes["support"] = QueueOutcomeKind.ABANDONED
    disposition, _ = await harness.call(SPANISH, Press("2"))
    assert disposition is Disposition.ABANDONED
    assert harness.callbacks.requests == []  # abandon callbacks are the ACD's business


async def test_schedule_service_down_fails_open(harness: Harness) -> None:
    harness.schedules.fail = True
    disposition, _ = await harness.call(SPANISH, Press("2"), AgentAnswers())
    assert disposition is Disposition.CONNECTED
    assert harness.queues.queues == ["support"]


async def test_inputs_are_kept_in_the_context(harness: Harness) -> None:
    await harness.call(SPANISH, Press("3"), Press("123456"), Press("0"), AgentAnswers())
    context = harness.queues.requests[0].context
    assert [(i.node, i.mode, i.digits) for i in context.inputs] == [
        ("choose_language", InputMode.DTMF, "2"),
        ("main_menu", InputMode.DTMF, "3"),
        ("order_number", InputMode.DTMF, "123456"),
        ("order_menu", InputMode.DTMF, "0"),
    ]
    assert context.variables["order_status"] == "shipped"
