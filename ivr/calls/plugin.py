from __future__ import annotations

from ivr.calls.api import router
from ivr.calls.store import CallStore
from ivr.composition import Container


async def wire(container: Container) -> None:
    node = container.services.get("node")  # ivr.nodes, wired first
    store = CallStore(container.db, container.bus, owner=node.owner if node is not None else None)
    container.services["call_store"] = store
    container.services["recorder"] = store
    container.services["history"] = store
    container.components.append(store)
    container.closers.append(store.aclose)
    container.routers.append(router)
