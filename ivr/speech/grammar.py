"""From a menu's :class:`Grammar` to what an engine listens for, and from a transcript back to a key.

The compiled grammar holds the menu's phrases (synonyms included by the menu), the human-escape
words and the spoken digits of the keys the menu offers. Mapping a transcript: an exact phrase
first, then phrases contained in the transcript, then the closest phrase by similarity; each with
a score in [0, 1] that the caller combines with the engine's confidence. A transcript holding a
decoy word (:mod:`ivr.speech.decoys`) maps to no key.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass

from ivr.channel import Grammar
from ivr.speech.decoys import is_decoy
from ivr.speech.digits import ESCAPE_KEY, escape_words, spoken_digits

_SPACES = re.compile(r"\s+")
_PUNCT = re.compile(r"[^\w\s']", re.UNICODE)


def normalise(text: str) -> str:
    """Lower case, NFC, punctuation dropped, single spaces."""
    text = unicodedata.normalize("NFC", text).lower()
    return _SPACES.sub(" ", _PUNCT.sub(" ", text)).strip()


@dataclass(frozen=True, slots=True)
class Match:
    key: str | None
    phrase: str | None
    score: float


NO_MATCH = Match(key=None, phrase=None, score=0.0)


@dataclass(frozen=True, slots=True)
class CompiledGrammar:
    language: str
    phrases: dict[str, str]  # normalised phrase -> key

    @property
    def keys(self) -> set[str]:
        return set(self.phrases.values())

    def match(self, transcript: str, *, min_score: float = 0.6) -> Match:
        return match_transcript(self.phrases, transcript, min_score=min_score)


def compile_grammar(grammar: Grammar, *, with_escape: bool = True, with_digits: bool = True) -> CompiledGrammar:
    """The menu's phrases + escape words + spoken digits; the menu's own phrases win on conflict."""
    menu = {normalise(p): k for p, k in grammar.phrases.items() if normalise(p)}
    phrases: dict[str, str] = {}
    if with_escape:
        words = escape_words(grammar.language)
        # If the menu already maps an escape word to a key (e.g. "agent" -> "0"), every escape
        # word goes there; otherwise to the symbolic agent key.
        key = next((menu[w] for w in words if w in menu), ESCAPE_KEY)
        phrases.update(dict.fromkeys(words, key))
    if with_digits:
        phrases.update(spoken_digits(grammar.language, set(menu.values())))
    phrases.update(menu)
    return CompiledGrammar(language=grammar.language, phrases=phrases)


def match_transcript(phrases: dict[str, str], transcript: str, *, min_score: float = 0.6) -> Match:
    if any(is_decoy(word) for word in transcript.split()):
        return NO_MATCH  # the decoder heard a decoy (ivr.speech.decoys): a word outside the menu
    text = normalise(transcript)
    if not text:
        return NO_MATCH
    if text in phrases:
        return Match(phrases[text], text, 1.0)
    contained = _contained(phrases, text)
    if contained is not None:
        return contained
    return _closest(phrases, text, min_score)


def _contained(phrases: dict[str, str], text: str) -> Match | None:
    """Phrases found as whole words in a longer transcript ("billing please", "하나 상담원")."""
    padded = f" {text} "
    found = [(p, k) for p, k in phrases.items() if f" {p} " in padded]
    if not found:
        return None
    keys = {k for _, k in found}
    phrase, key = max(found, key=lambda pk: len(pk[0]))
    coverage = sum(len(p) for p, _ in found) / len(text.replace(" ", "")) if text else 0.0
    score = 0.7 + 0.25 * min(coverage, 1.0)
    if len(keys) > 1:
        score *= 0.6  # two different options named: ask rather than guess
    return Match(key, phrase, round(score, 3))


def _closest(phrases: dict[str, str], text: str, min_score: float) -> Match:
    scored = sorted(
        ((difflib.SequenceMatcher(None, text, p).ratio(), p) for p in phrases), reverse=True
    )
    if not scored:
        return NO_MATCH
    best_score, best = scored[0]
    # A close runner-up for another key makes the match less certain.
    runner = next((s for s, p in scored[1:] if phrases[p] != phrases[best]), 0.0)
    score = best_score - max(0.0, runner - (best_score - 0.15))
    if score < min_score:
        return Match(None, None, round(max(score, 0.0), 3))
    return Match(phrases[best], best, round(score * 0.9, 3))
