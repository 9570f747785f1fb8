"""Checks of what a flow refers to: its nodes, queues and schedules exist, and every prompt it plays
(named, or implied by the node) has a text in each language the flow declares."""

from __future__ import annotations

from collections.abc import Iterator

from ivr.dialogs.offers import OFFER_PROMPTS
from ivr.flows import inputs
from ivr.flows.checkcontext import CheckContext
from ivr.flows.schema import (
    BranchScheduleNode,
    LanguageNode,
    MarkNeedNode,
    MenuNode,
    Node,
    OfferCallbackNode,
    OfferDeflectionNode,
    QueueNode,
    SayNode,
)
from ivr.prompts.catalogue import PromptCatalogue


def check_references(c: CheckContext) -> None:
    flow = c.flow
    if flow.start not in flow.nodes:
        c.add(None, f"start: unknown node {flow.start!r}")
    if flow.schedule and c.refs.schedules is not None and flow.schedule not in c.refs.schedules:
        c.add(None, f"schedule: unknown schedule {flow.schedule!r}")
    for node_id, node in flow.nodes.items():
        for role, target in node.successors():
            if target not in flow.nodes:
                c.add(node_id, f"{role}: unknown node {target!r}")
        for queue in _queues_of(node):
            if c.refs.queues is not None and queue not in c.refs.queues:
                c.add(node_id, f"unknown queue {queue!r}")
        for schedule in _schedules_of(node):
            if c.refs.schedules is not None and schedule not in c.refs.schedules:
                c.add(node_id, f"unknown schedule {schedule!r}")
        if _needs_schedule(node) and not (getattr(node, "schedule", None) or flow.schedule):
            c.add(node_id, "no schedule: name one here or in the flow")
        if c.refs.prompts is not None:
            _check_prompts(c, node_id, node, c.refs.prompts)


def _needs_schedule(node: Node) -> bool:
    return isinstance(node, BranchScheduleNode) or (
        isinstance(node, OfferCallbackNode) and node.not_before == "next_open"
    )


def _queues_of(node: Node) -> Iterator[str]:
    queue = node.queue if isinstance(node, (QueueNode, OfferCallbackNode, MarkNeedNode)) else None
    if queue:
        yield queue


def _schedules_of(node: Node) -> Iterator[str]:
    if isinstance(node, (BranchScheduleNode, OfferCallbackNode)) and node.schedule:
        yield node.schedule


def _implied_prompts(node: Node) -> Iterator[str]:
    """Prompts the engine plays for this node beyond the ones it names."""
    if isinstance(node, MenuNode) and node.speech:
        yield inputs.CONFIRM_BEFORE
        yield inputs.CONFIRM_AFTER
        if node.agent:
            yield inputs.AGENT_LABEL
    elif isinstance(node, (OfferCallbackNode, OfferDeflectionNode)):
        yield from OFFER_PROMPTS
    elif isinstance(node, SayNode) and node.as_ in ("digits", "number"):
        yield from (f"num/{d}" for d in "0123456789")


def _check_prompts(c: CheckContext, node_id: str, node: Node, catalogue: PromptCatalogue) -> None:
    wanted: dict[str, tuple[str, ...]] = {}
    languages = tuple(c.flow.languages)
    for prompt_id in [*node.prompt_ids(), *_implied_prompts(node)]:
        wanted.setdefault(prompt_id, languages)
    if isinstance(node, LanguageNode):
        for option in node.options.values():
            if option.prompt:
                wanted[option.prompt] = (option.language,)  # played in its own language only
    known = set(catalogue.ids())
    for prompt_id, langs in wanted.items():
        if prompt_id not in known:
            c.add(node_id, f"unknown prompt {prompt_id!r}")
            continue
        for lang in langs:
            if not catalogue.has(prompt_id, lang):
                c.add(node_id, f"prompt {prompt_id!r} has no text for language {lang!r}")
