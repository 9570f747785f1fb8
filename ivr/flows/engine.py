"""The flow engine: runs one call through a flow over a :class:`~ivr.channel.Channel`.

Per call it asks the provider for the flow (so published changes reach new calls at once), keeps
the :class:`~ivr.context.CallContext`, publishes the call's facts (typed, :mod:`ivr.events.flow`;
the call recorder writes the timeline from them), and guarantees three things whatever
happens inside a node: a caller who hangs up ends the call cleanly (with a callback when they had
told us what they needed), a bug in one node routes the caller to a human instead of killing the
call or the process, and a flow that loops without the caller ever being asked anything is cut off.
A call that has spent ``max_ivr_seconds`` in the menus (the flow's, else the setting; time queued
or talking to an agent is not counted) hears the goodbye prompt and is ended with disposition
``time_limit``: whoever is still going round menus after 15 minutes is a silent line or a caller
the flow cannot help, and a polite goodbye is better than another lap. The limit is checked
between nodes, so a node's own prompts and tries always finish.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable

from ivr.channel import CallerHungUp, Channel, ChannelError
from ivr.context import CallContext
from ivr.events.flow import CallbackRequested, CallError, HungUp
from ivr.events.types import NodeEntered
from ivr.flows.loader import FlowError, FlowProvider
from ivr.flows.lookup import OrderLookup, build_lookup
from ivr.flows.nodes import NodeRunner
from ivr.flows.protocols import ScheduleLookup
from ivr.flows.resume import resume_step
from ivr.flows.runtime import (
    FALLBACK_QUEUE,
    VAR_CALL_ID,
    VAR_LANGUAGE,
    VAR_QUEUE,
    CallRun,
    End,
    HistoryPrefetch,
)
from ivr.flows.schema import Flow, QueueNode, TransferNode
from ivr.logs import mask_number
from ivr.ports import (
    CallbackRefused,
    CallbackRequest,
    CallbackSource,
    Disposition,
    RecentContact,
    Services,
)
from ivr.prompts.catalogue import PromptCatalogue
from ivr.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_MAX_STEPS = 500
TIME_LIMIT_PROMPT = "goodbye"


class FlowEngine:
    def __init__(
        self,
        provider: FlowProvider,
        services: Services,
        prompts: PromptCatalogue,
        schedules: ScheduleLookup | None,
        *,
        settings: Settings,
        lookup: OrderLookup | None = None,
        max_steps: int = DEFAULT_MAX_STEPS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.provider = provider
        self.services = services
        self.prompts = prompts
        self.settings = settings
        self.max_steps = max_steps
        self._clock = clock
        self.history = HistoryPrefetch(services.history) if services.history is not None else None
        self.nodes = NodeRunner(
            services=dataclasses.replace(services, history=self.history) if self.history else services,
            schedules=schedules,
            lookup=lookup if lookup is not None else build_lookup(settings.order_lookup_url,
                                                                  demo=settings.order_lookup_demo),
            confidence_threshold=settings.speech.confidence_threshold,
            speech=settings.speech.enabled,
            returning_window_minutes=settings.returning_caller_window_minutes,
        )

    # ------------------------------------------------------------------ entry point
    async def run(self, channel: Channel) -> Disposition:
        """Run one call to its end; never raises for anything a caller or a flow can cause.

        The call's log lines carry its id from where it entered (the backend that accepted it sets
        ``ivr.logs.current_call_id`` for the call's task), not from here."""
        flow = self._pick(channel)
        if flow is None:
            return await self._no_flow(channel)
        ctx = CallContext(info=channel.info, flow=flow.name, language=self._initial_language(flow))
        run = CallRun(channel=channel, ctx=ctx, flow=flow, prompts=self.prompts, recorder=self.services.recorder)
        return await self._drive(run)

    def _pick(self, channel: Channel) -> Flow | None:
        info = channel.info
        if info.flow_hint:
            try:
                return self.provider.by_name(info.flow_hint)
            except FlowError:
                log.warning("the requested flow does not exist; choosing by number", extra={"flow": info.flow_hint})
        try:
            return self.provider.current_for(info.dialled)
        except FlowError:
            log.exception("no flow for this call", extra={"dialled": mask_number(info.dialled)})
            return None

    def _initial_language(self, flow: Flow) -> str:
        default = self.settings.default_language
        return default if default in flow.languages else flow.languages[0]

    async def _no_flow(self, channel: Channel) -> Disposition:
        # Nothing to run: hand the caller to the dialplan's fallback queue rather than drop them.
        recorder = self.services.recorder
        try:
            await recorder.call_started(channel.info, flow="-", language=self.settings.default_language)
            recorder.publish(CallError(call_id=channel.info.call_id, error="no flow"))
        except Exception:
            log.exception("cannot record the call")
        try:
            await channel.set_variable(VAR_QUEUE, FALLBACK_QUEUE)
        except ChannelError:
            log.exception("cannot hand the caller to the dialplan")
        try:
            await recorder.call_ended(channel.info.call_id, Disposition.FAILED)
        except Exception:
            log.exception("cannot record the call end")
        return Disposition.FAILED

    # ------------------------------------------------------------------ one call
    async def _drive(self, run: CallRun) -> Disposition:
        try:
            await run.recorder.call_started(run.ctx.info, flow=run.flow.name, language=run.language)
        except Exception:
            log.exception("cannot record the call start")
        prefetch = self._prefetch_history(run)
        end = End(Disposition.FAILED)
        try:
            await run.channel.answer()
            await run.set_channel_variable(VAR_CALL_ID, run.call_id)
            await run.set_channel_variable(VAR_LANGUAGE, run.language)
            await run.set_channel_variable(VAR_QUEUE, FALLBACK_QUEUE)
            resumed = await resume_step(run, self.nodes, self.services.queues)
            if isinstance(resumed, End):
                end = resumed
            else:
                end = await self._walk(run, resumed)
        except CallerHungUp:
            end = End(Disposition.CALLER_HANGUP)
            run.publish(HungUp(call_id=run.call_id, node=run.ctx.path[-1] if run.ctx.path else None, by="caller"))
            await self._drop_callback(run)
        except Exception as exc:
            # The channel failed outside any node (answering, setting variables): nothing to route.
            if isinstance(exc, ChannelError):  # the peer's refusal: logged where it happened
                log.warning("call failed outside the flow's nodes: %s", exc)
            else:
                log.exception("call failed outside the flow's nodes")
            run.publish(CallError(call_id=run.call_id, error=type(exc).__name__, detail=str(exc)[:500]))
            end = End(Disposition.FAILED)
        finally:
            try:
                await self._finish(run, end)
            finally:
                if prefetch is not None and self.history is not None:
                    await self.history.finish(*prefetch)
        return end.disposition

    def _prefetch_history(self, run: CallRun) -> tuple[str, float, asyncio.Task[RecentContact | None]] | None:
        """Start the caller-history lookup of the flow's returning-caller node now (see
        :class:`HistoryPrefetch`): it then runs while the call is answered and greeted."""
        caller = run.ctx.info.caller
        if self.history is None or not caller:
            return None
        node = run.flow.returning_caller
        if node is None:
            return None
        window = node.window_minutes or self.nodes.returning_window_minutes
        task = self.history.start(caller, window)
        return None if task is None else (caller, window, task)

    async def _walk(self, run: CallRun, start: str | None = None) -> End:
        node_id = start or run.flow.start
        limit = run.flow.max_ivr_seconds or self.settings.flows.max_ivr_seconds
        in_menus = 0.0
        for _ in range(self.max_steps):
            if in_menus >= limit:
                return await self._time_limit(run, node_id, in_menus)
            node = run.flow.nodes.get(node_id)
            if node is None:
                log.error("flow refers to a missing node", extra={"flow": run.flow.name, "node": node_id})
                run.publish(CallError(call_id=run.call_id, node=node_id, error="unknown node"))
                return await self._rescue(run, node_id)
            run.ctx.path.append(node_id)
            run.publish(NodeEntered(call_id=run.call_id, flow=run.flow.name, node=node_id, node_kind=node.kind))
            began = self._clock()
            try:
                step = await self.nodes.step(run, node_id, node)
            except CallerHungUp:
                raise
            except Exception as exc:
                if isinstance(exc, ChannelError):
                    # The telephony peer refused a command (e.g. an AGI 520): its fault, logged where
                    # it happened; one line here, no traceback.
                    log.warning("node failed on the channel (%s); routing the caller to a human", exc,
                                extra={"node": node_id, "flow": run.flow.name})
                else:
                    log.exception("node failed; routing the caller to a human", extra={"node": node_id,
                                                                                       "flow": run.flow.name})
                run.publish(CallError(call_id=run.call_id, node=node_id, error=type(exc).__name__,
                                      detail=str(exc)[:500]))
                return await self._rescue(run, node_id)
            if not isinstance(node, (QueueNode, TransferNode)):  # waiting for / talking to a human
                in_menus += self._clock() - began
            if isinstance(step, End):
                return step
            node_id = step
        log.error("flow ran too many steps without ending", extra={"flow": run.flow.name, "steps": self.max_steps})
        run.publish(CallError(call_id=run.call_id, node=node_id, error="max_steps", steps=self.max_steps))
        return await self._rescue(run, node_id)

    async def _time_limit(self, run: CallRun, node_id: str, seconds: float) -> End:
        log.warning("call reached the IVR time limit; saying goodbye",
                    extra={"flow": run.flow.name, "node": node_id, "seconds": round(seconds)})
        run.publish(CallError(call_id=run.call_id, node=node_id, error="ivr_time_limit", seconds=round(seconds)))
        await run.play([TIME_LIMIT_PROMPT], node=node_id)
        return End(Disposition.TIME_LIMIT)

    async def _rescue(self, run: CallRun, node_id: str) -> End:
        """After a bug: to the general queue if that can work, else hang up."""
        run.errors += 1
        if run.errors > 1 or run.channel.hung_up:
            return End(Disposition.FAILED)
        try:
            step = await self.nodes.enter_queue(run, node_id, FALLBACK_QUEUE)
        except CallerHungUp:
            raise
        except Exception:
            log.exception("cannot route the caller to the general queue; hanging up")
            return End(Disposition.FAILED)
        return step if isinstance(step, End) else End(Disposition.FAILED)

    async def _drop_callback(self, run: CallRun) -> None:
        """The caller left after telling us what they need: call them back."""
        port = self.services.callbacks
        if not run.ctx.need_known or port is None or not run.ctx.info.caller:
            return
        queue = run.ctx.queue or run.ctx.variables.get("need_queue") or FALLBACK_QUEUE
        request = CallbackRequest(
            number=run.ctx.info.caller,
            queue=queue,
            source=CallbackSource.FLOW_DROP,
            context=run.ctx.snapshot("flow_drop"),
            arrival_time=run.ctx.info.started_at,
            language=run.language,
        )
        try:
            ticket = await port.request(request)
        except CallbackRefused as exc:
            log.info("no callback after the drop", extra={"reason": str(exc)})
            run.publish(CallbackRequested(call_id=run.call_id, source="flow_drop", refused=str(exc)))
            return
        except Exception:
            log.exception("cannot request a callback after the drop")
            return
        run.publish(CallbackRequested(call_id=run.call_id, source="flow_drop", queue=queue,
                                      callback_id=ticket.callback_id, scheduled_for=ticket.scheduled_for.isoformat()))

    async def _finish(self, run: CallRun, end: End) -> None:
        if end.hang_up and not run.channel.hung_up:
            try:
                await run.channel.hangup()
            except ChannelError:
                log.warning("hangup failed", exc_info=True)
        try:
            await run.recorder.call_ended(run.call_id, end.disposition, language=run.language)
        except Exception:
            log.exception("cannot record the call end")
        log.info("call ended", extra={"flow": run.flow.name, "disposition": end.disposition.value,
                                      "path": run.ctx.path[-20:]})
