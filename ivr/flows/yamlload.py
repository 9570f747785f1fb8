"""Reading flow YAML under limits, so a small hostile document cannot cost a lot.

A flow is a configuration file of a few KB: it has no use for YAML aliases (``*name``), which are
refused (an alias is how a 448-byte "billion laughs" document expands to millions of values, and
how a self-referencing node makes a walker loop), and the text, its nesting and its number of
values are bounded. Every check fails on the first event past a limit, before the value is built,
so the cost of reading is bounded by the limits, not by what the document would expand to.

The events come from libyaml (``CParser``) when it is installed, else from PyYAML's own parser;
composing, the limits and construction are PyYAML's safe Python classes either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent
from yaml.nodes import Node
from yaml.resolver import Resolver

from ivr.flows.errors import FlowRefused, InvalidYaml


@dataclass(frozen=True, slots=True)
class FlowLimits:
    """How large a flow may be. The shipped support flow: 7 KB, nesting 6, ~600 values, 33 nodes."""

    max_bytes: int = 256 * 1024
    max_depth: int = 24
    max_values: int = 40_000  # YAML scalars, sequences and mappings together
    max_nodes: int = 1_000  # flow nodes under `nodes:`
    validate_seconds: float = 5.0  # the whole check of one document, in a worker process


DEFAULT_LIMITS = FlowLimits()


def check_size(text: str, limits: FlowLimits) -> None:
    size = len(text.encode("utf-8", errors="replace"))
    if size > limits.max_bytes:
        raise FlowRefused(f"the flow is {size} bytes; the limit is {limits.max_bytes} bytes")


class _LimitedComposer(Composer):
    def _limited_init(self, limits: FlowLimits) -> None:
        Composer.__init__(self)
        self._limits = limits
        self._depth = 0
        self._values = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()  # type: ignore[attr-defined]
        line = event.start_mark.line + 1 if event.start_mark is not None else "?"
        if isinstance(event, AliasEvent):
            raise FlowRefused(f"line {line}: YAML aliases (*{event.anchor}) are not allowed in flows")
        self._values += 1
        if self._values > self._limits.max_values:
            raise FlowRefused(f"line {line}: more than {self._limits.max_values} YAML values (a flow is far smaller)")
        self._depth += 1
        if self._depth > self._limits.max_depth:
            raise FlowRefused(f"line {line}: nested more than {self._limits.max_depth} levels deep")
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


if yaml.__with_libyaml__:
    from yaml.cyaml import CParser  # type: ignore[attr-defined]

    class _Loader(_LimitedComposer, CParser, SafeConstructor, Resolver):
        def __init__(self, text: str, limits: FlowLimits) -> None:
            CParser.__init__(self, text)
            self._limited_init(limits)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
else:  # pragma: no cover
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Loader(Reader, Scanner, Parser, _LimitedComposer, SafeConstructor, Resolver):  # type: ignore[no-redef]
        def __init__(self, text: str, limits: FlowLimits) -> None:
            Reader.__init__(self, text)
            Scanner.__init__(self)
            Parser.__init__(self)
            self._limited_init(limits)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)


def load_flow_yaml(text: str, limits: FlowLimits) -> tuple[Node | None, Any]:
    """The composed tree (for line numbers) and the value of one flow document.

    Raises :class:`FlowRefused` past a limit and :class:`InvalidYaml` for malformed YAML (both
    :class:`~ivr.flows.errors.FlowError`, with a one-line message)."""
    check_size(text, limits)
    loader = _Loader(text, limits)
    try:
        tree = loader.get_single_node()
        data = loader.construct_document(tree) if tree is not None else None
    except yaml.YAMLError as exc:
        raise InvalidYaml("invalid YAML: " + " ".join(str(exc).split())) from None
    except ValueError as exc:  # a scalar its tag cannot hold, e.g. the timestamp 2024-13-45
        raise InvalidYaml(f"invalid YAML value: {exc}") from None
    finally:
        loader.dispose()
    nodes = data.get("nodes") if isinstance(data, dict) else None
    if isinstance(nodes, dict) and len(nodes) > limits.max_nodes:
        raise FlowRefused(f"the flow has {len(nodes)} nodes; the limit is {limits.max_nodes}")
    return tree, data


__all__ = ["DEFAULT_LIMITS", "FlowLimits", "FlowRefused", "InvalidYaml", "check_size", "load_flow_yaml", "yaml"]
