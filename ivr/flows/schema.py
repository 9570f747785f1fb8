"""The call-flow file format (``dialplan/flows/*.yaml``), as pydantic models.

A flow::

    name: support
    default: true                 # the flow for numbers no other flow claims
    numbers: ["+34910000000"]     # dialled numbers this flow answers
    languages: [es, en]           # every prompt must exist in each
    schedule: support             # default schedule for branch_schedule nodes
    start: choose_language
    nodes:
      choose_language: {kind: language, ...}
      ...

Prompts are catalogue ids (``prompts/catalogue/*.yaml``), played in the call's current language.
Every node that moves on names its successor(s) by node id; the validator checks the graph.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cached_property
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from ivr.flows.schema_base import (
    AGENT_DIGIT,
    AGENT_KEY,
    AGENT_WORDS,
    DIGITS,
    NODE_ID_RE,
    FlowModel,
    NodeBase,
    edges,
)
from ivr.flows.schema_inputs import (
    CollectNode,
    HumanRoute,
    LanguageNode,
    LanguageOption,
    MenuNode,
    MenuOption,
    ReturningCallerNode,
)
from ivr.ports import CallbackSource, Disposition

__all__ = [
    "AGENT_DIGIT", "AGENT_KEY", "AGENT_WORDS", "DIGITS", "NODE_ID_RE", "BranchCase", "BranchNode",
    "BranchScheduleNode", "CollectNode", "Flow", "GotoNode", "HangupNode", "HumanRoute", "LanguageNode",
    "LanguageOption", "LookupNode", "MarkNeedNode", "MenuNode", "MenuOption", "Node", "OfferCallbackNode",
    "OfferDeflectionNode", "PlayNode", "QueueNode", "ReturningCallerNode", "SayNode", "SetNode", "TransferNode",
]


class PlayNode(NodeBase):
    kind: Literal["play"]
    prompts: list[str] = Field(min_length=1)
    next: str | None = None

    def successors(self) -> Iterator[tuple[str, str]]:
        return edges(next=self.next)

    def prompt_ids(self) -> Iterator[str]:
        return iter(self.prompts)


class BranchScheduleNode(NodeBase):
    kind: Literal["branch_schedule"]
    schedule: str | None = None  # default: the flow's schedule
    open: str
    closed: str
    holiday: str | None = None  # default: closed

    def successors(self) -> Iterator[tuple[str, str]]:
        return edges(open=self.open, closed=self.closed, holiday=self.holiday)


class BranchCase(FlowModel):
    next: str
    equals: str | None = None
    regex: str | None = None
    in_: list[str] | None = Field(default=None, alias="in")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_test(self) -> BranchCase:
        tests = [t for t in (self.equals, self.regex, self.in_) if t is not None]
        if len(tests) != 1:
            raise ValueError("a case needs exactly one of equals, regex, in")
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except re.error as exc:
                raise ValueError(f"regex does not compile: {exc}") from exc
        return self

    def matches(self, value: str) -> bool:
        if self.equals is not None:
            return value == self.equals
        if self.regex is not None:
            return re.search(self.regex, value) is not None
        return value in (self.in_ or ())


CallerAttribute = Literal["caller", "dialled", "language", "returning"]


class BranchNode(NodeBase):
    kind: Literal["branch"]
    variable: str | None = None
    attribute: CallerAttribute | None = None
    cases: list[BranchCase] = Field(min_length=1)
    default: str

    @model_validator(mode="after")
    def _one_subject(self) -> BranchNode:
        if (self.variable is None) == (self.attribute is None):
            raise ValueError("a branch needs exactly one of variable, attribute")
        return self

    def successors(self) -> Iterator[tuple[str, str]]:
        for i, case in enumerate(self.cases):
            yield f"case {i + 1}", case.next
        yield "default", self.default


class SetNode(NodeBase):
    kind: Literal["set"]
    variables: dict[str, str] = Field(min_length=1)
    next: str

    def successors(self) -> Iterator[tuple[str, str]]:
        return edges(next=self.next)


class QueueNode(NodeBase):
    kind: Literal["queue"]
    queue: str | None = None
    queue_variable: str | None = None  # take the queue name from a variable (returning callers)
    credit_variable: str | None = None  # seconds already waited (returning callers)
    priority: int = Field(default=0, ge=0, le=100)
    overflow: str | None = None  # the queue gave up (max wait / no agents): continue here
    after: str | None = None  # the agent left and the caller is still on the line

    @model_validator(mode="after")
    def _one_queue(self) -> QueueNode:
        if (self.queue is None) == (self.queue_variable is None):
            raise ValueError("a queue node needs exactly one of queue, queue_variable")
        return self

    def successors(self) -> Iterator[tuple[str, str]]:
        return edges(overflow=self.overflow, after=self.after)

    @property
    def collects_input(self) -> bool:
        return True

    @property
    def terminal(self) -> bool:
        return True


class OfferCallbackNode(NodeBase):
    kind: Literal["offer_callback"]
    queue: str
    source: CallbackSource = CallbackSource.FLOW
    not_before: Literal["now", "next_open"] = "now"
    schedule: str | None = None  # for next_open (default: the flow's schedule)
    accepted: str
    refused: str

    def successors(self) -> Iterator[tuple[str, str]]:
        return edges(accepted=self.accepted, refused=self.refused)

    @property
    def collects_input(self) -> bool:
        return True


class OfferDeflectionNode(NodeBase):
    kind: Literal["offer_deflection"]
    reason: str = "flow_offer"
    consent_prompt: str
    accepted: str
    declined: str

    def successors(self) -> Iterator[tuple[str, str]]:
        return edges(accepted=self.accepted, declined=self.declined)

    def prompt_ids(self) -> Iterator[str]:
        yield self.consent_prompt

    @property
    def collects_input(self) -> bool:
        return True


class TransferNode(NodeBase):
    kind: Literal["transfer"]
    number: str = Field(pattern=r"^\+?[0-9]{3,20}$")
    endpoint: str = "PJSIP/{number}@trunk"  # how the backend dials out
    timeout: float = Field(default=30.0, gt=0, le=300)
    prompts: list[str] = Field(default_factory=list)
    failure: str | None = None

    def successors(self) -> Iterator[tuple[str, str]]:
        return edges(failure=self.failure)

    def prompt_ids(self) -> Iterator[str]:
        return iter(self.prompts)

    @property
    def terminal(self) -> bool:
        return True


class HangupNode(NodeBase):
    kind: Literal["hangup"]
    prompts: list[str] = Field(default_factory=list)
    disposition: Disposition | None = None  # default: what the call achieved, else completed

    def prompt_ids(self) -> Iterator[str]:
        return iter(self.prompts)

    @property
    def terminal(self) -> bool:
        return True


class GotoNode(NodeBase):
    kind: Literal["goto"]
    next: str

    def successors(self) -> Iterator[tuple[str, str]]:
        return edges(next=self.next)


class LookupNode(NodeBase):
    kind: Literal["lookup"]
    input: str  # variable holding the order number
    output: str  # variable receiving the status
    found: str
    not_found: str
    error: str  # the lookup service failed: fail open (tell the caller, offer an agent)

    def successors(self) -> Iterator[tuple[str, str]]:
        return edges(found=self.found, not_found=self.not_found, error=self.error)


class SayNode(NodeBase):
    kind: Literal["say"]
    variable: str
    as_: Literal["digits", "number", "prompt"] = Field(default="digits", alias="as")
    before: list[str] = Field(default_factory=list)
    after: list[str] = Field(default_factory=list)
    values: dict[str, str] = Field(default_factory=dict)  # as: prompt: value -> prompt id
    default: str | None = None  # as: prompt: for values not listed
    next: str

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _prompt_mode(self) -> SayNode:
        if self.as_ == "prompt" and not self.values:
            raise ValueError("as: prompt needs a values mapping (value -> prompt id)")
        return self

    def successors(self) -> Iterator[tuple[str, str]]:
        return edges(next=self.next)

    def prompt_ids(self) -> Iterator[str]:
        yield from self.before
        yield from self.values.values()
        if self.default:
            yield self.default
        yield from self.after


class MarkNeedNode(NodeBase):
    kind: Literal["mark_need"]
    need: str  # what the caller wants (billing, support...): kept with the callback
    queue: str | None = None  # the queue a drop-callback goes to (default: general)
    next: str

    def successors(self) -> Iterator[tuple[str, str]]:
        return edges(next=self.next)


Node = Annotated[
    PlayNode
    | MenuNode
    | CollectNode
    | BranchScheduleNode
    | BranchNode
    | SetNode
    | LanguageNode
    | QueueNode
    | OfferCallbackNode
    | OfferDeflectionNode
    | TransferNode
    | HangupNode
    | GotoNode
    | LookupNode
    | SayNode
    | MarkNeedNode
    | ReturningCallerNode,
    Field(discriminator="kind"),
]


class Flow(FlowModel):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    description: str = ""
    numbers: list[str] = Field(default_factory=list)
    default: bool = False
    languages: list[str] = Field(min_length=1)
    schedule: str | None = None
    # Longest time a call may spend in this flow's menus (time queued or talking to an agent not
    # counted); default: the setting flows.max_ivr_seconds (15 minutes).
    max_ivr_seconds: float | None = Field(default=None, ge=30, le=4 * 3600)
    start: str
    nodes: dict[str, Node] = Field(min_length=1)

    @field_validator("numbers", mode="before")
    @classmethod
    def _numbers_as_text(cls, value: object) -> object:
        if isinstance(value, list):
            return [str(v) for v in value]
        return value

    @model_validator(mode="after")
    def _claims_something(self) -> Flow:
        if not self.numbers and not self.default:
            raise ValueError("a flow needs numbers, or default: true")
        bad = [n for n in self.nodes if not NODE_ID_RE.match(n)]
        if bad:
            raise ValueError(f"invalid node ids (lower-case, digits, '_'): {', '.join(bad)}")
        return self

    def node(self, node_id: str) -> Node:
        return self.nodes[node_id]

    @cached_property
    def returning_caller(self) -> ReturningCallerNode | None:
        """The flow's returning-caller step, if any (every call's history prefetch asks)."""
        return next((n for n in self.nodes.values() if isinstance(n, ReturningCallerNode)), None)
