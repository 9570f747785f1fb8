"""What a new version of a flow changes, in words an admin can confirm ("2 nodes changed, key 4
added"), from the values of two documents (read under the limits in the flow checker's worker)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Changes:
    nodes_added: tuple[str, ...]
    nodes_removed: tuple[str, ...]
    nodes_changed: tuple[str, ...]
    keys_added: tuple[str, ...]  # "main_menu 4": a menu option that is new
    keys_removed: tuple[str, ...]
    other: bool  # something outside `nodes:` changed (numbers, languages, start...)

    @property
    def summary(self) -> str:
        parts = [_count(len(self.nodes_changed), "node", "changed"), _count(len(self.nodes_added), "node", "added"),
                 _count(len(self.nodes_removed), "node", "removed")]
        parts += [f"key {k.split(' ')[-1]} added" for k in self.keys_added]
        parts += [f"key {k.split(' ')[-1]} removed" for k in self.keys_removed]
        if self.other:
            parts.append("flow settings changed")
        said = [p for p in parts if p]
        return ", ".join(said) if said else "no change"


def _count(n: int, noun: str, verb: str) -> str:
    if not n:
        return ""
    return f"{n} {noun}{'' if n == 1 else 's'} {verb}"


def _nodes(data: Any) -> dict[str, Any]:
    nodes = data.get("nodes") if isinstance(data, dict) else None
    return {str(k): v for k, v in nodes.items()} if isinstance(nodes, dict) else {}


def _options(node: Any) -> set[str]:
    options = node.get("options") if isinstance(node, dict) else None
    return {str(k) for k in options} if isinstance(options, dict) else set()


def _rest(data: Any) -> dict[str, Any]:
    return {str(k): v for k, v in data.items() if k != "nodes"} if isinstance(data, dict) else {}


def compare(old: Any, new: Any) -> Changes:
    before, after = _nodes(old), _nodes(new)
    common = [n for n in after if n in before]
    keys_added: list[str] = []
    keys_removed: list[str] = []
    for node_id in common:
        was, now = _options(before[node_id]), _options(after[node_id])
        keys_added += [f"{node_id} {k}" for k in sorted(now - was)]
        keys_removed += [f"{node_id} {k}" for k in sorted(was - now)]
    return Changes(
        nodes_added=tuple(n for n in after if n not in before),
        nodes_removed=tuple(n for n in before if n not in after),
        nodes_changed=tuple(n for n in common if before[n] != after[n]),
        keys_added=tuple(keys_added), keys_removed=tuple(keys_removed),
        other=_rest(old) != _rest(new),
    )
