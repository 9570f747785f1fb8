"""The composition root: builds every domain from one :class:`Settings`, in dependency order.

Each domain's ``plugin.build`` takes what it needs as explicit, typed arguments (the settings, the
database, the event bus, and the services or ports of the domains built before it) and returns a
small frozen handle (``CallsDomain``, ``AcdDomain``, ...). No domain reaches one built after it: where
two domains use each other, the lower one defines a port (``ivr/ports.py``) or owns a shared piece
(the ACD's :class:`~ivr.acd.queuebook.QueueBook`) that is built first and handed to both.

The order, and why:

1. observability, nodes, calls, config (schedules, prompts), speech: they need nothing above them;
2. the AMI client (one per server: the ACD's device feed and callbacks' Originate share it), the
   queue book and the opt-out registry (read by callbacks and deflection alike);
3. the callbacks' booking service, then deflection (its pages book callbacks), then the ACD (its hold
   loop offers both);
4. flow versions, then the flow engine (it reads new calls' flows from the published provider);
5. the SIP endpoint and callbacks' dispatcher (which may originate through it), then FastAGI (which
   runs the callbacks' script);
6. the web domain (users, audit, login). ``ivr serve`` adds the HTTP server (:func:`server_components`),
   which serves the app made from the whole container.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ivr.db import Database
from ivr.events import EventBus
from ivr.settings import Settings
from ivr.web.binding import Binding

if TYPE_CHECKING:
    from fastapi import APIRouter

    from api.plugin import WebDomain
    from callbacks.plugin import CallbacksDomain
    from callbacks.service import CallbackService
    from deflection.optout import OptOutRegistry
    from deflection.plugin import DeflectionDomain
    from ivr.acd.plugin import AcdDomain
    from ivr.ami.client import AmiClient
    from ivr.calls.plugin import CallsDomain
    from ivr.channels.agi.plugin import AgiDomain
    from ivr.channels.sip.plugin import SipDomain
    from ivr.config.plugin import ConfigDomain
    from ivr.flowadmin.plugin import FlowAdminDomain
    from ivr.flows.plugin import FlowsDomain
    from ivr.nodes.plugin import NodesDomain
    from ivr.observability.plugin import ObservabilityDomain
    from ivr.speech.plugin import SpeechDomain


class Component(Protocol):
    """A long-running part of the server (an AGI listener, the SIP endpoint, a dispatcher)."""

    name: str

    async def run(self, started: asyncio.Event) -> None:
        """Run until cancelled; set ``started`` once accepting work.

        A run that fails (raises, or returns) after setting ``started`` is run again by the server's
        supervisor (``ivr/supervision.py``) with a fresh event: whatever must outlive one run (buffers,
        live state) belongs to the object, and each run sets up and tears down only its own resources.
        Cancellation is the shutdown: drain, then return."""
        ...


Closer = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class Container:
    """Every domain's handle. ``components`` run in their order under ``ivr serve`` (stopped in
    reverse); ``routers`` are mounted by ``api.app``; ``closers`` run in reverse at shutdown."""

    settings: Settings
    db: Database
    bus: EventBus
    observability: ObservabilityDomain
    nodes: NodesDomain
    calls: CallsDomain
    config: ConfigDomain
    speech: SpeechDomain
    ami: AmiClient | None  # None: IVR_AMI__ENABLED=false
    optouts: OptOutRegistry
    deflection: DeflectionDomain
    acd: AcdDomain
    flowadmin: FlowAdminDomain
    flows: FlowsDomain
    sip: SipDomain | None  # None: IVR_SIP__ENABLED=false
    callbacks: CallbacksDomain | None  # None: IVR_CALLBACKS__ENABLED=false
    agi: AgiDomain | None  # None: IVR_AGI__ENABLED=false
    web: WebDomain

    @property
    def callback_service(self) -> CallbackService | None:
        return self.callbacks.service if self.callbacks is not None else None

    @property
    def components(self) -> tuple[Component, ...]:
        """Start order: what others use runs first (the recorder before the calls that record into it)."""
        found: list[Component] = [*self.observability.components, self.nodes.heartbeat, self.calls.store,
                                  *self.speech.components, *self.deflection.components]
        if self.ami is not None:
            found.append(self.ami)
        if self.callbacks is not None:
            found += self.callbacks.components(self.settings)
        found += [*self.acd.components, *self.flows.components, *self.flowadmin.components]
        if self.agi is not None:
            found += self.agi.components
        if self.sip is not None:
            found.append(self.sip.endpoint)
        return tuple(found)

    @property
    def routers(self) -> tuple[APIRouter, ...]:
        callbacks = self.callbacks.routers if self.callbacks is not None else ()
        return (*self.calls.routers, *self.config.routers, *self.deflection.routers,
                *callbacks, *self.acd.routers, *self.flowadmin.routers, *self.web.routers)

    @property
    def bindings(self) -> tuple[Binding[object], ...]:
        """The services the domains' routes are given (``api.app`` applies them: :mod:`ivr.web.binding`)."""
        callbacks = self.callbacks.bindings if self.callbacks is not None else ()
        return (*self.calls.bindings, *self.config.bindings, *callbacks, *self.acd.bindings, *self.flowadmin.bindings)

    @property
    def closers(self) -> tuple[Closer, ...]:
        return (self.nodes.heartbeat.aclose, self.calls.store.aclose, self.speech.engines.aclose,
                self.deflection.aclose, self.flowadmin.checker.aclose, self.web.aclose)

    async def aclose(self) -> None:
        for closer in reversed(self.closers):
            await closer()
        await self.db.dispose()


