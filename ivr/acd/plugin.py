"""Builds the ACD: queues/agents from ``dialplan/queues.yaml`` + ``agents.yaml`` + the database,
the hold loop's collaborators, the runtime component and (when enabled) the AMI device feed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter

from ivr.acd.cluster import ClusterLink, LineOutbox
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
    def bindings(self) -> tuple[Binding[AcdService], ...]:
        """What this domain's routes are given (:mod:`ivr.web.binding`)."""
        return (Binding(acd_service, self.service),)


def _cluster_link(settings: Settings, db: Database, service: AcdService, outbox: LineOutbox) -> ClusterLink:
    """One contact centre on several nodes: the shared line in PostgreSQL (ivr/acd/cluster.py)."""
    return ClusterLink(service, outbox, db.url, lease_seconds=settings.acd.lease_seconds,
                       orphan_grace_seconds=settings.acd.orphan_grace_seconds,
                       rates_refresh_seconds=settings.acd.rates_refresh_seconds)


def _line_outbox(settings: Settings, db: Database, owner: str) -> LineOutbox | None:
    """Shared mode (``IVR_ACD__SHARED``): where the service submits its changes, built before it."""
    if not settings.acd.shared:
        return None
    if db.is_sqlite:
        raise ConfigurationError("IVR_ACD__SHARED=true needs PostgreSQL: set IVR_DATABASE_URL=postgresql://... "
                                 "(or IVR_ACD__SHARED=false for one node)")
    return LineOutbox(owner)


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
    # Shared mode: the outbox first (the service submits through it), then the service, then the link
    # that drains the outbox into the shared line and tells the service what it decided.
    outbox = _line_outbox(settings, db, owner)
    service = AcdService(queues=queues, agents=load_agents(agents_path), bus=bus, store=store, recorder=recorder,
                         prompts=prompts, callbacks=callbacks, deflection=deflection, link=outbox)

    components: list[AcdComponent] = [AcdRuntime(service, store)]
    if outbox is not None:
        components.append(_cluster_link(settings, db, service, outbox))
    if ami is not None:
        components.append(AmiDeviceFeed(service, ami))
    return AcdDomain(service=service, queues=queues, components=tuple(components))
