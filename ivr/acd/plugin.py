"""Builds the ACD: queues/agents from ``dialplan/queues.yaml`` + ``agents.yaml`` + the database,
the hold loop's collaborators, the runtime component and (when enabled) the AMI device feed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter

from ivr.acd.cluster import ClusterLink
from ivr.acd.config import QueueConfig, load_agents, load_queues, with_overrides
from ivr.acd.queuebook import QueueBook
from ivr.acd.routes import acd_service, router
from ivr.acd.runtime import AcdRuntime, AmiDeviceFeed
from ivr.acd.service import AcdService
from ivr.acd.store import AcdStore
from ivr.ami.client import AmiClient
from ivr.db import Database
from ivr.events import EventBus
from ivr.ports import CallbackPort, CallRecorder, DeflectionPort
from ivr.prompts.catalogue import PromptCatalogue
from ivr.settings import ConfigurationError, Settings
from ivr.web.binding import Binding

AcdComponent = AcdRuntime | ClusterLink | AmiDeviceFeed


@dataclass(frozen=True)
class AcdDomain:
    service: AcdService  # the QueueService of the flow engine; the agents' and supervisors' API
    queues: QueueBook
    components: tuple[AcdComponent, ...]
    routers: tuple[APIRouter, ...] = (router,)

    @property
    def bindings(self) -> tuple[Binding[Any], ...]:
        """What this domain's routes are given (:mod:`ivr.web.binding`)."""
        return (Binding(acd_service, self.service),)


def _cluster_link(settings: Settings, db: Database, service: AcdService, owner: str) -> ClusterLink:
    """One contact centre on several nodes: the shared line in PostgreSQL (ivr/acd/cluster.py)."""
    if db.is_sqlite:
        raise ConfigurationError("IVR_ACD__SHARED=true needs PostgreSQL: set IVR_DATABASE_URL=postgresql://... "
                                 "(or IVR_ACD__SHARED=false for one node)")
    link = ClusterLink(service, db.url, owner=owner, lease_seconds=settings.acd.lease_seconds,
                       orphan_grace_seconds=settings.acd.orphan_grace_seconds,
                       rates_refresh_seconds=settings.acd.rates_refresh_seconds)
    service.link = link
    return link


def config_paths(settings: Settings) -> tuple[Path, Path]:
    dialplan = settings.flows_dir.parent  # dialplan/queues.yaml sits beside dialplan/flows/
    return dialplan / "queues.yaml", dialplan / "agents.yaml"


def configured_queues(settings: Settings) -> dict[str, QueueConfig]:
    """``queues.yaml`` with the settings' per-queue overrides applied."""
    queues_path, _ = config_paths(settings)
    return with_overrides(load_queues(queues_path), settings.queues, queues_path)


def build_queue_book(settings: Settings) -> QueueBook:
    """Built first: callback policies and the post-call rating read it, and the ACD applies edits to it."""
    return QueueBook(configured_queues(settings))


def build(settings: Settings, db: Database, bus: EventBus, *, queues: QueueBook, owner: str,
          recorder: CallRecorder, prompts: PromptCatalogue, callbacks: CallbackPort | None,
          deflection: DeflectionPort | None, ami: AmiClient | None) -> AcdDomain:
    _, agents_path = config_paths(settings)
    store = AcdStore(db)
    service = AcdService(queues=queues, agents=load_agents(agents_path), bus=bus, store=store, recorder=recorder,
                         prompts=prompts, callbacks=callbacks, deflection=deflection)

    components: list[AcdComponent] = [AcdRuntime(service, store)]
    if settings.acd.shared:
        # the link is the service's own (it submits through it): set here, before anything runs
        components.append(_cluster_link(settings, db, service, owner))
    if ami is not None:
        components.append(AmiDeviceFeed(service, ami))
    return AcdDomain(service=service, queues=queues, components=tuple(components))
