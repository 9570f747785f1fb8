"""The caller's route through the flow in words an agent reads, in the agent's language.

Call records keep node ids (``choose_language → returning → greeting``) and raw keys (``2``). The
desk shows each step by its node's ``label`` in the desk's language (``label: {es: ..., en: ...}``
in the flow), else its ``description``, else the id in words ("Choose language"); and each key by
the option it chose: the option's label in the desk's language, else its first spoken synonym in
that language (then in the call's), else the step it led to. Yes/no questions (callback, link,
returning caller) read "yes"/"no"; the desk's language is the agent's choice or their browser's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from fastapi import Request

from ivr.dialogs.yesno import NO_KEY, YES_KEY
from ivr.flows.schema import (
    AGENT_DIGIT,
    Flow,
    LanguageNode,
    MarkNeedNode,
    MenuNode,
    OfferCallbackNode,
    OfferDeflectionNode,
    ReturningCallerNode,
)

DESK_LANGUAGES = ("en", "es")  # the languages the desk names steps and options in
DEFAULT_DESK_LANGUAGE = "en"
LANGUAGE_COOKIE = "puente_lang"  # the agent's choice (the desk's language form sets it)
# The callers' languages as each desk language names them.
LANGUAGE_NAMES: dict[str, dict[str, str]] = {
    "en": {"es": "Spanish", "en": "English", "fr": "French", "de": "German", "pt": "Portuguese",
           "ca": "Catalan", "it": "Italian"},
    "es": {"es": "español", "en": "inglés", "fr": "francés", "de": "alemán", "pt": "portugués",
           "ca": "catalán", "it": "italiano"},
}
AN_AGENT = {"en": "an agent", "es": "un agente"}
YES_NO = {"en": ("yes", "no"), "es": ("sí", "no")}


class FlowSource(Protocol):
    def by_name(self, name: str) -> Flow: ...


def desk_language(request: Request) -> str:
    """``?lang=``, else the agent's choice (cookie), else the browser's first desk language, else English."""
    for chosen in (request.query_params.get("lang"), request.cookies.get(LANGUAGE_COOKIE)):
        if chosen in DESK_LANGUAGES:
            return chosen
    return browser_language(request.headers.get("accept-language", ""))


def browser_language(header: str) -> str:
    """The best desk language in an ``Accept-Language`` header (``es-ES,es;q=0.9,en;q=0.8``)."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in DESK_LANGUAGES and quality > 0:
            ranked.append((-quality, position, primary))
    return min(ranked)[2] if ranked else DEFAULT_DESK_LANGUAGE


def words(node_id: str) -> str:
    text = node_id.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def step_label(flow: Flow | None, node_id: str, language: str = DEFAULT_DESK_LANGUAGE) -> str:
    node = flow.nodes.get(node_id) if flow is not None else None
    if node is not None and node.label.get(language):
        return node.label[language]
    if node is not None and node.description:
        return node.description
    return words(node_id)


def option_label(flow: Flow | None, node_id: str, digits: str, call_language: str | None,
                 language: str = DEFAULT_DESK_LANGUAGE) -> str | None:
    """What the key chose, or None when the flow does not say (the digits are shown instead)."""
    node = flow.nodes.get(node_id) if flow is not None else None
    if isinstance(node, LanguageNode):
        option = node.options.get(digits)
        if option is None:
            return None
        return option.label.get(language) or LANGUAGE_NAMES.get(language, {}).get(option.language, option.language)
    if isinstance(node, MenuNode):
        if digits == AGENT_DIGIT and node.agent:
            return AN_AGENT.get(language, AN_AGENT[DEFAULT_DESK_LANGUAGE])
        menu_option = node.options.get(digits)
        if menu_option is None:
            return None
        if menu_option.label.get(language):
            return menu_option.label[language]
        for said in (language, call_language):
            phrases = menu_option.say.get(said or "") or []
            if phrases:
                return phrases[0]
        return step_label(flow, menu_option.next, language)
    if isinstance(node, OfferCallbackNode | OfferDeflectionNode | ReturningCallerNode):
        yes, no = YES_NO.get(language, YES_NO[DEFAULT_DESK_LANGUAGE])
        return {YES_KEY: yes, NO_KEY: no}.get(digits[:1])
    return None


def reason_label(flow: Flow | None, need: str, language: str = DEFAULT_DESK_LANGUAGE) -> str | None:
    """The reason the caller gave (the flow's ``mark_need``), named like the menu choice that leads
    to it ("Billing"), else like that step; None when the flow does not mark it."""
    if flow is None or not need:
        return None
    marks = [node_id for node_id, node in flow.nodes.items() if isinstance(node, MarkNeedNode) and node.need == need]
    for node_id, node in flow.nodes.items():
        if isinstance(node, MenuNode):
            for key, option in node.options.items():
                if option.next in marks:
                    return option_label(flow, node_id, key, None, language)
            if node.agent in marks:
                return AN_AGENT.get(language, AN_AGENT[DEFAULT_DESK_LANGUAGE])
    return step_label(flow, marks[0], language) if marks else None


def readable(context: Mapping[str, object], flows: FlowSource | None,
             language: str = DEFAULT_DESK_LANGUAGE) -> dict[str, Any]:
    """``steps`` (labels of ``path``) and each input's ``step`` and ``choice`` added to a copy of the
    context (a ``ContextSnapshot.to_dict()``, as the event carried it), in ``language`` (the desk's):
    the screen pop's JSON."""
    flow: Flow | None = None
    name = context.get("flow")
    if flows is not None and isinstance(name, str) and name:
        try:
            flow = flows.by_name(name)
        except LookupError:  # a flow removed since the call started: the ids in words still read
            flow = None
    out: dict[str, Any] = dict(context)
    out["desk_language"] = language
    raw_language = context.get("language")
    call_language = raw_language if isinstance(raw_language, str) else None
    out["language_name"] = LANGUAGE_NAMES[language].get(call_language, call_language) \
        if call_language is not None and language in LANGUAGE_NAMES else raw_language
    path = context.get("path")
    out["steps"] = [step_label(flow, str(n), language) for n in path] if isinstance(path, list) else []
    variables = context.get("variables")
    need = variables.get("need") if isinstance(variables, dict) else None
    out["reason"] = reason_label(flow, need, language) if isinstance(need, str) else None
    inputs = []
    records = context.get("inputs")
    for item in records if isinstance(records, list) else []:
        if not isinstance(item, Mapping):
            continue
        entry: dict[str, object] = dict(item)
        digits = str(entry.get("digits") or "")
        node_id = str(entry.get("node") or "")
        entry["step"] = step_label(flow, node_id, language)
        entry["choice"] = option_label(flow, node_id, digits, call_language, language) if digits else None
        inputs.append(entry)
    out["inputs"] = inputs
    return out
