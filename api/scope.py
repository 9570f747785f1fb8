"""The signed-in user's :class:`~ivr.calls.scope.Scope`: agents see only their own work."""

from __future__ import annotations

from api.security import Role, User
from ivr.calls.scope import EVERYTHING, Scope


def scope_of(user: User) -> Scope:
    if user.role is not Role.AGENT:
        return EVERYTHING
    # An agent user without an agent_id handled no calls: it sees nothing, never everything.
    return Scope(agent_id=user.agent_id or "")
