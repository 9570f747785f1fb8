"""Checking flows before they take calls: one precise problem per line, ``file:node: what``.

Checks: the limits of :mod:`ivr.flows.yamlload` (size, nesting, values, no YAML aliases); the
schema; references to unknown nodes, queues, schedules and prompts (a prompt must exist in every
language the flow declares); unreachable nodes; dead ends; loops a caller could go round without
ever being asked anything (nor waiting in a queue); loops a *silent* caller would go round without
end (each node's no-input / no-answer exit leads back into the loop); duplicate keys, digits or
phrases in a menu; and menus without a route to a human (0 and "agent"/"asesor") unless they opt
out with a reason. Used by ``ivr flows check`` and by whatever publishes a flow (the admin API),
both through :mod:`ivr.flows.checking`, which runs it in a worker process under a deadline.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ivr.dialogs.offers import OFFER_PROMPTS
from ivr.flows import inputs
from ivr.flows.errors import InvalidYaml
from ivr.flows.labels import check_labels
from ivr.flows.loader import LoadProblem, parse_flow_data
from ivr.flows.schema import (
    AGENT_DIGIT,
    DIGITS,
    BranchScheduleNode,
    CollectNode,
    Flow,
    GotoNode,
    HangupNode,
    LanguageNode,
    MarkNeedNode,
    MenuNode,
    Node,
    OfferCallbackNode,
    OfferDeflectionNode,
    PlayNode,
    QueueNode,
    ReturningCallerNode,
    SayNode,
    SetNode,
    TransferNode,
)
from ivr.flows.yamlload import DEFAULT_LIMITS, FlowLimits, load_flow_yaml
from ivr.prompts.catalogue import PromptCatalogue

Problem = LoadProblem  # file, node, message


@dataclass(frozen=True)
class References:
    """What flows may refer to. ``None`` skips that family of checks."""

    prompts: PromptCatalogue | None = None
    queues: frozenset[str] | None = None
    schedules: frozenset[str] | None = None


@dataclass
class _Checker:
    flow: Flow
    source: str
    refs: References
    problems: list[Problem] = field(default_factory=list)

    def add(self, node: str | None, message: str) -> None:
        self.problems.append(Problem(self.source, node, message))


def check_text(
    text: str, *, source: str, refs: References, limits: FlowLimits = DEFAULT_LIMITS
) -> tuple[Flow | None, list[Problem]]:
    """The flow and its problems. Raises :class:`~ivr.flows.errors.FlowRefused` when the text breaks
    a limit. Runs in the caller's thread: servers call it through :mod:`ivr.flows.checking`."""
    try:
        tree, data = load_flow_yaml(text, limits)
    except InvalidYaml as exc:
        return None, [Problem(source, None, str(exc))]
    return check_loaded(tree, data, source=source, refs=refs)


def check_loaded(
    tree: yaml.Node | None, data: Any, *, source: str, refs: References
) -> tuple[Flow | None, list[Problem]]:
    """:func:`check_text` after reading: ``tree`` (for line numbers) and ``data`` of one document."""
    problems = list(_duplicate_keys(tree, source))
    flow, schema_problems = parse_flow_data(data, source=source)
    problems.extend(schema_problems)
    if flow is not None:
        problems.extend(check_flow(flow, source=source, refs=refs))
    return flow, problems


def check_flow(flow: Flow, *, source: str, refs: References) -> list[Problem]:
    checker = _Checker(flow, source, refs)
    _check_references(checker)
    _check_graph(checker)
    for node_id, node in flow.nodes.items():
        if isinstance(node, MenuNode):
            _check_menu(checker, node_id, node)
        elif isinstance(node, LanguageNode):
            _check_language(checker, node_id, node)
    for node_id, problem in check_labels(flow):
        checker.add(node_id, problem)
    return checker.problems


