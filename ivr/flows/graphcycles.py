"""The loops of a directed graph of node ids: its strongly connected components that hold a cycle,
and one actual route round such a component."""

from __future__ import annotations

from collections.abc import Iterator


def cycles(graph: dict[str, list[str]]) -> list[list[str]]:
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


def cycle_through(graph: dict[str, list[str]], members: set[str], start: str) -> list[str]:
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
