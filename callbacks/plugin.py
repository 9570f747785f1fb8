"""Builds the callbacks domain in two steps, because the ACD sits between them:

- :func:`build_service`: the booking service (``CallbackPort``), which the ACD's hold loop, the flow
  engine and the deflection pages use; it reads queue policies from the shared :class:`QueueBook`;
- :func:`build`: the ``callback`` FastAGI script and the dispatcher, which need the ACD and the
  originator (the AMI client or the built-in SIP endpoint).
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter

from callbacks.dispatcher import CallbackDispatcher
from callbacks.ivr_handler import ScriptDeps, agi_script
from callbacks.origination.ami import AmiOriginator
from callbacks.origination.base import Originator
from callbacks.origination.sip import SipOriginator
from callbacks.routes import callback_service, router
from callbacks.service import CallbackService, PolicyBook
from callbacks.sessions import SessionRegistry
from callbacks.store import CallbackStore
from ivr.acd.queuebook import QueueBook
from ivr.acd.service import AcdService
from ivr.ami.client import AmiClient
from ivr.calls.store import CallStore
from ivr.channels.agi.server import ScriptHandler
from ivr.channels.sip.endpoint import SipEndpoint
from ivr.contact.consent import ConsentLookup
from ivr.db import Database
from ivr.events import EventBus
from ivr.prompts.catalogue import PromptCatalogue
from ivr.schedules.service import ScheduleService
from ivr.settings import Settings
from ivr.web.binding import Binding


@dataclass(frozen=True)
class CallbacksDomain:
    service: CallbackService
    dispatcher: CallbackDispatcher
    script: ScriptHandler  # the ``callback`` FastAGI script (Asterisk's leg of an AMI callback)
    routers: tuple[APIRouter, ...] = (router,)

    @property
    def bindings(self) -> tuple[Binding[object], ...]:
        """What this domain's routes are given (:mod:`ivr.web.binding`)."""
        return (Binding(callback_service, self.service),)

    def components(self, settings: Settings) -> tuple[CallbackDispatcher, ...]:
        return (self.dispatcher,) if settings.callbacks.dispatch else ()


def build_service(settings: Settings, db: Database, bus: EventBus, *, queues: QueueBook, optouts: ConsentLookup,
                  schedules: ScheduleService, history: CallStore) -> CallbackService | None:
    """The booking service, or None when callbacks are off (``IVR_CALLBACKS__ENABLED=false``)."""
    if not settings.callbacks.enabled:
        return None
    return CallbackService(
        CallbackStore(db), bus, settings.callbacks,
        policies=PolicyBook(queues), optouts=optouts, schedules=schedules, history=history,
        languages=settings.languages, default_language=settings.default_language, contact=settings.contact,
    )


def build_originator(settings: Settings, ami: AmiClient | None, sip: SipEndpoint | None) -> Originator:
    cb = settings.callbacks
    use_ami = cb.originator == "ami" or (cb.originator == "auto" and settings.ami.enabled)
    if use_ami:
        return AmiOriginator(ami, context=cb.ami_context, customer_channel=cb.customer_originate,
                             customer_dial=cb.customer_dial)
    return SipOriginator(sip, customer_uri=cb.customer_sip_uri)


def build(settings: Settings, bus: EventBus, service: CallbackService, *, acd: AcdService,
          prompts: PromptCatalogue, recorder: CallStore, ami: AmiClient | None,
          sip: SipEndpoint | None) -> CallbacksDomain:
    sessions = SessionRegistry()
    script = ScriptDeps(bus, prompts=prompts, acd=acd, default_language=settings.default_language, recorder=recorder,
                        languages=tuple(settings.languages))
    originator = build_originator(settings, ami, sip)
    dispatcher = CallbackDispatcher(service, originator=originator, acd=acd,
                                    sessions=sessions, script=script, settings=settings.callbacks)
    return CallbacksDomain(service=service, dispatcher=dispatcher, script=agi_script(sessions, script))