# --------------------------------------------------------------------------- duplicate YAML keys
def _duplicate_keys(tree: yaml.Node | None, source: str) -> Iterator[Problem]:
    """YAML silently keeps the last of two equal keys: a menu with two `1:` options loses one."""

    def walk(node: yaml.Node, path: list[str]) -> Iterator[Problem]:
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key, value in node.value:
                name = str(key.value)
                line = key.start_mark.line + 1
                if name in seen:
                    where = path[1] if len(path) >= 2 and path[0] == "nodes" else None
                    inside = ".".join(path[2:] if where else path) or "top level"
                    yield Problem(source, where, f"{inside}: duplicate key {name!r} (line {line}, first on line "
                                                 f"{seen[name]})")
                else:
                    seen[name] = line
                yield from walk(value, [*path, name])
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                yield from walk(item, [*path, str(i)])

    if tree is not None:
        yield from walk(tree, [])


# --------------------------------------------------------------------------- references
def _check_references(c: _Checker) -> None:
    flow = c.flow
    if flow.start not in flow.nodes:
        c.add(None, f"start: unknown node {flow.start!r}")
    if flow.schedule and c.refs.schedules is not None and flow.schedule not in c.refs.schedules:
        c.add(None, f"schedule: unknown schedule {flow.schedule!r}")
    for node_id, node in flow.nodes.items():
        for role, target in node.successors():
            if target not in flow.nodes:
                c.add(node_id, f"{role}: unknown node {target!r}")
        for queue in _queues_of(node):
            if c.refs.queues is not None and queue not in c.refs.queues:
                c.add(node_id, f"unknown queue {queue!r}")
        for schedule in _schedules_of(node):
            if c.refs.schedules is not None and schedule not in c.refs.schedules:
                c.add(node_id, f"unknown schedule {schedule!r}")
        if _needs_schedule(node) and not (getattr(node, "schedule", None) or flow.schedule):
            c.add(node_id, "no schedule: name one here or in the flow")
        if c.refs.prompts is not None:
            _check_prompts(c, node_id, node, c.refs.prompts)


def _needs_schedule(node: Node) -> bool:
    return isinstance(node, BranchScheduleNode) or (
        isinstance(node, OfferCallbackNode) and node.not_before == "next_open"
    )


def _queues_of(node: Node) -> Iterator[str]:
    queue = node.queue if isinstance(node, (QueueNode, OfferCallbackNode, MarkNeedNode)) else None
    if queue:
        yield queue


def _schedules_of(node: Node) -> Iterator[str]:
    if isinstance(node, (BranchScheduleNode, OfferCallbackNode)) and node.schedule:
        yield node.schedule


def _implied_prompts(node: Node) -> Iterator[str]:
    """Prompts the engine plays for this node beyond the ones it names."""
    if isinstance(node, MenuNode) and node.speech:
        yield inputs.CONFIRM_BEFORE
        yield inputs.CONFIRM_AFTER
        if node.agent:
            yield inputs.AGENT_LABEL
    elif isinstance(node, (OfferCallbackNode, OfferDeflectionNode)):
        yield from OFFER_PROMPTS
    elif isinstance(node, SayNode) and node.as_ in ("digits", "number"):
        yield from (f"num/{d}" for d in "0123456789")


def _check_prompts(c: _Checker, node_id: str, node: Node, catalogue: PromptCatalogue) -> None:
    wanted: dict[str, tuple[str, ...]] = {}
    languages = tuple(c.flow.languages)
    for prompt_id in [*node.prompt_ids(), *_implied_prompts(node)]:
        wanted.setdefault(prompt_id, languages)
    if isinstance(node, LanguageNode):
        for option in node.options.values():
            if option.prompt:
                wanted[option.prompt] = (option.language,)  # played in its own language only
    known = set(catalogue.ids())
    for prompt_id, langs in wanted.items():
        if prompt_id not in known:
            c.add(node_id, f"unknown prompt {prompt_id!r}")
            continue
        for lang in langs:
            if not catalogue.has(prompt_id, lang):
                c.add(node_id, f"prompt {prompt_id!r} has no text for language {lang!r}")


