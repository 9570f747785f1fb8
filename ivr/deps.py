"""Typed FastAPI dependencies: how a route gets a domain's service from the composition root.

Each alias (``Acd``, ``Calls``, ...) names the service a route receives; the function behind it reads
the :class:`~ivr.composition.Container` that ``api.app.create_app`` keeps on the application and
returns one typed attribute of one domain's handle. Jump to the function to see exactly which
object a route is given. (Users, the audit log and the login gate have theirs beside the
authentication code: ``api/security.py``, ``api/auth_routes.py``.)
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from callbacks.service import CallbackService
from ivr.acd.service import AcdService
from ivr.calls.store import CallStore
from ivr.composition import Container
from ivr.flowadmin.service import FlowAdminService
from ivr.flowadmin.simulate import Simulator
from ivr.prompts.catalogue import PromptCatalogue
from ivr.schedules.service import ScheduleService


def container_of(request: Request) -> Container:
    container: Container = request.app.state.container  # set once by api.app.create_app
    return container


def acd_service(request: Request) -> AcdService:
    return container_of(request).acd.service


def call_store(request: Request) -> CallStore:
    return container_of(request).calls.store


def schedule_service(request: Request) -> ScheduleService:
    return container_of(request).config.schedules


def prompt_catalogue(request: Request) -> PromptCatalogue:
    return container_of(request).config.prompts


def flow_admin(request: Request) -> FlowAdminService:
    return container_of(request).flowadmin.service


def flow_simulator(request: Request) -> Simulator:
    return container_of(request).flowadmin.simulator


def callback_service(request: Request) -> CallbackService:
    service = container_of(request).callback_service
    if service is None:  # the callbacks' routes are mounted only when the domain is on
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "callbacks are off (IVR_CALLBACKS__ENABLED)")
    return service


AppContainer = Annotated[Container, Depends(container_of)]
Acd = Annotated[AcdService, Depends(acd_service)]
Calls = Annotated[CallStore, Depends(call_store)]
Schedules = Annotated[ScheduleService, Depends(schedule_service)]
Catalogue = Annotated[PromptCatalogue, Depends(prompt_catalogue)]
FlowAdmin = Annotated[FlowAdminService, Depends(flow_admin)]
FlowSimulator = Annotated[Simulator, Depends(flow_simulator)]
Callbacks = Annotated[CallbackService, Depends(callback_service)]
