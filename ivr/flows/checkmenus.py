"""Checks of the nodes that offer choices: a menu's keys, its phrases per language (no duplicates,
none taken by the agent route) and its route to a human; a language node's options and values."""

from __future__ import annotations

from ivr.flows import schema_inputs
from ivr.flows.checkcontext import CheckContext
from ivr.flows.schema import (
    AGENT_DIGIT,
    DIGITS,
    Flow,
    GotoNode,
    LanguageNode,
    MarkNeedNode,
    MenuNode,
    PlayNode,
    QueueNode,
    SetNode,
    TransferNode,
)


def check_menu(c: CheckContext, node_id: str, node: MenuNode) -> None:
    if node.agent and AGENT_DIGIT in node.options:
        c.add(node_id, f"digit {AGENT_DIGIT} is both option {AGENT_DIGIT} and the agent route")
    for digit in node.options:
        if len(digit) != 1 or digit not in DIGITS:
            c.add(node_id, f"option {digit!r}: an option is one key (0-9, *, #)")
    for lang in c.flow.languages:
        owner: dict[str, str] = {}
        for digit, option in node.options.items():
            for phrase in option.say.get(lang, ()):
                _claim(c, node_id, owner, schema_inputs.normalise(phrase), who=f"option {digit}", lang=lang)
        if node.agent:
            for word in sorted(schema_inputs.agent_words(lang)):
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


def _claim(c: CheckContext, node_id: str, owner: dict[str, str], phrase: str, *, who: str, lang: str) -> None:
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


def check_language(c: CheckContext, node_id: str, node: LanguageNode) -> None:
    owner: dict[str, str] = {}
    for digit, option in node.options.items():
        if option.language not in c.flow.languages:
            c.add(node_id, f"option {digit}: language {option.language!r} is not one of the flow's languages")
        for phrase in option.say:
            _claim(c, node_id, owner, schema_inputs.normalise(phrase), who=f"option {digit}", lang="any")
    if node.value is not None and node.value not in c.flow.languages:
        c.add(node_id, f"value: language {node.value!r} is not one of the flow's languages")
    if node.default is not None and node.default not in c.flow.languages:
        c.add(node_id, f"default: language {node.default!r} is not one of the flow's languages")