# --------------------------------------------------------------------------- graph
def _check_graph(c: _Checker) -> None:
    nodes = c.flow.nodes
    edges = {nid: [t for _, t in node.successors() if t in nodes] for nid, node in nodes.items()}
    reached: set[str] = set()
    todo = [c.flow.start] if c.flow.start in nodes else []
    while todo:
        nid = todo.pop()
        if nid not in reached:
            reached.add(nid)
            todo.extend(edges[nid])
    for nid in nodes:
        if nid not in reached:
            c.add(nid, f"unreachable from start {c.flow.start!r}")
    for nid, node in nodes.items():
        if not node.terminal and not any(True for _ in node.successors()):
            c.add(nid, f"dead end: a {node.kind} node needs a next node (or end the call with a hangup node)")
    quiet = {nid: [t for t in edges[nid] if not nodes[t].collects_input]
             for nid, node in nodes.items() if not node.collects_input}
    for loop in _cycles(quiet):
        route = " -> ".join([*loop, loop[0]])
        c.add(loop[0], f"input-free loop: {route} never asks the caller anything")
    _check_silent_loops(c)


def _check_silent_loops(c: _Checker) -> None:
    """A caller who says nothing follows each node's no-input exit. A loop of those exits repeats
    until the engine's step or time cap (the shipped after-hours menu and callback offer once
    played the menu 496 times to dead air). A loop is fine when some node on it leaves the loop
    on silence (its bounded tries end elsewhere): then it is not a loop of silent exits at all."""
    nodes = c.flow.nodes
    silent = {nid: [t for t in _silent_successors(node) if t in nodes] for nid, node in nodes.items()}
    for component in _cycles(silent):
        if not any(nodes[n].collects_input for n in component):
            continue  # reported above as an input-free loop
        route = " -> ".join(_cycle_through(silent, set(component), component[0]))
        c.add(component[0], f"silent-caller loop: a caller who says nothing goes round {route} without end; "
                            "send one of these no-input exits (fallback / refused / declined) to a human, "
                            "a goodbye or another way out")


def _silent_successors(node: Node) -> Iterator[str]:
    """Where the engine goes when the caller gives no usable answer (or none is needed)."""
    match node:
        case MenuNode() | CollectNode():
            yield node.fallback
        case LanguageNode():
            yield node.next
        case ReturningCallerNode():
            yield node.declined
            yield node.not_returning
        case OfferCallbackNode():
            yield node.refused
        case OfferDeflectionNode():
            yield node.declined
        case QueueNode():
            if node.overflow:  # no agent: the caller comes back without having reached a human
                yield node.overflow
        case TransferNode():
            if node.failure:
                yield node.failure
        case HangupNode():
            return
        case _:
            yield from (target for _, target in node.successors())


def _cycle_through(graph: dict[str, list[str]], members: set[str], start: str) -> list[str]:
    """One actual route start -> ... -> start inside a strongly connected component."""
    parent: dict[str, str] = {}
    todo = [start]
    while todo:
        current = todo.pop(0)
        for nxt in graph.get(current, ()):
            if nxt not in members:
                continue
            if nxt == start:
                route = [start]
                node = current
                while node != start:
                    route.append(node)
                    node = parent[node]
                return [start, *reversed(route[1:]), start]
            if nxt not in parent:
                parent[nxt] = current
                todo.append(nxt)
    return [start, start]