async def build_container(settings: Settings, *, db: Database | None = None) -> Container:
    """Build everything. Connection-owning services connect in their ``run``, not here."""
    from api import plugin as web_plugin
    from callbacks import plugin as callbacks_plugin
    from deflection import plugin as deflection_plugin
    from deflection.optout import OptOutRegistry
    from ivr.acd import plugin as acd_plugin
    from ivr.ami.client import AmiClient
    from ivr.calls import plugin as calls_plugin
    from ivr.channels.agi import plugin as agi_plugin
    from ivr.channels.sip import plugin as sip_plugin
    from ivr.config import plugin as config_plugin
    from ivr.flowadmin import plugin as flowadmin_plugin
    from ivr.flows import plugin as flows_plugin
    from ivr.nodes import plugin as nodes_plugin
    from ivr.observability import plugin as observability_plugin
    from ivr.speech import plugin as speech_plugin

    db = db or Database(settings.effective_database_url)
    bus = EventBus()
    observability = observability_plugin.build(settings, bus)
    registry = observability.metrics.registry
    nodes = nodes_plugin.build(settings, db, bus)
    calls = calls_plugin.build(db, bus, owner=nodes.identity.owner)
    config = config_plugin.build(settings, db)
    speech = speech_plugin.build(settings, registry)

    ami = AmiClient(settings.ami) if settings.ami.enabled else None
    queues = acd_plugin.build_queue_book(settings)
    optouts = OptOutRegistry(db, region=settings.contact.default_region)

    booking = callbacks_plugin.build_service(settings, db, bus, queues=queues, optouts=optouts,
                                             schedules=config.schedules, history=calls.store)
    deflection = deflection_plugin.build(settings, db, bus, registry=registry, optouts=optouts, calls=calls.store,
                                         schedules=config.schedules, callbacks=booking, queues=queues)
    acd = acd_plugin.build(settings, db, bus, queues=queues, owner=nodes.identity.owner, recorder=calls.store,
                           prompts=config.prompts, callbacks=booking, deflection=deflection.service, ami=ami)

    flowadmin = flowadmin_plugin.build(settings, db, queue_names=frozenset(queues.queue_names()),
                                       schedules=config.schedules, prompts=config.prompts)
    flows = flows_plugin.build(settings, provider=flowadmin.provider, files=flowadmin.files, recorder=calls.store,
                               queues=acd.service, callbacks=booking, deflection=deflection.service,
                               history=calls.store, prompts=config.prompts, schedules=config.schedules,
                               speech=speech.engines)

    sip = sip_plugin.build(settings, engine=flows.engine, prompts=config.prompts, speech=speech.engines,
                           registry=registry)
    callbacks = None if booking is None else callbacks_plugin.build(
        settings, bus, booking, acd=acd.service, prompts=config.prompts, recorder=calls.store, ami=ami,
        sip=sip.endpoint if sip is not None else None)
    scripts = {"callback": callbacks.script} if callbacks is not None else {}
    agi = agi_plugin.build(settings, bus, engine=flows.engine, scripts=scripts, speech=speech, registry=registry,
                          ami=ami)
    web = await web_plugin.build(settings, db, registry=registry)

    return Container(
        settings=settings, db=db, bus=bus, observability=observability, nodes=nodes, calls=calls, config=config,
        speech=speech, ami=ami, optouts=optouts, deflection=deflection, acd=acd, flowadmin=flowadmin, flows=flows,
        sip=sip, callbacks=callbacks, agi=agi, web=web,
    )


def server_components(container: Container) -> tuple[Component, ...]:
    """What ``ivr serve`` runs: the container's components, then the HTTP server (the app is made from
    the whole container, so it comes last)."""
    from api.plugin import HttpServer

    return (*container.components, HttpServer(container))
