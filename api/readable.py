"""The caller's route through the flow in words an agent reads: step names and chosen options.

Call records keep node ids (``choose_language → returning → greeting``) and raw keys (``2``). The
desk shows each step as its node's ``description`` when the flow gives one, else the id in words
("Choose language"), and each key as the option it chose, named by the option's first spoken
synonym in the desk's language (then the call's language), else by where it led.
"""

from __future__ import annotations

from typing import Any, Protocol

from ivr.flows.schema import AGENT_DIGIT, Flow, LanguageNode, MenuNode

LANGUAGE_NAMES = {"es": "Spanish", "en": "English", "fr": "French", "de": "German", "pt": "Portuguese",
                  "ca": "Catalan", "it": "Italian"}
DESK_LANGUAGE = "en"  # the desk's own language (its pages are in English)


class FlowSource(Protocol):
    def by_name(self, name: str) -> Flow: ...


def words(node_id: str) -> str:
    text = node_id.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def step_label(flow: Flow | None, node_id: str) -> str:
    node = flow.nodes.get(node_id) if flow is not None else None
    if node is not None and node.description:
        return node.description
    return words(node_id)


def option_label(flow: Flow | None, node_id: str, digits: str, call_language: str | None) -> str | None:
    """What the key chose, or None when the flow does not say (the digits are shown instead)."""
    node = flow.nodes.get(node_id) if flow is not None else None
    if isinstance(node, LanguageNode):
        option = node.options.get(digits)
        return LANGUAGE_NAMES.get(option.language, option.language) if option is not None else None
    if isinstance(node, MenuNode):
        if digits == AGENT_DIGIT and node.agent:
            return "an agent"
        menu_option = node.options.get(digits)
        if menu_option is None:
            return None
        for language in (DESK_LANGUAGE, call_language):
            phrases = menu_option.say.get(language or "") or []
            if phrases:
                return phrases[0]
        return step_label(flow, menu_option.next)
    return None


def readable(context: dict[str, Any], flows: FlowSource | None) -> dict[str, Any]:
    """``steps`` (labels of ``path``) and each input's ``choice`` added to a copy of the context."""
    flow: Flow | None = None
    name = context.get("flow")
    if flows is not None and isinstance(name, str) and name:
        try:
            flow = flows.by_name(name)
        except LookupError:  # a flow removed since the call started: the ids in words still read
            flow = None
    out = dict(context)
    out["steps"] = [step_label(flow, str(n)) for n in context.get("path") or []]
    inputs = []
    for item in context.get("inputs") or []:
        entry = dict(item)
        digits = str(entry.get("digits") or "")
        entry["step"] = step_label(flow, str(entry.get("node") or ""))
        entry["choice"] = option_label(flow, str(entry.get("node") or ""), digits, context.get("language")) \
            if digits else None
        inputs.append(entry)
    out["inputs"] = inputs
    return out
