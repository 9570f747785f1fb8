"""What an agent may see: their own work, derived from the call records.

Callbacks, cases and links carry the id of the call they came from, and the call record names the
agent who handled it (``calls.agent_id``). So an agent's work is what came from the calls they
handled, plus callbacks they dialled (``callback_attempts.agent_id``). Supervisors and admins see
everything. The filters are SQL subqueries, so a list is filtered before its ``LIMIT``.

The stores of the domains use this module; the web layer maps a signed-in user to a :class:`Scope`
(``api/scope.py``), so no store depends on the web layer.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, select

from ivr.calls.models import CallRow


@dataclass(frozen=True, slots=True)
class Scope:
    """``agent_id`` None: everything; otherwise only that agent's own work."""

    agent_id: str | None = None

    @property
    def everything(self) -> bool:
        return self.agent_id is None


EVERYTHING = Scope()


def handled_calls(agent_id: str) -> Select[str]:
    """The ids of the calls the agent handled (a subquery for ``column.in_(...)``)."""
    return select(CallRow.call_id).where(CallRow.agent_id == agent_id)
