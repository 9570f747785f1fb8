"""What each node kind does. :meth:`NodeRunner.step` runs one node and says where to go next."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from ivr.channel import CallerHungUp, DialStatus
from ivr.dialogs.offers import offer_callback, offer_deflection
from ivr.dialogs.speaking import say_digits, say_number
from ivr.dialogs.yesno import Answer, ask_yes_no
from ivr.events.flow import (
    CallError,
    OrderLookedUp,
    ReturningCaller,
    ScheduleChecked,
    ScheduleReading,
    TransferDialled,
    TransferEnded,
    VariableSet,
)
from ivr.flows import inputs
from ivr.flows.lookup import LookupFailed, OrderLookup
from ivr.flows.protocols import ScheduleLookup
from ivr.flows.runtime import FALLBACK_QUEUE, VAR_QUEUE, CallRun, End, Step
from ivr.flows.schema import (
    BranchNode,
    BranchScheduleNode,
    CollectNode,
    GotoNode,
    HangupNode,
    LanguageNode,
    LookupNode,
    MarkNeedNode,
    MenuNode,
    Node,
    OfferCallbackNode,
    OfferDeflectionNode,
    PlayNode,
    QueueNode,
    ReturningCallerNode,
    SayNode,
    SetNode,
    TransferNode,
)
from ivr.ports import Disposition, QueueOutcomeKind, QueueRequest, Services
from ivr.schedules.model import ScheduleState

log = logging.getLogger(__name__)

VAR_RETURNING_QUEUE = "returning_queue"
VAR_RETURNING_WAITED = "returning_waited"


@dataclass
class NodeRunner:
    services: Services
    schedules: ScheduleLookup | None
    lookup: OrderLookup | None
    confidence_threshold: float
    returning_window_minutes: float
    speech: bool = True  # offer grammars to the channel (settings.speech.enabled)

    async def step(self, run: CallRun, node_id: str, node: Node) -> Step:
        match node:
            case PlayNode():
                await run.play(node.prompts, node=node_id)
                return node.next or End(run.outcome or Disposition.COMPLETED)
            case MenuNode():
                return await inputs.run_menu(run, node_id, node, confidence_threshold=self.confidence_threshold,
                                             speech=self.speech)
            case CollectNode():
                return await inputs.run_collect(run, node_id, node)
            case LanguageNode():
                return await inputs.run_language(run, node_id, node, run.flow, speech=self.speech)
            case BranchScheduleNode():
                return await self._branch_schedule(run, node_id, node)
            case BranchNode():
                return await self._branch(run, node_id, node)
            case SetNode():
                run.ctx.variables.update(node.variables)
                run.publish(VariableSet(call_id=run.call_id, node=node_id, variables=tuple(sorted(node.variables))))
                return node.next
            case GotoNode():
                return node.next
            case MarkNeedNode():
                run.ctx.need_known = True
                run.ctx.variables["need"] = node.need
                if node.queue:
                    run.ctx.variables["need_queue"] = node.queue
                run.publish(VariableSet(call_id=run.call_id, node=node_id, need=node.need))
                return node.next
            case QueueNode():
                return await self._queue_node(run, node_id, node)
            case HangupNode():
                await run.play(node.prompts, node=node_id)
                return End(node.disposition or run.outcome or Disposition.COMPLETED)
            case TransferNode():
                return await self._transfer(run, node_id, node)
            case LookupNode():
                return await self._lookup(run, node_id, node)
            case SayNode():
                await self._say(run, node_id, node)
                return node.next
            case OfferCallbackNode():
                return await self._offer_callback(run, node_id, node)
            case OfferDeflectionNode():
                return await self._offer_deflection(run, node_id, node)
            case ReturningCallerNode():
                return await self._returning(run, node_id, node)
        raise TypeError(f"unknown node kind {type(node).__name__}")

    # ------------------------------------------------------------------ branches
    async def _branch_schedule(self, run: CallRun, node_id: str, node: BranchScheduleNode) -> Step:
        name = node.schedule or run.flow.schedule
        state = ScheduleState.OPEN
        error: str | None = None
        reading: ScheduleReading | None = None
        if self.schedules is None or name is None:
            log.error("no schedule service or schedule name: treating as open", extra={"node": node_id})
            error = "no schedule"
        else:
            try:
                status = await self.schedules.status(name)
            except Exception:
                # Fail open: a caller during an unknown schedule reaches the queues, not a closed door.
                log.exception("schedule check failed: treating as open", extra={"schedule": name})
                error = "schedule check failed"
            else:
                state = status.state
                reading = ScheduleReading(reason=status.reason, source=status.source,
                                          next_change=status.next_change.isoformat() if status.next_change else None)
        run.ctx.variables["schedule_state"] = state.value
        if state is not ScheduleState.OPEN and reading is not None and reading.reason:
            # Why we were closed (a holiday's name): links sent later in this call carry it to the page.
            run.ctx.variables["schedule_reason"] = str(reading.reason)[:100]
        run.publish(ScheduleChecked(call_id=run.call_id, node=node_id, schedule=name, state=state.value, error=error,
                                    reading=reading))
        if state is ScheduleState.OPEN:
            return node.open
        if state is ScheduleState.HOLIDAY:
            return node.holiday or node.closed
        return node.closed

    async def _branch(self, run: CallRun, node_id: str, node: BranchNode) -> Step:
        if node.variable is not None:
            value = run.ctx.variables.get(node.variable, "")
        else:
            value = {
                "caller": run.ctx.info.caller,
                "dialled": run.ctx.info.dialled,
                "language": run.ctx.language,
                "returning": run.ctx.variables.get("returning", "no"),
            }[node.attribute or "caller"]
        for case in node.cases:
            if case.matches(value):
                return case.next
        return node.default

    # ------------------------------------------------------------------ queue and transfer
    async def _queue_node(self, run: CallRun, node_id: str, node: QueueNode) -> Step:
        name = node.queue or run.ctx.variables.get(node.queue_variable or "") or FALLBACK_QUEUE
        credit = 0.0
        if node.credit_variable:
            try:
                credit = max(0.0, float(run.ctx.variables.get(node.credit_variable, "0") or 0))
            except ValueError:
                credit = 0.0
        return await self.enter_queue(run, node_id, name, priority=node.priority, credit=credit,
                                      overflow=node.overflow, after=node.after)

    async def enter_queue(
        self,
        run: CallRun,
        node_id: str,
        name: str,
        *,
        priority: int = 0,
        credit: float = 0.0,
        overflow: str | None = None,
        after: str | None = None,
    ) -> Step:
        run.ctx.queue = name
        await run.set_channel_variable(VAR_QUEUE, name)
        queues = self.services.queues
        if queues is None:
            # No ACD wired: leave the channel up; the dialplan's Queue(${PUENTE_QUEUE}) takes over.
            run.publish(TransferDialled(call_id=run.call_id, node=node_id, to="dialplan_queue", queue=name))
            return End(Disposition.TRANSFERRED, hang_up=False)
        # The ACD publishes the queue's facts (joined, left, connected) and the call recorder writes
        # them from the bus, summing the waits: recording them here too would count twice.
        try:
            outcome = await queues.wait_in_queue(run.channel, QueueRequest(name, run.ctx, priority, credit))
        except CallerHungUp:
            return End(Disposition.ABANDONED)
        run.ctx.waited_seconds = outcome.waited_seconds
        log.info("left the queue", extra={"queue": name, "outcome": outcome.kind.value,
                                          "waited_seconds": outcome.waited_seconds})
        match outcome.kind:
            case QueueOutcomeKind.CONNECTED:
                await self._reached_agent(run, name)
                run.outcome = Disposition.CONNECTED
                if after and not run.channel.hung_up:
                    return after
                return End(Disposition.CONNECTED)
            case QueueOutcomeKind.ABANDONED:
                return End(Disposition.ABANDONED)
            case QueueOutcomeKind.CALLBACK:
                return End(Disposition.CALLBACK)
            case QueueOutcomeKind.DEFLECTED:
                return End(Disposition.DEFLECTED)
        # OVERFLOW or UNAVAILABLE: the flow decides, else the general queue, else the dialplan.
        if overflow:
            return overflow
        if name != FALLBACK_QUEUE:
            return await self.enter_queue(run, node_id, FALLBACK_QUEUE)
        await run.set_channel_variable(VAR_QUEUE, FALLBACK_QUEUE)
        return End(Disposition.OVERFLOW, hang_up=False)

    async def _reached_agent(self, run: CallRun, queue: str) -> None:
        callbacks = self.services.callbacks
        if callbacks is None or not run.ctx.info.caller:
            return
        # The queue may have overflowed elsewhere (the queue service updates ctx.queue): both count.
        for name in sorted({queue, run.ctx.queue or queue}):
            try:
                await callbacks.reached_agent(run.ctx.info.caller, name)
            except Exception:
                log.exception("cannot cancel the callbacks of a caller who reached an agent", extra={"queue": name})

    async def _transfer(self, run: CallRun, node_id: str, node: TransferNode) -> Step:
        await run.play(node.prompts, node=node_id)
        endpoint = node.endpoint.format(number=node.number)
        run.publish(TransferDialled(call_id=run.call_id, node=node_id, to=node.number, endpoint=endpoint))
        result = await run.channel.connect(endpoint, timeout=node.timeout)
        run.publish(TransferEnded(call_id=run.call_id, node=node_id, status=result.status.value,
                                  talk_seconds=result.talk_seconds))
        if result.status is DialStatus.ANSWER:
            return End(Disposition.TRANSFERRED)
        if node.failure:
            return node.failure
        return await self.enter_queue(run, node_id, FALLBACK_QUEUE)

    # ------------------------------------------------------------------ lookup and say
    async def _lookup(self, run: CallRun, node_id: str, node: LookupNode) -> Step:
        order = run.ctx.variables.get(node.input, "")
        if self.lookup is None:
            run.publish(OrderLookedUp(call_id=run.call_id, node=node_id, error="no lookup configured"))
            return node.error
        try:
            status = await self.lookup.status(order)
        except LookupFailed as exc:
            log.warning("order lookup failed", extra={"error": str(exc)})
            run.publish(OrderLookedUp(call_id=run.call_id, node=node_id, order=order, error=str(exc)))
            return node.error
        run.publish(OrderLookedUp(call_id=run.call_id, node=node_id, order=order, status=status))
        if status is None:
            run.ctx.variables.pop(node.output, None)
            return node.not_found
        run.ctx.variables[node.output] = status
        return node.found

    async def _say(self, run: CallRun, node_id: str, node: SayNode) -> None:
        value = run.ctx.variables.get(node.variable, "")
        lang = run.language
        files = run.files(node.before)
        if node.as_ == "digits":
            files += say_digits(run.prompts, value, lang)
        elif node.as_ == "number":
            files += say_number(run.prompts, value, lang)
        else:
            prompt_id = node.values.get(value, node.default)
            if prompt_id:
                files += run.files([prompt_id])
        files += run.files(node.after)
        await run.play_files(files, node=node_id)

    # ------------------------------------------------------------------ offers
    async def _offer_callback(self, run: CallRun, node_id: str, node: OfferCallbackNode) -> Step:
        port = self.services.callbacks
        if port is None:
            run.publish(CallError(call_id=run.call_id, node=node_id, error="callbacks not available"))
            return node.refused
        not_before = None
        if node.not_before == "next_open":
            name = node.schedule or run.flow.schedule
            if self.schedules is not None and name is not None:
                not_before = self.schedules.next_open(name, datetime.now(UTC))
        ticket = await offer_callback(run.channel, run.ctx, port, run.prompts, run.recorder,
                                      queue=node.queue, source=node.source, not_before=not_before)
        if ticket is None:
            return node.refused
        run.outcome = Disposition.CALLBACK
        return node.accepted

    async def _offer_deflection(self, run: CallRun, node_id: str, node: OfferDeflectionNode) -> Step:
        port = self.services.deflection
        if port is None:
            run.publish(CallError(call_id=run.call_id, node=node_id, error="deflection not available"))
            return node.declined
        ticket = await offer_deflection(run.channel, run.ctx, port, run.prompts, run.recorder,
                                        reason=node.reason, consent_prompt_id=node.consent_prompt)
        if ticket is None:
            return node.declined
        run.outcome = Disposition.DEFLECTED
        return node.accepted

    async def _returning(self, run: CallRun, node_id: str, node: ReturningCallerNode) -> Step:
        history = self.services.history
        run.ctx.variables["returning"] = "no"
        if history is None or not run.ctx.info.caller:
            return node.not_returning
        window = node.window_minutes or self.returning_window_minutes
        try:
            contact = await history.recent_unresolved(run.ctx.info.caller, within_minutes=window)
        except Exception:
            log.exception("cannot read the caller's recent calls")
            return node.not_returning
        if contact is None or not contact.queue:
            return node.not_returning
        run.ctx.variables["returning"] = "yes"
        run.publish(ReturningCaller(call_id=run.call_id, node=node_id, previous_call_id=contact.call_id,
                                    queue=contact.queue, waited_seconds=contact.waited_seconds))
        answer, _ = await ask_yes_no(run.channel, run.ctx, run.prompts, run.recorder, node=node_id,
                                     prompt_ids=node.prompts, tries=1, timeout=node.timeout)
        if answer is not Answer.YES:
            return node.declined
        run.ctx.variables[VAR_RETURNING_QUEUE] = contact.queue
        run.ctx.variables[VAR_RETURNING_WAITED] = f"{contact.waited_seconds:.0f}"
        return node.accepted
