"""A call the dialplan sent on from a dead node: back to its place in line, not the menu again.

Several nodes (docs/architecture.md "Several nodes"): when a node dies, Asterisk hands its callers
to the next node with ``PUENTE_CALL_ID`` and ``PUENTE_QUEUE`` as AGI arguments
(:attr:`~ivr.channel.CallInfo.resumed_from`). A caller who was waiting in a queue has a place
there still (the dead node's entry, or the orphan the reaper kept for a grace period): they go
straight back into that queue with their original arrival time and priority. A caller whose place
is gone but who had chosen a queue goes into it as a new arrival; one who was still in the menus
starts the flow again.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from ivr.events.types import NodeEntered
from ivr.flows.nodes import NodeRunner
from ivr.flows.runtime import FALLBACK_QUEUE, CallRun, Step
from ivr.ports import LegHistory, PlaceKeeper, QueueService

log = logging.getLogger(__name__)

RESUME_NODE = "resume"  # the timeline's node name for this step


async def resume_step(run: CallRun, nodes: NodeRunner, queues: QueueService | None) -> Step | None:
    """Where a later leg of a call goes first (the queue's outcome, as a queue node's); None: the
    flow's start (a first leg, or a caller who had not chosen a queue)."""
    info = run.ctx.info
    if info.resumed_from is None:
        return None
    await _restore(run)
    place = await queues.held_place(info.resumed_from) if isinstance(queues, PlaceKeeper) else None
    if place is not None:
        credit = max((datetime.now(UTC) - place.arrival).total_seconds(), 0.0)
        run.ctx.path.append(RESUME_NODE)
        run.publish(NodeEntered(call_id=run.call_id, flow=run.flow.name, node=RESUME_NODE, node_kind=RESUME_NODE,
                                queue=place.queue, arrival=place.arrival, priority=place.priority,
                                place="in_line" if place.live else "kept"))
        log.info("call resumed in its queue at its place", extra={"queue": place.queue, "credit_seconds": credit})
        return await nodes.enter_queue(run, RESUME_NODE, place.queue, priority=place.priority, credit=credit)
    queue = info.resumed_queue
    if queue and queue != FALLBACK_QUEUE and queues is not None:
        # (the default PUENTE_QUEUE is the fallback queue: only a chosen one says they had queued)
        run.ctx.path.append(RESUME_NODE)
        run.publish(NodeEntered(call_id=run.call_id, flow=run.flow.name, node=RESUME_NODE, node_kind=RESUME_NODE,
                                queue=queue, place="lost"))
        return await nodes.enter_queue(run, RESUME_NODE, queue)
    run.publish(NodeEntered(call_id=run.call_id, flow=run.flow.name, node=RESUME_NODE, node_kind=RESUME_NODE,
                            place="menu"))
    return None


async def _restore(run: CallRun) -> None:
    """What the caller told the dead node (its menu path, inputs, language, need) carries on: the
    agent's screen pop and a drop's callback see it as if the call had never moved."""
    recorder = run.recorder
    earlier = await recorder.earlier_legs(run.call_id) if isinstance(recorder, LegHistory) else None
    if earlier is None:
        return
    ctx = run.ctx
    ctx.path[:0] = earlier.path
    ctx.inputs[:0] = earlier.inputs
    if earlier.need:
        ctx.need_known = True
        ctx.variables.setdefault("need", earlier.need)
    if earlier.language and earlier.language in run.flow.languages and earlier.language != ctx.language:
        await run.set_language(earlier.language, node=RESUME_NODE)
