from __future__ import annotations

from ivr.composition import Container
from ivr.nodes.service import NodeHeartbeat, NodeIdentity, NodeStore


async def wire(container: Container) -> None:
    me = NodeIdentity.new(container.settings.node.id)
    heartbeat = NodeHeartbeat(NodeStore(container.db), me, container.bus, container.settings.node)
    container.services["node"] = me
    container.services["node_heartbeat"] = heartbeat
    container.components.append(heartbeat)
    container.closers.append(heartbeat.aclose)
