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
from typing import Any

import yaml

from ivr.flows.checkcontext import CheckContext, Problem
from ivr.flows.checkgraph import check_graph
from ivr.flows.checkmenus import check_language, check_menu
from ivr.flows.checkreferences import check_references
from ivr.flows.errors import InvalidYaml
from ivr.flows.labels import check_labels
from ivr.flows.loader import parse_flow_data
from ivr.flows.references import References
from ivr.flows.schema import Flow, LanguageNode, MenuNode
from ivr.flows.yamlload import DEFAULT_LIMITS, FlowLimits, load_flow_yaml

# Problem and References are part of this API (what check_* take and return): importable from here.
__all__ = ["Problem", "References", "check_flow", "check_loaded", "check_text"]


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
    checker = CheckContext(flow, source, refs)
    check_references(checker)
    check_graph(checker)
    for node_id, node in flow.nodes.items():
        if isinstance(node, MenuNode):
            check_menu(checker, node_id, node)
        elif isinstance(node, LanguageNode):
            check_language(checker, node_id, node)
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
