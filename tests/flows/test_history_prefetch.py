"""The caller-history lookup starts with the call and runs while it is answered and greeted."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ivr.channel import InputResult, InputSpec, PromptFile
from ivr.flows.runtime import HistoryPrefetch
from ivr.ports import Disposition, RecentContact
from tests.flows.conftest import Harness
from tests.support.scripted import AgentAnswers, HangUp, Press, ScriptedChannel, scripted_info

CALLER = "+34600999888"
SPANISH = Press("2")


@dataclass
class GatedHistory:
    """Answers only once ``gate`` is set; says when it was asked and whether it was cancelled."""

    contact: RecentContact | None = None
    error: Exception | None = None
    asked: list[tuple[str, float]] = field(default_factory=list)
    started: asyncio.Event = field(default_factory=asyncio.Event)
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    cancelled: bool = False

    async def recent_unresolved(self, caller: str, *, within_minutes: float) -> RecentContact | None:
        self.asked.append((caller, within_minutes))
        self.started.set()
        try:
            await self.gate.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        if self.error is not None:
            raise self.error
        return self.contact


def _contact() -> RecentContact:
    return RecentContact(call_id="old-1", queue="support", waited_seconds=95.0, ended_at=datetime.now(UTC),
                         disposition=Disposition.ABANDONED)


class SlowPromptChannel(ScriptedChannel):
    """Prompts play until ``prompt_done`` is set (the event loop runs meanwhile)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.prompt_done = asyncio.Event()

    async def play(self, prompts: Sequence[PromptFile], *, interrupt_digits: str = "") -> str | None:
        await self.prompt_done.wait()
        return await super().play(prompts, interrupt_digits=interrupt_digits)

    async def collect(self, prompts: Sequence[PromptFile], spec: InputSpec) -> InputResult:
        await self.prompt_done.wait()
        return await super().collect(prompts, spec)


async def test_lookup_runs_while_the_first_prompt_plays(harness: Harness) -> None:
    history = GatedHistory(contact=_contact())
    harness.services.history = history
    channel = SlowPromptChannel([SPANISH, Press("1"), AgentAnswers()], call_info=scripted_info(caller=CALLER))
    call = asyncio.create_task(harness.engine().run(channel))
    # Asked while the language prompt still plays: before the returning-caller node.
    await asyncio.wait_for(history.started.wait(), 5)
    assert channel.answered and channel.played == []
    channel.prompt_done.set()
    history.gate.set()
    assert await asyncio.wait_for(call, 5) is Disposition.CONNECTED
    assert history.asked == [(CALLER, harness.settings.returning_caller_window_minutes)]  # asked once
    assert "es/returning_caller" in channel.played and harness.queues.requests[0].credit_seconds == 95.0


async def test_lookup_cancelled_when_the_caller_leaves_first(harness: Harness) -> None:
    history = GatedHistory(contact=_contact())
    harness.services.history = history
    channel = ScriptedChannel([HangUp()], call_info=scripted_info(caller=CALLER))
    disposition = await asyncio.wait_for(harness.engine().run(channel), 5)
    assert disposition is Disposition.CALLER_HANGUP
    # The lookup did not outlive the call (cancelled, possibly before it even started).
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "caller-history"]
    assert history.cancelled or not history.asked


async def test_failed_lookup_treats_the_caller_as_new(harness: Harness) -> None:
    history = GatedHistory(error=RuntimeError("database down"))
    history.gate.set()
    harness.services.history = history
    channel = ScriptedChannel([SPANISH, Press("1"), AgentAnswers()], call_info=scripted_info(caller=CALLER))
    assert await asyncio.wait_for(harness.engine().run(channel), 5) is Disposition.CONNECTED
    assert "es/returning_caller" not in channel.played and "es/greeting" in channel.played


async def test_no_lookup_without_a_caller_number(harness: Harness) -> None:
    history = GatedHistory(contact=_contact())
    harness.services.history = history
    channel = ScriptedChannel([SPANISH, Press("1"), AgentAnswers()], call_info=scripted_info(caller=""))
    assert await asyncio.wait_for(harness.engine().run(channel), 5) is Disposition.CONNECTED
    assert history.asked == []


async def test_a_lookup_taken_by_another_call_survives_its_starter() -> None:
    """Two live calls from one number: the second call's node takes the first call's lookup; the
    first call ending must not cancel it under the second."""
    history = GatedHistory(contact=_contact())
    prefetch = HistoryPrefetch(history)
    task = prefetch.start(CALLER, 60.0)
    assert task is not None and prefetch.start(CALLER, 60.0) is None  # one lookup per number
    taker = asyncio.create_task(prefetch.recent_unresolved(CALLER, within_minutes=60.0))
    async with asyncio.timeout(5):
        while prefetch.pending:
            await asyncio.sleep(0)
    await prefetch.finish(CALLER, 60.0, task)  # the first call ends
    history.gate.set()
    assert await asyncio.wait_for(taker, 5) == history.contact
    assert history.asked == [(CALLER, 60.0)] and not history.cancelled


async def test_an_untaken_lookup_is_stopped_with_its_call() -> None:
    history = GatedHistory(contact=_contact())
    prefetch = HistoryPrefetch(history)
    task = prefetch.start(CALLER, 60.0)
    assert task is not None
    await asyncio.wait_for(history.started.wait(), 5)
    await prefetch.finish(CALLER, 60.0, task)
    assert task.cancelled() and history.cancelled and prefetch.pending == 0
