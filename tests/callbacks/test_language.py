"""A callback speaks the caller's language: their call's choice, else the number's history, else the
number's country, else the line's default (a +81 number is not briefed in Spanish)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from callbacks.ivr_handler import ScriptDeps, run_call
from callbacks.language import callback_language, country_of, language_for_country
from callbacks.models import CallbackState
from callbacks.policy import CallbackMode, QueuePolicy
from callbacks.service import CallbackService
from callbacks.sessions import CallbackCall
from callbacks.store import CallbackStore
from callbacks.values import Callback
from ivr.db import Database
from ivr.events import EventBus
from ivr.ports import CallbackRequest, CallbackSource
from ivr.prompts.catalogue import PromptCatalogue
from ivr.settings import PROJECT_ROOT, CallbackSettings
from tests.support.scripted import ScriptedChannel, scripted_info

JAPAN = "+81312345678"
SPAIN = "+34600111222"
MEXICO = "+525512345678"
US = "+12025550123"
TURKMENISTAN = "+99312345678"
ES_EN = ("es", "en")


@pytest.mark.parametrize(("number", "supported", "expected"), [
    (SPAIN, ES_EN, "es"),
    (MEXICO, ES_EN, "es"),
    (US, ES_EN, "en"),
    (JAPAN, ES_EN, "en"),  # no Japanese on this line: English, not the Spanish default
    (JAPAN, ("es", "en", "ja"), "ja"),
    (JAPAN, ("es",), "es"),  # nothing better on offer: the default
    (TURKMENISTAN, ES_EN, "es"),  # a country the table does not know: the default
    ("not a number", ES_EN, "es"),
])
def test_country_then_default(number: str, supported: tuple[str, ...], expected: str) -> None:
    assert callback_language(chosen=None, history=None, number=number, supported=supported, default="es") == expected


def test_the_callers_choice_then_history_win_over_the_country() -> None:
    assert callback_language(chosen="es", history="en", number=JAPAN, supported=ES_EN, default="es") == "es"
    assert callback_language(chosen=None, history="es", number=JAPAN, supported=ES_EN, default="es") == "es"
    # a language the line does not offer is passed over
    assert callback_language(chosen="de", history=None, number=JAPAN, supported=ES_EN, default="es") == "en"
    assert country_of(JAPAN) == "JP" and country_of("+999") is None
    assert language_for_country("JP", ES_EN) == "en" and language_for_country(None, ES_EN) is None


@dataclass(frozen=True)
class FakeCall:
    language: str


@dataclass
class FakeHistory:
    languages: dict[str, list[str]] = field(default_factory=dict)  # caller as recorded -> newest first
    asked: list[str] = field(default_factory=list)

    async def calls_for_number(self, number: str, limit: int = 20) -> list[FakeCall]:
        self.asked.append(number)
        return [FakeCall(lang) for lang in self.languages.get(number, [])[:limit]]


def _service(db: Database, history: FakeHistory | None) -> CallbackService:
    return CallbackService(CallbackStore(db), EventBus(), CallbackSettings(), history=history,
                           languages=ES_EN, default_language="es")


async def test_a_callback_requested_without_a_language_gets_one(sqlite_db: Database) -> None:
    svc = _service(sqlite_db, FakeHistory())
    ticket = await svc.request(CallbackRequest(number=JAPAN, queue="support", source=CallbackSource.API))
    assert (await svc.get(ticket.callback_id)).language == "en"
    ticket = await svc.request(CallbackRequest(number=SPAIN, queue="support", source=CallbackSource.API))
    assert (await svc.get(ticket.callback_id)).language == "es"


async def test_the_numbers_history_comes_before_its_country(sqlite_db: Database) -> None:
    # a Spanish-speaking caller from Japan: their last call (recorded with national digits) was in Spanish
    history = FakeHistory({"312345678": ["es", "en"]})
    svc = _service(sqlite_db, history)
    ticket = await svc.request(CallbackRequest(number=JAPAN, queue="support", source=CallbackSource.API))
    assert (await svc.get(ticket.callback_id)).language == "es"
    assert history.asked == [JAPAN, JAPAN[1:], "312345678"]
    # the call that asked for it said English: no history needed
    chosen = await svc.request(CallbackRequest(number="+34600111333", queue="support", source=CallbackSource.API,
                                               language="en"))
    assert (await svc.get(chosen.callback_id)).language == "en"
    assert len(history.asked) == 3


async def test_a_failing_history_falls_back_to_the_country(sqlite_db: Database) -> None:
    class Broken:
        async def calls_for_number(self, number: str, limit: int = 20) -> list[FakeCall]:
            raise OSError("database away")

    svc = CallbackService(CallbackStore(sqlite_db), EventBus(), CallbackSettings(), history=Broken(),
                          languages=ES_EN, default_language="es")
    ticket = await svc.request(CallbackRequest(number=US, queue="support", source=CallbackSource.API))
    assert (await svc.get(ticket.callback_id)).language == "en"


async def test_the_agent_briefing_for_a_stored_callback_without_a_language_follows_the_country() -> None:
    catalogue = PromptCatalogue.load(PROJECT_ROOT / "prompts")
    deps = ScriptDeps(EventBus(), prompts=catalogue, acd=None, default_language="es")
    now = datetime.now(UTC)
    cb = Callback(id="cb1", number=JAPAN, queue="support", source=CallbackSource.ABANDON,
                  state=CallbackState.DIALING, arrival_time=now, due_at=now, created_at=now, updated_at=now,
                  attempts=1, max_attempts=3, language=None, waited_seconds=40.0, position=2, context=None,
                  merged=0, lease_owner="d1", leased_until=now, last_outcome=None, reason=None)
    call = CallbackCall(callback=cb, attempt=1, mode=CallbackMode.AGENT_FIRST, policy=QueuePolicy(),
                        customer_target=f"PJSIP/{JAPAN}@trunk", caller_id="+34910000000", assignment=None)
    agent = ScriptedChannel(call_info=scripted_info(call_id="cb-leg-1", caller="PJSIP/agent1"))
    await run_call(agent, call, deps)
    assert agent.played[0] == "en/callbacks/agent_intro"
    assert all(key.startswith("en/") for key in agent.played)
