"""Does a menu's prompt tell the caller about every option? A key nobody announces is a key nobody
presses (and a word nobody hears is a word nobody says).

For each menu and each of the flow's languages, the texts of the menu's ``prompts`` (from the prompt
catalogue, ``prompts/catalogue/``) must name every option's key ("press 4") and, for a menu that
listens to speech, at least one of each option's words ("say billing"); the agent route's 0 too.
What is missing is a warning: it does not block publishing (a recording may say more than its
catalogue text), but the editor shows it beside the problems.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ivr.flows.schema import AGENT_DIGIT, Flow, MenuNode
from ivr.flows.validate import Problem
from ivr.prompts.catalogue import PromptCatalogue

_WORD = re.compile(r"\w+")
# How a prompt may say the keys that are not digits.
_SYMBOLS = {"*": ("*", "star", "asterisk", "asterisco"), "#": ("#", "pound", "hash", "almohadilla", "numeral")}


def coverage_warnings(flow: Flow, catalogue: PromptCatalogue | None, *, source: str) -> list[Problem]:
    if catalogue is None:
        return []
    warnings: list[Problem] = []
    for node_id, node in flow.nodes.items():
        if isinstance(node, MenuNode):
            warnings.extend(Problem(source, node_id, message) for message in _menu(flow, node, catalogue))
    return warnings


def _menu(flow: Flow, node: MenuNode, catalogue: PromptCatalogue) -> Iterator[str]:
    names = ", ".join(node.prompts)
    for lang in flow.languages:
        texts = [catalogue.text(p, lang) for p in node.prompts if catalogue.has(p, lang)]
        if not texts:
            continue  # a missing prompt is already a problem of its own
        text = " ".join(texts)
        tokens = _tokens(text)
        said = " ".join(tokens)
        for key, option in node.options.items():
            if not _key_said(key, text, tokens):
                yield f"key {key} is not announced in {lang} (prompt {names})"
            words = option.say.get(lang, [])
            if node.speech and words and not any(_phrase_said(w, said) for w in words):
                yield f"option {key}: none of its words ({', '.join(words)}) is said in {lang} (prompt {names})"
        if node.agent and AGENT_DIGIT not in node.options and not _key_said(AGENT_DIGIT, text, tokens):
            yield f"key {AGENT_DIGIT} (the agent route) is not announced in {lang} (prompt {names})"


def _tokens(text: str) -> list[str]:
    return [t.casefold() for t in _WORD.findall(text)]


def _key_said(key: str, text: str, tokens: list[str]) -> bool:
    if key in _SYMBOLS:
        return any(s in text if not s.isalpha() else s in tokens for s in _SYMBOLS[key])
    return key.casefold() in tokens


def _phrase_said(phrase: str, said: str) -> bool:
    words = " ".join(_tokens(phrase))
    return bool(words) and f" {words} " in f" {said} "
