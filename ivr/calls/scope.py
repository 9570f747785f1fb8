"""What an agent may see: their own work, derived from the call records.

Callbacks, cases and links carry the id of the call they came from, and the call record names the
agent who handled it (``calls.agent_id``). So an agent's work is what came from the calls they
handled, plus callbacks they dialled (``callback_attempts.agent_id``). Supervisors and admins see
everything. The filters are SQL subqueries, so a list is filtered before its ``LIMIT``.

The stores of the domains use this module, and the routes map the signed-in user to a :class:`Scope`
with :func:`scope_of`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, select

from ivr.calls.models import CallRow
from ivr.web.auth import Role, User


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


def scope_of(user: User) -> Scope:
    """The signed-in user's scope: agents see only their own work."""
    if user.role is not Role.AGENT:
        return EVERYTHING
    # An agent user without an agent_id handled no calls: it sees nothing, never everything.
    return Scope(agent_id=user.agent_id or "")
