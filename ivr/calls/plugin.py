from __future__ import annotations

from ivr.calls.api import router
from ivr.calls.store import CallStore
from ivr.composition import Container


async def wire(container: Container) -> None:
    store = CallStore(container.db, container.bus)
    container.services["call_store"] = store
    container.services["recorder"] = store
    container.services["history"] = store
    container.components.append(store)
    container.closers.append(store.aclose)
    container.routers.append(router)
