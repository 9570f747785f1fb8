"""Checks of a flow's shape: nodes unreachable from the start, dead ends, loops that never ask the
caller anything, and loops a silent caller would go round without end."""

from __future__ import annotations

from collections.abc import Iterator

from ivr.flows.checkcontext import CheckContext
from ivr.flows.graphcycles import cycle_through, cycles
from ivr.flows.schema import (
    CollectNode,
    HangupNode,
    LanguageNode,
    MenuNode,
    Node,
    OfferCallbackNode,
    OfferDeflectionNode,
    QueueNode,
    ReturningCallerNode,
    TransferNode,
)


def check_graph(c: CheckContext) -> None:
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
    for loop in cycles(quiet):
        route = " -> ".join([*loop, loop[0]])
        c.add(loop[0], f"input-free loop: {route} never asks the caller anything")
    _check_silent_loops(c)


def _check_silent_loops(c: CheckContext) -> None:
    """A caller who says nothing follows each node's no-input exit. A loop of those exits repeats
    until the engine's step or time cap (the shipped after-hours menu and callback offer once
    played the menu 496 times to dead air). A loop is fine when some node on it leaves the loop
    on silence (its bounded tries end elsewhere): then it is not a loop of silent exits at all."""
    nodes = c.flow.nodes
    silent = {nid: [t for t in _silent_successors(node) if t in nodes] for nid, node in nodes.items()}
    for component in cycles(silent):
        if not any(nodes[n].collects_input for n in component):
            continue  # reported above as an input-free loop
        route = " -> ".join(cycle_through(silent, set(component), component[0]))
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
