"""One call being run by the engine: its channel, context, flow and the small helpers every node
uses (play prompts in the call's language, publish the call's facts and inputs)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ivr.channel import Channel, ChannelError, InputResult, PromptFile
from ivr.context import CallContext
from ivr.dialogs.yesno import played, prompt_files, publish, record_input
from ivr.events.flow import LanguageSet
from ivr.events.types import Event
from ivr.flows.schema import Flow
from ivr.ports import CallHistory, CallRecorder, Disposition, RecentContact
from ivr.prompts.catalogue import PromptCatalogue

log = logging.getLogger(__name__)

VAR_QUEUE = "PUENTE_QUEUE"
VAR_LANGUAGE = "PUENTE_LANGUAGE"
VAR_CALL_ID = "PUENTE_CALL_ID"
FALLBACK_QUEUE = "general"


@dataclass(frozen=True, slots=True)
class End:
    """The flow is over. ``hang_up`` False leaves the channel up so the dialplan continues (its
    ``Queue(${PUENTE_QUEUE})`` fallback)."""

    disposition: Disposition
    hang_up: bool = True


Step = str | End  # a node id to go to, or the end of the call


@dataclass
class CallRun:
    channel: Channel
    ctx: CallContext
    flow: Flow
    prompts: PromptCatalogue
    recorder: CallRecorder
    outcome: Disposition | None = None  # what the call achieved so far (callback, deflected...)
    errors: int = 0
    started: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def call_id(self) -> str:
        return self.ctx.info.call_id

    @property
    def language(self) -> str:
        return self.ctx.language

    # ------------------------------------------------------------------ prompts
    def files(self, prompt_ids: Sequence[str], lang: str | None = None) -> list[PromptFile]:
        """Prompt files in the call's language; a missing prompt is skipped (loudly), not fatal."""
        lang = lang or self.ctx.language
        return prompt_files(self.prompts, prompt_ids, lang)

    async def play(self, prompt_ids: Sequence[str], *, node: str | None = None) -> None:
        await self.play_files(self.files(prompt_ids), node=node)

    async def play_files(self, files: Sequence[PromptFile], *, node: str | None = None) -> None:
        if not files:
            return
        await self.channel.play(files)
        self.played(files, node=node)

    def played(self, files: Sequence[PromptFile], *, node: str | None = None) -> None:
        played(self.recorder, self.call_id, files, node=node)

    # ------------------------------------------------------------------ facts
    def publish(self, event: Event) -> None:
        """Publish a fact of this call (the recorder writes its row from the bus); a failing
        publisher or subscriber never ends the call."""
        publish(self.recorder, event)

    def record_input(self, node: str, result: InputResult) -> None:
        record_input(self.recorder, self.ctx, node, result)

    async def set_channel_variable(self, name: str, value: str) -> None:
        """Expose a value to the dialplan; a backend that cannot is logged, never fatal."""
        try:
            await self.channel.set_variable(name, value)
        except ChannelError as exc:
            if self.channel.hung_up:
                raise
            log.warning("cannot set a channel variable", extra={"variable": name, "error": str(exc)})

    async def set_language(self, lang: str, *, node: str | None = None) -> None:
        self.ctx.language = lang
        self.ctx.variables["language"] = lang
        await self.set_channel_variable(VAR_LANGUAGE, lang)
        self.publish(LanguageSet(call_id=self.call_id, node=node, language=lang))


class HistoryPrefetch:
    """The caller-history lookup, started when the call starts (:meth:`start`) rather than when
    the returning-caller node asks, so the database works while ANSWER and the first prompt play
    instead of between the language choice and the greeting. The node's question
    (:meth:`recent_unresolved`) takes the prefetched answer once; any other asks the database."""

    def __init__(self, history: CallHistory) -> None:
        self._history = history
        self._pending: dict[tuple[str, float], asyncio.Task[RecentContact | None]] = {}

    @property
    def pending(self) -> int:
        """Lookups started and not taken yet."""
        return len(self._pending)

    def start(self, caller: str, within_minutes: float) -> asyncio.Task[RecentContact | None] | None:
        """Start the lookup; the caller owns the task (see :meth:`finish`). None when one for the
        same number is already running (another live call from it: that call's node will ask again)."""
        key = (caller, within_minutes)
        if key in self._pending:
            return None
        task = asyncio.get_running_loop().create_task(
            self._history.recent_unresolved(caller, within_minutes=within_minutes), name="caller-history")
        self._pending[key] = task
        return task

    async def finish(self, caller: str, within_minutes: float, task: asyncio.Task[RecentContact | None]) -> None:
        """The call is over: stop (or drop the answer of) a lookup nobody took. A taken one is
        awaited by its taker, maybe another live call from the same number: left alone."""
        if self._pending.get((caller, within_minutes)) is not task:
            return
        del self._pending[(caller, within_minutes)]
        if not task.done():
            task.cancel()
            await asyncio.wait({task})
        if not task.cancelled() and (error := task.exception()) is not None:
            log.warning("caller-history lookup failed", extra={"error": repr(error)})

    async def recent_unresolved(self, caller: str, *, within_minutes: float) -> RecentContact | None:
        task = self._pending.pop((caller, within_minutes), None)
        if task is None:
            return await self._history.recent_unresolved(caller, within_minutes=within_minutes)
        return await task
