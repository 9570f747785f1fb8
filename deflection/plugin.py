"""Builds the deflection domain: providers, the service (``DeflectionPort``), pages, webhooks, the
staff API and the post-call rating component. The opt-out registry is built by the root before it:
callbacks ask it too."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import httpx
from fastapi import APIRouter
from prometheus_client import CollectorRegistry

from deflection.admin_routes import admin_router
from deflection.aftercall import PostCallRating, QueueConfigs
from deflection.booking import PageCallbacks
from deflection.case_routes import case_router
from deflection.cases import CaseStore
from deflection.history import CallbackFinder, CustomerHistory
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
from deflection.records import CallLookup, CallsForNumber
from deflection.replies import CaseReplies
from deflection.routes import api_router
from deflection.service import DeflectionService
from deflection.slots import ScheduleLookup
from deflection.templates import TemplateBook
from deflection.webhooks import webhook_router
from ivr.db import Database
from ivr.events import EventBus
from ivr.ports import MessageChannel
from ivr.settings import DeflectionSettings, Settings

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


@dataclass(frozen=True)
class DeflectionDomain:
    service: DeflectionService  # the DeflectionPort the flow engine and the hold loop use
    cases: CaseStore
    ratings: RatingStore
    history: CustomerHistory  # the agents' screen pop
    rating: PostCallRating
    client: httpx.AsyncClient  # the providers' HTTP client, closed at shutdown
    routers: tuple[APIRouter, ...]

    @property
    def components(self) -> tuple[PostCallRating]:
        return (self.rating,)

    async def aclose(self) -> None:
        await self.client.aclose()


class DeflectionCalls(CallsForNumber, CallLookup, Protocol):
    """What deflection reads of the calls (``ivr.calls.store.CallStore``)."""


class DeflectionCallbacks(PageCallbacks, CallbackFinder, Protocol):
    """What deflection uses of callbacks (``callbacks.service.CallbackService``)."""


def build(settings: Settings, db: Database, bus: EventBus, *, registry: CollectorRegistry, optouts: OptOutRegistry,
          calls: DeflectionCalls, schedules: ScheduleLookup, callbacks: DeflectionCallbacks | None,
          queues: QueueConfigs) -> DeflectionDomain:
    """Built after the callbacks' booking service and before the ACD, which offers links on hold."""
    ds = settings.deflection
    client = httpx.AsyncClient(timeout=PROVIDER_TIMEOUT, follow_redirects=False)
    templates = TemplateBook(db)
    service = DeflectionService(
        links=LinkStore(db), messages=MessageStore(db), optouts=optouts,
        providers=build_providers(ds, client), settings=ds, public_base_url=settings.http.public_base_url,
        bus=bus, metrics=DeflectionMetrics(registry), templates=templates, contact=settings.contact,
    )
    cases, ratings = CaseStore(db), RatingStore(db)
    history = CustomerHistory(links=service.links, messages=service.messages, cases=cases, ratings=ratings,
                              calls=calls, callbacks=callbacks)
    inbound = InboundHandler(service, region=settings.contact.default_region)
    deps = PageDeps(service=service, cases=cases, ratings=ratings, settings=ds,
                    views=SlidingWindowLimiter(ds.open_rate_limit_per_minute),
                    misses=SlidingWindowLimiter(ds.miss_rate_limit_per_minute),
                    schedules=schedules, callbacks=callbacks, calls=calls)
    routers = (
        admin_router(templates, ds),  # before api_router: /deflections/{link_id} would shadow it
        page_router(deps),
        webhook_router(service, inbound, ds, settings.http.public_base_url),
        case_router(cases, CaseReplies(service, cases, ds)),  # before api_router, likewise
        api_router(service, cases, ratings, history, settings.contact.default_region),
    )
    rating = PostCallRating(service, bus, ds, queues=queues, calls=calls)
    return DeflectionDomain(service=service, cases=cases, ratings=ratings, history=history, rating=rating,
                            client=client, routers=routers)
