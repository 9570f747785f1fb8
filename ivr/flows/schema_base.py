"""Base classes of the flow file format (see :mod:`ivr.flows.schema`)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from pydantic import BaseModel, ConfigDict

DIGITS = frozenset("0123456789*#")
AGENT_DIGIT = "0"
AGENT_KEY = "agent"
# Words that always reach a human, added to every menu grammar that has an ``agent`` route.
AGENT_WORDS: dict[str, tuple[str, ...]] = {
    "es": ("asesor", "agente", "operador", "una persona"),
    "en": ("agent", "operator", "representative", "a person"),
}
NODE_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")


class FlowModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NodeBase(FlowModel):
    description: str = ""

    def successors(self) -> Iterator[tuple[str, str]]:
        """(role, node id) for every node this one may continue to."""
        return iter(())

    def prompt_ids(self) -> Iterator[str]:
        return iter(())

    @property
    def collects_input(self) -> bool:
        """Whether passing through this node waits for the caller (breaks input-free loops)."""
        return False

    @property
    def terminal(self) -> bool:
        return False


def edges(**roles: str | None) -> Iterator[tuple[str, str]]:
    for role, target in roles.items():
        if target:
            yield role, target
