"""Call records written straight into the ``calls`` table: who handled which call (the agent
least-privilege checks derive an agent's work from them)."""

from __future__ import annotations

from ivr.calls.models import CallRow
from ivr.db import Database, utcnow


async def record_call(db: Database, call_id: str, *, agent_id: str | None, caller: str = "+34600111222",
                      queue: str | None = "support") -> None:
    async with db.session() as s:
        s.add(CallRow(call_id=call_id, caller=caller, dialled="900100200", backend="agi", flow="support",
                      language="es", started_at=utcnow(), ended_at=utcnow(), disposition="connected",
                      queue=queue, agent_id=agent_id))
