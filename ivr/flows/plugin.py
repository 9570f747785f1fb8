"""Builds the flow engine from the ports of the domains it calls (ivr/ports.py): the recorder, the
ACD, callbacks (None when off: the flow falls back, e.g. to the dialplan's queue), deflection and
the call history, and from the flow provider (published versions over dialplan/flows/).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ivr.channel import Grammar
from ivr.flows.engine import FlowEngine
from ivr.flows.loader import FileFlowProvider, FlowProvider, FlowSet
from ivr.flows.lookup import LookupKind, build_lookup, lookup_kind
from ivr.flows.protocols import ScheduleLookup
from ivr.flows.schema import MenuNode
from ivr.ports import (
    CallbackPort,
    CallHistory,
    CallRecorder,
    DeflectionPort,
    QueueService,
    Services,
)
from ivr.prompts.catalogue import PromptCatalogue
from ivr.settings import Settings
from ivr.speech.factory import SpeechEngines
from ivr.speech.vocabulary import VocabularyCheck

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FlowsDomain:
    engine: FlowEngine  # runs every call, from the FastAGI server and the SIP endpoint
    components: tuple[VocabularyCheck, ...]


def build(settings: Settings, *, provider: FlowProvider, files: FileFlowProvider, recorder: CallRecorder,
          queues: QueueService | None, callbacks: CallbackPort | None, deflection: DeflectionPort | None,
          history: CallHistory | None, prompts: PromptCatalogue, schedules: ScheduleLookup | None,
          speech: SpeechEngines) -> FlowsDomain:
    """``None`` for a port switches that feature off: the flow falls back (e.g. to the dialplan's queue)."""
    services = Services(recorder=recorder, queues=queues, callbacks=callbacks, deflection=deflection,
                        history=history)
    engine = FlowEngine(provider, services, prompts, schedules, settings=settings,
                        lookup=build_lookup(settings.order_lookup_url, demo=settings.order_lookup_demo))
    log.info("flow engine wired", extra={
        "flows": files.flow_set.names(),
        "queues": services.queues is not None,
        "callbacks": services.callbacks is not None,
        "deflection": services.deflection is not None,
    })
    _log_lookup(settings)
    checks = (VocabularyCheck(speech, menu_grammars(files.flow_set)),) if settings.speech.enabled else ()
    return FlowsDomain(engine=engine, components=checks)


def _log_lookup(settings: Settings) -> None:
    kind = lookup_kind(settings.order_lookup_url, settings.order_lookup_demo)
    if kind is LookupKind.OFF:
        log.info("order lookup off: callers asking for an order's status are offered an agent "
                 "(set IVR_ORDER_LOOKUP_URL, or IVR_ORDER_LOOKUP_DEMO=true for the demo table)")
    elif kind is LookupKind.DEMO:
        log.warning("order lookup answers from the DEMO table of made-up orders (IVR_ORDER_LOOKUP_DEMO); "
                    "set IVR_ORDER_LOOKUP_URL for real orders")
    else:
        log.info("order lookup over HTTP (IVR_ORDER_LOOKUP_URL)")


def menu_grammars(flow_set: FlowSet) -> list[Grammar]:
    """The speech grammar of every menu of every flow, in each of the flow's languages."""
    grammars = []
    for flow in flow_set.flows():
        for node in flow.nodes.values():
            if isinstance(node, MenuNode) and node.speech:
                grammars += [Grammar(lang, node.phrases(lang)) for lang in flow.languages]
    return [g for g in grammars if g.phrases]
