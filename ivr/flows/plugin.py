"""Wiring for the flow engine: ``container.services["engine"]`` and ``["flows"]`` (the provider).

Wired after the ACD, callbacks and deflection, so their ports are used when present; a missing
one just switches that feature off (the flow falls back, e.g. to the dialplan's queue).
"""

from __future__ import annotations

import logging
from typing import Any

from ivr.channel import CallInfo, Grammar
from ivr.composition import Container
from ivr.flows.checking import limits_of
from ivr.flows.engine import FlowEngine
from ivr.flows.inputs import menu_phrases
from ivr.flows.loader import FileFlowProvider, FlowSet
from ivr.flows.lookup import LookupKind, build_lookup, lookup_kind
from ivr.flows.schema import MenuNode
from ivr.ports import CallEventKind, Disposition, Services
from ivr.prompts.catalogue import PromptCatalogue
from ivr.speech.vocabulary import VocabularyCheck

log = logging.getLogger(__name__)


class LogRecorder:
    """Stands in when no call store is wired: the timeline goes to the debug log only."""

    async def call_started(self, info: CallInfo, *, flow: str, language: str) -> None:
        log.debug("call started", extra={"flow": flow, "language": language})

    async def event(
        self, call_id: str, kind: CallEventKind, *, node: str | None = None, data: dict[str, Any] | None = None
    ) -> None:
        log.debug("call event", extra={"event": kind.value, "node": node})

    async def call_ended(self, call_id: str, disposition: Disposition, *, language: str | None = None) -> None:
        log.debug("call ended", extra={"disposition": disposition.value})


async def wire(container: Container) -> None:
    settings = container.settings
    found = container.services
    provider = FileFlowProvider(settings.flows_dir, limits_of(settings))  # at start-up, before calls
    recorder = found.get("recorder")
    if recorder is None:
        log.warning("no call recorder wired: calls are not recorded")
        recorder = LogRecorder()
    services = Services(
        recorder=recorder,
        queues=found.get("acd"),
        callbacks=found.get("callbacks"),
        deflection=found.get("deflection"),
        history=found.get("history"),
    )
    prompts = found.get("prompts")
    if not isinstance(prompts, PromptCatalogue):
        prompts = PromptCatalogue.load(settings.prompts_dir)
    engine = FlowEngine(
        provider,
        services,
        prompts,
        found.get("schedules"),
        settings=settings,
        lookup=build_lookup(settings.order_lookup_url, demo=settings.order_lookup_demo),
    )
    found["flows"] = provider
    found["engine"] = engine
    log.info("flow engine wired", extra={
        "flows": provider.flow_set.names(),
        "queues": services.queues is not None,
        "callbacks": services.callbacks is not None,
        "deflection": services.deflection is not None,
    })
    kind = lookup_kind(settings.order_lookup_url, settings.order_lookup_demo)
    if kind is LookupKind.OFF:
        log.info("order lookup off: callers asking for an order's status are offered an agent "
                 "(set IVR_ORDER_LOOKUP_URL, or IVR_ORDER_LOOKUP_DEMO=true for the demo table)")
    elif kind is LookupKind.DEMO:
        log.warning("order lookup answers from the DEMO table of made-up orders (IVR_ORDER_LOOKUP_DEMO); "
                    "set IVR_ORDER_LOOKUP_URL for real orders")
    else:
        log.info("order lookup over HTTP (IVR_ORDER_LOOKUP_URL)")
    speech = found.get("speech")
    if speech is not None and container.settings.speech.enabled:
        container.components.append(VocabularyCheck(speech, menu_grammars(provider.flow_set)))


def menu_grammars(flow_set: FlowSet) -> list[Grammar]:
    """The speech grammar of every menu of every flow, in each of the flow's languages."""
    grammars = []
    for flow in flow_set.flows():
        for node in flow.nodes.values():
            if isinstance(node, MenuNode) and node.speech:
                grammars += [Grammar(lang, menu_phrases(node, lang)) for lang in flow.languages]
    return [g for g in grammars if g.phrases]
