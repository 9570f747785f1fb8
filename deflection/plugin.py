"""Wires the deflection domain: providers, the service (``DeflectionPort``), opt-outs, pages,
webhooks, the staff API and the post-call rating component."""

from __future__ import annotations

import httpx

from deflection.admin_routes import admin_router
from deflection.aftercall import PostCallRating
from deflection.case_routes import case_router
from deflection.cases import CaseStore
from deflection.history import CustomerHistory
from deflection.inbound import InboundHandler
from deflection.links import LinkStore
from deflection.messages import MessageStore
from deflection.metrics import DeflectionMetrics
from deflection.optout import OptOutRegistry
from deflection.pages import PageDeps, page_router
from deflection.providers.base import MessageProvider
from deflection.providers.meta import MetaWhatsApp
from deflection.providers.outbox import OutboxProvider
from deflection.providers.twilio import TwilioSms
from deflection.ratelimit import SlidingWindowLimiter
from deflection.ratings import RatingStore
from deflection.replies import CaseReplies
from deflection.routes import api_router
from deflection.service import DeflectionService
from deflection.templates import TemplateBook
from deflection.webhooks import webhook_router
from ivr.composition import Container
from ivr.ports import MessageChannel
from ivr.settings import DeflectionSettings

PROVIDER_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


def build_providers(settings: DeflectionSettings, client: httpx.AsyncClient) -> dict[MessageChannel, MessageProvider]:
    providers: dict[MessageChannel, MessageProvider] = {}
    if settings.provider_whatsapp == "meta":
        providers[MessageChannel.WHATSAPP] = MetaWhatsApp(
            client, base_url=settings.meta_base_url, phone_number_id=settings.meta_phone_number_id,
            access_token=settings.meta_access_token)
    elif settings.provider_whatsapp == "outbox":
        providers[MessageChannel.WHATSAPP] = OutboxProvider(MessageChannel.WHATSAPP)
    if settings.provider_sms == "twilio":
        providers[MessageChannel.SMS] = TwilioSms(
            client, base_url=settings.twilio_base_url, account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token, sender=settings.twilio_from)
    else:
        providers[MessageChannel.SMS] = OutboxProvider(MessageChannel.SMS)
    return providers


async def wire(container: Container) -> None:
    settings = container.settings
    ds = settings.deflection
    services = container.services
    client = httpx.AsyncClient(timeout=PROVIDER_TIMEOUT, follow_redirects=False)
    container.closers.append(client.aclose)
    metrics = DeflectionMetrics(services.get("metrics_registry"))
    optouts = OptOutRegistry(container.db, region=settings.contact.default_region)
    templates = TemplateBook(container.db)
    service = DeflectionService(
        links=LinkStore(container.db), messages=MessageStore(container.db), optouts=optouts,
        providers=build_providers(ds, client), settings=ds, public_base_url=settings.http.public_base_url,
        bus=container.bus, metrics=metrics, templates=templates, contact=settings.contact,
    )
    cases, ratings = CaseStore(container.db), RatingStore(container.db)
    history = CustomerHistory(links=service.links, messages=service.messages, cases=cases, ratings=ratings,
                              calls=lambda: services.get("call_store"), callbacks=lambda: services.get("callbacks"))
    services["deflection"] = service
    services["optouts"] = optouts
    services["deflection_cases"] = cases
    services["customer_history"] = history
    inbound = InboundHandler(service, region=settings.contact.default_region)
    # Callbacks and the ACD are wired after this domain: look them up when needed.
    deps = PageDeps(service=service, cases=cases, ratings=ratings, settings=ds,
                    views=SlidingWindowLimiter(ds.open_rate_limit_per_minute),
                    misses=SlidingWindowLimiter(ds.miss_rate_limit_per_minute),
                    schedules=lambda: services.get("schedules"), callbacks=lambda: services.get("callbacks"),
                    calls=lambda: services.get("call_store"))
    container.routers.extend([
        admin_router(templates, ds),  # before api_router: /deflections/{link_id} would shadow it
        page_router(deps),
        webhook_router(service, inbound, ds, settings.http.public_base_url),
        case_router(cases, CaseReplies(service, cases, ds)),  # before api_router, likewise
        api_router(service, cases, ratings, history, settings.contact.default_region),
    ])
    rating = PostCallRating(service, container.bus, ds, queues=lambda: services.get("acd"),
                            calls=lambda: services.get("call_store"))
    services["deflection_rating"] = rating
    container.components.append(rating)
