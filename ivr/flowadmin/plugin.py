from __future__ import annotations

import logging

from ivr.composition import Container
from ivr.flowadmin.provider import PublishedFlowProvider
from ivr.flowadmin.routes import router
from ivr.flowadmin.service import FlowAdminService
from ivr.flowadmin.simulate import Simulator
from ivr.flowadmin.store import FlowVersionStore
from ivr.flows.checking import FlowChecker, limits_of
from ivr.flows.loader import FileFlowProvider
from ivr.flows.validate import References, queue_names

log = logging.getLogger(__name__)


def references(container: Container) -> References:
    services = container.services
    acd = services.get("acd")
    if acd is not None:
        queues = frozenset(acd.queue_names())
    else:
        queues = queue_names(container.settings.flows_dir.parent / "queues.yaml")
    schedules = services.get("schedules")
    return References(
        prompts=services.get("prompts"),
        queues=queues,
        schedules=frozenset(schedules.names()) if schedules is not None else None,
    )


async def wire(container: Container) -> None:
    files = container.services.get("flows")
    engine = container.services.get("engine")
    if not isinstance(files, FileFlowProvider) or engine is None:
        log.warning("flow engine not wired: flow versions disabled")
        return
    store = FlowVersionStore(container.db)
    # Every flow document is read and checked in a worker process (ivr/flows/checking.py).
    checker = FlowChecker(references(container), limits_of(container.settings))
    container.closers.append(checker.aclose)
    provider = PublishedFlowProvider(files, store, checker)
    engine.provider = provider  # new calls now see published versions
    container.services["flows"] = provider
    container.services["flow_admin"] = FlowAdminService(store, provider, checker)
    prompts = container.services.get("prompts")
    if prompts is not None:  # the simulator reads the prompts' texts
        container.services["flow_simulator"] = Simulator(prompts, container.services.get("schedules"),
                                                         container.settings)
    container.components.append(provider)
    container.routers.append(router)
