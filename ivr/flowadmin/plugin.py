"""Builds flow versions: the published-flow provider (what the engine reads each new call's flow
from), the admin service, the checker and the simulator. Built before the engine, which is handed
the provider at construction."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter

from ivr.db import Database
from ivr.flowadmin.provider import PublishedFlowProvider
from ivr.flowadmin.routes import flow_admin, router
from ivr.flowadmin.service import FlowAdminService
from ivr.flowadmin.simulate import Simulator
from ivr.flowadmin.store import FlowVersionStore
from ivr.flows.checking import FlowChecker, limits_of
from ivr.flows.loader import FileFlowProvider
from ivr.flows.validate import References
from ivr.prompts.catalogue import PromptCatalogue
from ivr.schedules.service import ScheduleService
from ivr.settings import Settings
from ivr.web.binding import Binding


@dataclass(frozen=True)
class FlowAdminDomain:
    files: FileFlowProvider  # the flows in dialplan/flows/, read at start-up
    provider: PublishedFlowProvider  # published versions over the files: new calls see them at once
    service: FlowAdminService
    simulator: Simulator
    checker: FlowChecker  # checks documents in a worker process; closed at shutdown
    routers: tuple[APIRouter, ...] = (router,)

    @property
    def bindings(self) -> tuple[Binding[object], ...]:
        """What this domain's routes are given (:mod:`ivr.web.binding`)."""
        return (Binding(flow_admin, self.service),)

    @property
    def components(self) -> tuple[PublishedFlowProvider]:
        return (self.provider,)


def build(settings: Settings, db: Database, *, queue_names: frozenset[str], schedules: ScheduleService,
          prompts: PromptCatalogue) -> FlowAdminDomain:
    files = FileFlowProvider(settings.flows_dir, limits_of(settings))  # at start-up, before calls
    store = FlowVersionStore(db)
    # Every flow document is read and checked in a worker process (ivr/flows/checking.py).
    references = References(prompts=prompts, queues=queue_names, schedules=frozenset(schedules.names()))
    checker = FlowChecker(references, limits_of(settings))
    provider = PublishedFlowProvider(files, store, checker)
    return FlowAdminDomain(files=files, provider=provider, service=FlowAdminService(store, provider, checker),
                           simulator=Simulator(prompts, schedules, settings), checker=checker)
