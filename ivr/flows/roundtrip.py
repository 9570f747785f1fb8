"""Editing one node of a flow document in place, keeping its comments, order, quoting and layout.

The editor's node form (prompts, next, menu options) changes a few values; the admin's YAML is the
source of truth, so it must come back as they wrote it with only those values changed. ruamel.yaml's
round-trip mode keeps comments and flow/block style; the document is first read by the limited
loader (:func:`~ivr.flows.yamlload.load_flow_yaml`), so aliases and anything past the limits are
refused before ruamel sees it. Run in the flow checker's worker (:meth:`FlowChecker.edit_node`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.util import load_yaml_guess_indent

from ivr.flows.errors import InvalidYaml
from ivr.flows.yamlload import FlowLimits, check_size, load_flow_yaml


@dataclass(frozen=True, slots=True)
class NodeEdit:
    node: str
    prompts: tuple[str, ...] | None = None  # None: unchanged
    next: str | None = None  # None: unchanged; "": removed
    options: tuple[tuple[str, str], ...] = ()  # (menu key, next node): changed or added


class UnknownNode(LookupError):
    pass


def edit_node(text: str, edit: NodeEdit, limits: FlowLimits) -> str:
    """The document with ``edit`` applied to one node, everything else as it was.

    Raises :class:`UnknownNode`, :class:`InvalidYaml` and (past a limit)
    :class:`~ivr.flows.errors.FlowRefused`."""
    load_flow_yaml(text, limits)  # the limits and the alias ban, before the round-trip parser
    yaml, data = _round_trip(text)
    nodes = data.get("nodes") if isinstance(data, CommentedMap) else None
    node = nodes.get(edit.node) if isinstance(nodes, CommentedMap) else None
    if not isinstance(node, CommentedMap):
        raise UnknownNode(f"no node {edit.node!r} in the document")
    if edit.prompts is not None:
        _set_list(node, "prompts", list(edit.prompts))
    if edit.next is not None:
        if edit.next:
            node["next"] = edit.next
        elif "next" in node:
            del node["next"]
    if edit.options:
        _set_options(node, edit.options)
    out = io.StringIO()
    yaml.dump(data, out)
    result = out.getvalue()
    check_size(result, limits)
    return result


def _round_trip(text: str) -> tuple[YAML, Any]:
    try:
        # ruamel guesses how "- " items are indented (None: the document has none)
        _, sequence, offset = load_yaml_guess_indent(text)
        yaml = YAML(typ="rt")
        yaml.preserve_quotes = True  # "quoted" stays quoted
        yaml.width = 4096  # never re-wrap an admin's long lines
        mapping = _mapping_indent(text)
        if offset is None:
            sequence, offset = mapping + 2, 2
        yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
        return yaml, yaml.load(text)
    except YAMLError as exc:
        raise InvalidYaml("invalid YAML: " + " ".join(str(exc).split())) from None


def _mapping_indent(text: str) -> int:
    """The document's step for nested mappings: the smallest indentation of a key line."""
    steps = [len(line) - len(line.lstrip(" ")) for line in text.splitlines()
             if line.strip() and not line.lstrip(" ").startswith(("-", "#"))]
    return min((s for s in steps if s > 0), default=2)


def _set_list(node: CommentedMap, key: str, values: list[str]) -> None:
    """Replace the items, keeping the list's style (``[a, b]`` or ``- a``) and its comments."""
    found = node.get(key)
    if isinstance(found, CommentedSeq):
        found[:] = values
    else:
        seq = CommentedSeq(values)
        seq.fa.set_flow_style()  # a new list is written as the shipped flows write them: [a, b]
        node[key] = seq


def _set_options(node: CommentedMap, options: tuple[tuple[str, str], ...]) -> None:
    found = node.get("options")
    if not isinstance(found, CommentedMap):
        found = CommentedMap()
        node["options"] = found
    for key, target in options:
        existing = _key(key, found)
        option = found.get(existing)
        if isinstance(option, CommentedMap):
            option["next"] = target
        else:
            added = CommentedMap([("next", target)])
            added.fa.set_flow_style()
            found[existing] = added


def _key(key: str, options: CommentedMap) -> Any:
    """Menu keys are written as numbers in YAML (``1:``): keep the document's own key type."""
    for existing in options:
        if str(existing) == key:
            return existing
    return int(key) if key.isdigit() else key