def _cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Strongly connected components that contain a cycle (Tarjan's algorithm, iterative: a long
    chain of nodes must not exhaust the interpreter's stack), each sorted, in a stable order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(graph.get(root, ())))]
        _enter(root, index, low, stack, on_stack)
        while work:
            v, successors = work[-1]
            for w in successors:
                if w not in graph:
                    continue
                if w not in index:
                    _enter(w, index, low, stack, on_stack)
                    work.append((w, iter(graph.get(w, ()))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[v])
                if low[v] == index[v]:
                    component: list[str] = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        component.append(w)
                        if w == v:
                            break
                    if len(component) > 1 or v in graph.get(v, ()):
                        out.append(sorted(component))
    return out


def _enter(v: str, index: dict[str, int], low: dict[str, int], stack: list[str], on_stack: set[str]) -> None:
    index[v] = low[v] = len(index)
    stack.append(v)
    on_stack.add(v)


# --------------------------------------------------------------------------- menus
def _check_menu(c: _Checker, node_id: str, node: MenuNode) -> None:
    if node.agent and AGENT_DIGIT in node.options:
        c.add(node_id, f"digit {AGENT_DIGIT} is both option {AGENT_DIGIT} and the agent route")
    for digit in node.options:
        if len(digit) != 1 or digit not in DIGITS:
            c.add(node_id, f"option {digit!r}: an option is one key (0-9, *, #)")
    for lang in c.flow.languages:
        owner: dict[str, str] = {}
        for digit, option in node.options.items():
            for phrase in option.say.get(lang, ()):
                _claim(c, node_id, owner, inputs.normalise(phrase), who=f"option {digit}", lang=lang)
        if node.agent:
            for word in sorted(inputs.agent_words(lang)):
                if word in owner:
                    c.add(node_id, f"phrase {word!r} ({lang}) is both {owner[word]} and the agent route")
    for digit, option in node.options.items():
        for lang in option.say:
            if lang not in c.flow.languages:
                c.add(node_id, f"option {digit}: phrases for undeclared language {lang!r}")
    if node.agent is None and node.human_route is None:
        c.add(node_id, "no route to a human: add `agent: <node>` (0, \"agent\", \"asesor\") "
                       "or `human_route: {opt_out: <reason>}`")
    elif node.agent is not None and node.agent in c.flow.nodes and not _reaches_human(c.flow, node.agent):
        c.add(node_id, f"agent route {node.agent!r} does not lead to a queue or a transfer")


def _claim(c: _Checker, node_id: str, owner: dict[str, str], phrase: str, *, who: str, lang: str) -> None:
    if phrase in owner:
        first = owner[phrase]
        what = "twice in" if first == who else f"in {first} and"
        c.add(node_id, f"duplicate phrase {phrase!r} ({lang}) {what} {who}")
    else:
        owner[phrase] = who


def _reaches_human(flow: Flow, start: str) -> bool:
    """Follow the nodes that pass straight on (play, set, mark_need, goto) to a queue/transfer."""
    seen: set[str] = set()
    nid: str | None = start
    while nid is not None and nid in flow.nodes and nid not in seen:
        seen.add(nid)
        node = flow.nodes[nid]
        if isinstance(node, (QueueNode, TransferNode)):
            return True
        nid = node.next if isinstance(node, (PlayNode, SetNode, MarkNeedNode, GotoNode)) else None
    return False


def _check_language(c: _Checker, node_id: str, node: LanguageNode) -> None:
    owner: dict[str, str] = {}
    for digit, option in node.options.items():
        if option.language not in c.flow.languages:
            c.add(node_id, f"option {digit}: language {option.language!r} is not one of the flow's languages")
        for phrase in option.say:
            _claim(c, node_id, owner, inputs.normalise(phrase), who=f"option {digit}", lang="any")
    if node.value is not None and node.value not in c.flow.languages:
        c.add(node_id, f"value: language {node.value!r} is not one of the flow's languages")
    if node.default is not None and node.default not in c.flow.languages:
        c.add(node_id, f"default: language {node.default!r} is not one of the flow's languages")


# --------------------------------------------------------------------------- reference files
def queue_names(path: Path) -> frozenset[str]:
    """Queue names from ``dialplan/queues.yaml`` (top-level ``queues:`` mapping)."""
    data: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    queues = data.get("queues") if isinstance(data, dict) else None
    if not isinstance(queues, dict):
        raise ValueError(f"{path}: expected a top-level 'queues' mapping")
    return frozenset(str(k) for k in queues)


def schedule_names(path: Path) -> frozenset[str]:
    """Schedule names from ``dialplan/schedules.yaml`` (top-level ``schedules:`` mapping)."""
    data: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    schedules = data.get("schedules") if isinstance(data, dict) else None
    if not isinstance(schedules, dict):
        raise ValueError(f"{path}: expected a top-level 'schedules' mapping")
    return frozenset(str(k) for k in schedules)
