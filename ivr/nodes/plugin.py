from __future__ import annotations

from dataclasses import dataclass

from ivr.db import Database
from ivr.events import EventBus
from ivr.nodes.service import NodeHeartbeat, NodeIdentity, NodeStore
from ivr.settings import Settings


@dataclass(frozen=True)
class NodesDomain:
    identity: NodeIdentity  # this process; its ``owner`` marks the calls and leases it holds
    heartbeat: NodeHeartbeat


def build(settings: Settings, db: Database, bus: EventBus) -> NodesDomain:
    me = NodeIdentity.new(settings.node.id)
    return NodesDomain(identity=me, heartbeat=NodeHeartbeat(NodeStore(db), me, bus, settings.node))
