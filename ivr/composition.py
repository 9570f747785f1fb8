"""The composition root: builds every domain's services from one :class:`Settings` and wires them.

Nothing else constructs services. Each domain contributes in its own marked section below; a
section builds that domain's objects from what earlier sections built and appends long-running
:class:`Component` values (servers, dispatchers) that ``ivr serve`` runs in one TaskGroup, each
under a supervisor that restarts it if it fails after starting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ivr.db import Database
from ivr.events import EventBus
from ivr.settings import Settings


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


@dataclass
class Container:
    settings: Settings
    db: Database
    bus: EventBus
    services: dict[str, Any] = field(default_factory=dict)
    components: list[Component] = field(default_factory=list)
    # FastAPI routers contributed by domains; api.app mounts them all.
    routers: list[Any] = field(default_factory=list)
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def get(self, name: str) -> Any:
        return self.services[name]

    async def aclose(self) -> None:
        for closer in reversed(self.closers):
            await closer()
        await self.db.dispose()


async def build_container(settings: Settings, *, db: Database | None = None) -> Container:
    """Build everything. Connection-owning services connect in their ``run``, not here."""
    container = Container(
        settings=settings,
        db=db or Database(settings.effective_database_url),
        bus=EventBus(),
    )
    for wire in wiring():
        await wire(container)
    return container


# --------------------------------------------------------------------------- domain wiring
# Each entry is "module:function"; the function takes the container and registers services and
# components. Order matters: later domains may use earlier ones' services.
WIRING_TARGETS: tuple[str, ...] = (
    "ivr.observability.plugin:wire",
    "ivr.nodes.plugin:wire",
    "ivr.calls.plugin:wire",
    "ivr.config.plugin:wire",
    "ivr.speech.plugin:wire",
    "deflection.plugin:wire",
    "callbacks.plugin:wire",
    "ivr.acd.plugin:wire",
    "ivr.flows.plugin:wire",
    "ivr.flowadmin.plugin:wire",
    "ivr.channels.agi.plugin:wire",
    "ivr.channels.sip.plugin:wire",
    "api.plugin:wire",
)


def _load(target: str) -> Callable[[Container], Awaitable[None]]:
    import importlib

    module_name, attr = target.split(":")
    func: Callable[[Container], Awaitable[None]] = getattr(importlib.import_module(module_name), attr)
    return func


def wiring() -> list[Callable[[Container], Awaitable[None]]]:
    """Every domain's ``wire``, in order (imported here, not at module import time)."""
    return [_load(t) for t in WIRING_TARGETS]
