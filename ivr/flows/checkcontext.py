"""What every check of a flow works on: the flow, where it came from, what it may refer to, and the
problems found so far (one precise problem each, ``file:node: what``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ivr.flows.loader import LoadProblem
from ivr.flows.references import References
from ivr.flows.schema import Flow

Problem = LoadProblem  # file, node, message


@dataclass
class CheckContext:
    flow: Flow
    source: str
    refs: References
    problems: list[Problem] = field(default_factory=list)

    def add(self, node: str | None, message: str) -> None:
        self.problems.append(Problem(self.source, node, message))
