"""Wires the ACD: queues/agents from ``dialplan/queues.yaml`` + ``agents.yaml`` + the database,
the hold loop's collaborators, the runtime component and (when enabled) the AMI device feed."""

from __future__ import annotations

from pathlib import Path

from ivr.acd.cluster import ClusterLink
from ivr.acd.config import QueueConfig, load_agents, load_queues, with_overrides
from ivr.acd.runtime import AcdRuntime, AmiDeviceFeed
from ivr.acd.service import AcdService
from ivr.acd.store import AcdStore
from ivr.ami.wiring import ami_client
from ivr.composition import Container
from ivr.settings import ConfigurationError, Settings


def _cluster_link(container: Container, service: AcdService) -> ClusterLink:
    """One contact centre on several nodes: the shared line in PostgreSQL (ivr/acd/cluster.py)."""
    if container.db.is_sqlite:
        raise ConfigurationError("IVR_ACD__SHARED=true needs PostgreSQL: set IVR_DATABASE_URL=postgresql://... "
                                 "(or IVR_ACD__SHARED=false for one node)")
    link = ClusterLink(service, container.db.url, owner=container.services["node"].owner,
                       lease_seconds=container.settings.acd.lease_seconds,
                       orphan_grace_seconds=container.settings.acd.orphan_grace_seconds,
                       rates_refresh_seconds=container.settings.acd.rates_refresh_seconds)
    service.link = link
    return link


def config_paths(settings: Settings) -> tuple[Path, Path]:
    dialplan = settings.flows_dir.parent  # dialplan/queues.yaml sits beside dialplan/flows/
    return dialplan / "queues.yaml", dialplan / "agents.yaml"


def configured_queues(settings: Settings) -> dict[str, QueueConfig]:
    """``queues.yaml`` with the settings' per-queue overrides applied."""
    queues_path, _ = config_paths(settings)
    return with_overrides(load_queues(queues_path), settings.queues, queues_path)


async def wire(container: Container) -> None:
    _, agents_path = config_paths(container.settings)
    store = AcdStore(container.db)
    service = AcdService(
        queues=configured_queues(container.settings),
        agents=load_agents(agents_path),
        bus=container.bus,
        store=store,
        recorder=container.services.get("recorder"),
        prompts=container.services.get("prompts"),
        callbacks=container.services.get("callbacks"),
        deflection=container.services.get("deflection"),
    )
    container.services["acd"] = service
    from ivr.acd.routes import router  # the API layer imports api.security; keep it out of the core import path

    container.routers.append(router)
    container.components.append(AcdRuntime(service, store))
    if container.settings.acd.shared:
        container.components.append(_cluster_link(container, service))
    ami = ami_client(container)
    if ami is not None:
        container.components.append(AmiDeviceFeed(service, ami))
