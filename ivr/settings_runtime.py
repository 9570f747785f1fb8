"""Settings of the running server: this process as a node (``IVR_NODE__*``), the ACD across nodes
(``IVR_ACD__*``), flows' limits (``IVR_FLOWS__*``), restarts and loop-lag monitoring
(``IVR_SUPERVISION__*``) and the MQTT event export (``IVR_MQTT__*``); sections of
:class:`ivr.settings.Settings`."""

from __future__ import annotations

from pydantic import BaseModel, Field


class MqttSettings(BaseModel):
    url: str | None = None  # e.g. mqtt://127.0.0.1:1883
    site: str = "default"
    buffer_size: int = 10_000
    reconnect_max_delay: float = 30.0


class NodeSettings(BaseModel):
    """This process as one node of the contact centre (see ivr/nodes)."""

    id: str = ""  # empty: the host name. Unique per running process: two processes never share one
    heartbeat_seconds: float = Field(default=5.0, gt=0)  # how often last_seen is written
    # Another node whose heartbeat is older than this is dead: its open calls are closed.
    stale_after_seconds: float = Field(default=30.0, gt=0)


class AcdSettings(BaseModel):
    """The ACD across nodes (docs/architecture.md "Several nodes")."""

    # true: this node's queues, agents and offers are the shared line in PostgreSQL, with every other
    # node that says true on the same database (one contact centre). Needs PostgreSQL.
    shared: bool = False
    # A node that stops renewing (killed) loses its callers' places and its agents' offers after this.
    lease_seconds: float = Field(default=6.0, ge=1.0, le=10.0)
    # A dead node's callers are out of line after the lease but keep their place (arrival, priority)
    # this long: the dialplan sends them to another node, which puts them back where they were.
    orphan_grace_seconds: float = Field(default=600.0, ge=0.0, le=86_400.0)
    # Shared mode: how often each node re-reads the EWT's rates from the shared contacts.
    rates_refresh_seconds: float = Field(default=1.0, gt=0.0, le=60.0)


class FlowSettings(BaseModel):
    """Limits on flow documents (see ivr/flows/yamlload.py) and on a call's time in the IVR."""

    max_bytes: int = Field(default=256 * 1024, ge=1024, le=500_000)  # requests carry at most 512,000 characters
    max_depth: int = Field(default=24, ge=8, le=200)
    max_values: int = Field(default=40_000, ge=100, le=1_000_000)  # YAML scalars + collections
    max_nodes: int = Field(default=1_000, ge=10, le=20_000)  # flow nodes
    validate_seconds: float = Field(default=5.0, gt=0, le=120)  # one document, in a worker process
    # A call that has spent this long in menus (time queued or talking to an agent excluded) hears
    # the goodbye prompt and is ended (disposition time_limit).
    # A flow may set its own `max_ivr_seconds`.
    max_ivr_seconds: float = Field(default=900.0, ge=30, le=4 * 3600)


class SupervisionSettings(BaseModel):
    # A component of `ivr serve` that fails after it started is restarted after a jittered delay
    # that doubles from the base with each consecutive failure, up to the cap.
    restart_base_delay: float = Field(default=0.5, gt=0)
    restart_max_delay: float = Field(default=30.0, gt=0)
    # How often the event-loop lag monitor asks the loop to run a callback on time.
    loop_lag_interval: float = Field(default=0.1, gt=0)
