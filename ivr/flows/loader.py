"""Loading flows from ``dialplan/flows/*.yaml`` and choosing the flow for a call.

The engine asks a :class:`FlowProvider` for the flow of every new call, so a provider that changes
(a file reload, a version published through the admin API) takes effect for the next call without
a restart; calls already running keep the flow they started with.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from ivr.flows.errors import FlowError, FlowRefused
from ivr.flows.schema import Flow
from ivr.flows.yamlload import DEFAULT_LIMITS, FlowLimits, load_flow_yaml

log = logging.getLogger(__name__)

__all__ = ["FlowError", "FlowRefused", "FlowSet", "LoadProblem", "UnknownFlow", "flow_set_problems",
           "parse_flow_data"]


class UnknownFlow(FlowError, LookupError):
    pass


@dataclass(frozen=True, slots=True)
class LoadProblem:
    file: str
    node: str | None
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.node or '-'}: {self.message}"


def parse_flow_data(data: Any, *, source: str) -> tuple[Flow | None, list[LoadProblem]]:
    """Validate one flow document; return the flow or one problem per schema error."""
    if not isinstance(data, dict):
        return None, [LoadProblem(source, None, "a flow file must hold a mapping")]
    try:
        return Flow.model_validate(data), []
    except ValidationError as exc:
        return None, [_problem(source, err) for err in exc.errors()]


def _problem(source: str, err: Any) -> LoadProblem:
    loc = [str(p) for p in err.get("loc", ())]
    node: str | None = None
    rest = loc
    if len(loc) >= 2 and loc[0] == "nodes":
        node = loc[1]
        rest = loc[2:]
        # pydantic puts the discriminator value ("menu") in the path of a tagged union member
        if rest and rest[0] in _KINDS:
            rest = rest[1:]
    where = ".".join(rest)
    msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
    return LoadProblem(source, node, f"{where}: {msg}" if where else msg)


_KINDS = {
    "play", "menu", "collect", "branch_schedule", "branch", "set", "language", "queue", "offer_callback",
    "offer_deflection", "transfer", "hangup", "goto", "lookup", "say", "mark_need", "returning_caller",
}


def flow_set_problems(flows: Iterable[Flow], *, require_default: bool = False) -> list[str]:
    """Every clash in a set of flows that would serve together, one sentence each: a name defined
    twice, a dialled number claimed by two flows, more than one default flow, and
    (``require_default``) none. (``+34…`` and ``34…`` are two claims: :meth:`FlowSet.flow_for`
    routes each to its own flow, and ``+34…`` to ``34…`` only when nobody claims ``+34…``.)"""
    problems: list[str] = []
    names: dict[str, int] = {}
    owners: dict[str, list[str]] = {}
    defaults: list[str] = []
    for flow in flows:
        names[flow.name] = names.get(flow.name, 0) + 1
        for number in dict.fromkeys(flow.numbers):
            owners.setdefault(number, []).append(flow.name)
        if flow.default:
            defaults.append(flow.name)
    problems.extend(f"flow {name!r} is defined twice" for name, count in names.items() if count > 1)
    for number, claimants in owners.items():
        if len(claimants) > 1:
            problems.append(f"number {number} is claimed by flows {' and '.join(repr(n) for n in sorted(claimants))}")
    if len(defaults) > 1:
        problems.append(f"{len(defaults)} default flows ({', '.join(repr(n) for n in sorted(defaults))}): "
                        "exactly one flow may have default: true")
    elif require_default and not defaults:
        problems.append("no default flow: one flow needs default: true (it answers numbers no flow claims)")
    return problems


class FlowSet:
    """Every flow by name, with the dialled-number index and the default flow."""

    def __init__(self, flows: Iterable[Flow], sources: dict[str, str] | None = None) -> None:
        flows = list(flows)
        problems = flow_set_problems(flows)
        if problems:
            raise FlowError("; ".join(problems))
        self._by_name: dict[str, Flow] = {flow.name: flow for flow in flows}
        self._by_number: dict[str, Flow] = {number: flow for flow in flows for number in flow.numbers}
        self.sources: dict[str, str] = dict(sources or {})
        self.default: Flow | None = next((flow for flow in flows if flow.default), None)

    @classmethod
    def load(cls, flows_dir: Path, limits: FlowLimits = DEFAULT_LIMITS) -> FlowSet:
        """The flows of a folder (at start-up and in the CLI, before any call is carried; the
        limits still bound what one file can cost)."""
        problems: list[LoadProblem] = []
        documents: list[tuple[str, Any]] = []
        for path in sorted(flows_dir.glob("*.yaml")):
            try:
                size = path.stat().st_size
                if size > limits.max_bytes:  # refused before it is read
                    raise FlowRefused(f"the flow is {size} bytes; the limit is {limits.max_bytes} bytes")
                documents.append((str(path), load_flow_yaml(path.read_text(encoding="utf-8"), limits)[1]))
            except OSError as exc:
                problems.append(LoadProblem(str(path), None, f"cannot read: {exc}"))
            except FlowError as exc:  # refused (limits) or invalid YAML: one line either way
                problems.append(LoadProblem(str(path), None, str(exc)))
        if problems:
            raise FlowError("; ".join(str(p) for p in problems))
        return cls.from_documents(documents)

    @classmethod
    def from_documents(cls, documents: Iterable[tuple[str, Any]]) -> FlowSet:
        """Flows from already-parsed documents ``(source, data)`` (e.g. versions published in the
        database); raises :class:`FlowError` listing every schema problem."""
        flows: list[Flow] = []
        sources: dict[str, str] = {}
        problems: list[LoadProblem] = []
        for source, data in documents:
            flow, found = parse_flow_data(data, source=source)
            problems.extend(found)
            if flow is not None:
                flows.append(flow)
                sources[flow.name] = source
        if problems:
            raise FlowError("; ".join(str(p) for p in problems))
        return cls(flows, sources)

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def flows(self) -> list[Flow]:
        return [self._by_name[n] for n in self.names()]

    def by_name(self, name: str) -> Flow:
        try:
            return self._by_name[name]
        except KeyError:
            raise UnknownFlow(f"no flow named {name!r}") from None

    def flow_for(self, dialled: str) -> Flow:
        flow = self._by_number.get(dialled)
        if flow is None and dialled.startswith("+"):
            flow = self._by_number.get(dialled[1:])
        if flow is not None:
            return flow
        if self.default is None:
            raise UnknownFlow(f"no flow for {dialled!r} and no default flow")
        return self.default


class FlowProvider(Protocol):
    """Where the engine gets the flow of each new call."""

    def current_for(self, dialled: str) -> Flow: ...

    def by_name(self, name: str) -> Flow: ...


class FileFlowProvider:
    """Flows from a folder of YAML files; ``reload()`` swaps them in atomically (or keeps the old
    set, and raises, when the new files are invalid)."""

    def __init__(self, flows_dir: Path, limits: FlowLimits = DEFAULT_LIMITS) -> None:
        self.flows_dir = flows_dir
        self._limits = limits
        self._set = FlowSet.load(flows_dir, limits)

    @property
    def flow_set(self) -> FlowSet:
        return self._set

    def reload(self) -> FlowSet:
        new = FlowSet.load(self.flows_dir, self._limits)
        self._set = new
        log.info("flows reloaded", extra={"flows": new.names()})
        return new

    def current_for(self, dialled: str) -> Flow:
        return self._set.flow_for(dialled)

    def by_name(self, name: str) -> Flow:
        return self._set.by_name(name)


class StaticFlowProvider:
    """A fixed :class:`FlowSet` (tests, and the base a published-version provider can wrap)."""

    def __init__(self, flow_set: FlowSet) -> None:
        self.flow_set = flow_set

    def current_for(self, dialled: str) -> Flow:
        return self.flow_set.flow_for(dialled)

    def by_name(self, name: str) -> Flow:
        return self.flow_set.by_name(name)
