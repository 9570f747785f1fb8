"""How a change to the shared line wakes the other nodes: the ``pg_notify`` statements sent with
the change's COMMIT (each offer with its owner node; the agents that changed; that the entries
changed) on :data:`CHANNEL`, and an offer read back from its payload (by :mod:`ivr.acd.pgwake`)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from ivr.acd.line import Offer
from ivr.acd.router import AgentChange
from ivr.acd.types import AgentAssignment

CHANNEL = "puente_acd_line"
MAX_NOTIFY = 7000  # bytes; PostgreSQL refuses payloads of 8000 and more


def _quoted(text: str) -> str:
    """An escape-string literal: read the same whatever the server's standard_conforming_strings."""
    if "\x00" in text:
        raise ValueError("a notification cannot carry NUL")
    return "E'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def _offer_payload(offer: Offer) -> str:
    a = offer.assignment
    return json.dumps({"o": offer.owner, "e": a.entry_id, "a": a.agent_id, "p": a.endpoint, "q": a.queue,
                       "t": a.offered_at.isoformat(), "r": a.arrival_time.isoformat()})


def parse_offer(payload: dict[str, Any]) -> Offer:
    return Offer(AgentAssignment(str(payload["e"]), str(payload["a"]), str(payload["p"]), str(payload["q"]),
                                 datetime.fromisoformat(payload["t"]), datetime.fromisoformat(payload["r"])),
                 str(payload["o"]))


def notify_sql(offers: tuple[Offer, ...], changes: tuple[AgentChange, ...], line_changed: bool) -> str:
    """The statements that notify every node of one change (sent in the batch that commits it)."""
    payloads = [_offer_payload(o) for o in offers]
    if line_changed and not changes:  # (agent changes already make every node look again)
        payloads.append(json.dumps({"line": True}))
    if changes:
        ids = sorted({c.agent_id for c in changes})
        agents = json.dumps({"agents": ids})
        payloads.append(agents if len(agents) < MAX_NOTIFY else json.dumps({"agents": None}))
    return "".join(f"SELECT pg_notify('{CHANNEL}', {_quoted(p)}); " for p in payloads)

