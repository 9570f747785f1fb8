"""Wiring: ``services["callbacks"]`` (the CallbackPort), the ``callback`` FastAGI script, the
dispatcher Component and the API router. The ACD, the SIP endpoint and the AMI client are wired
after this domain, so they are looked up when used."""

from __future__ import annotations

from typing import Any

from callbacks.dispatcher import CallbackDispatcher
from callbacks.ivr_handler import ScriptDeps, agi_script
from callbacks.origination.ami import AmiOriginator
from callbacks.origination.base import Originator
from callbacks.origination.sip import SipOriginator
from callbacks.routes import router
from callbacks.service import CallbackService, PolicyBook
from callbacks.sessions import SessionRegistry
from callbacks.store import CallbackStore
from ivr.ami.wiring import ami_client
from ivr.composition import Container


def build_originator(container: Container) -> Originator:
    settings = container.settings
    cb = settings.callbacks
    services = container.services
    use_ami = cb.originator == "ami" or (cb.originator == "auto" and settings.ami.enabled)
    if use_ami:
        client = ami_client(container)
        return AmiOriginator(lambda: client, context=cb.ami_context, customer_channel=cb.customer_originate,
                             customer_dial=cb.customer_dial)
    return SipOriginator(lambda: services.get("sip"), customer_uri=cb.customer_sip_uri)


async def wire(container: Container) -> None:
    settings = container.settings
    if not settings.callbacks.enabled:
        return
    services = container.services

    def service_named(name: str) -> Any:
        return services.get(name)

    service = CallbackService(
        CallbackStore(container.db), container.bus, settings.callbacks,
        policies=PolicyBook(lambda: service_named("acd")),
        optouts=lambda: service_named("optouts"),
        schedules=lambda: service_named("schedules"),
        history=lambda: service_named("call_store"),
        languages=settings.languages, default_language=settings.default_language, contact=settings.contact,
    )
    services["callbacks"] = service
    sessions = SessionRegistry()
    script = ScriptDeps(container.bus, prompts=lambda: service_named("prompts"), acd=lambda: service_named("acd"),
                        default_language=settings.default_language, recorder=lambda: service_named("recorder"),
                        languages=tuple(settings.languages))
    services.setdefault("agi_scripts", {})["callback"] = agi_script(sessions, script)
    originator = build_originator(container)
    dispatcher = CallbackDispatcher(service, originator=lambda: originator, acd=lambda: service_named("acd"),
                                    sessions=sessions, script=script, settings=settings.callbacks)
    services["callbacks_dispatcher"] = dispatcher
    if settings.callbacks.dispatch:
        container.components.append(dispatcher)
    container.routers.append(router)
