"""Decoy words (ivr.speech.decoys): an out-of-menu word may win the grammar's search, never a key."""

from __future__ import annotations

import pytest

from ivr.channel import Grammar
from ivr.speech import decoys
from ivr.speech.digits import ESCAPE_WORDS, SPOKEN_DIGITS
from ivr.speech.engines.pocketsphinx import PocketSphinxEngine
from ivr.speech.grammar import compile_grammar, normalise
from tests.support import human_audio as human

MENU = {"billing": "1", "technical support": "2", "order status": "3"}


@pytest.mark.parametrize("language", ["en", "es"])
def test_a_decoy_never_maps_to_a_key(language: str) -> None:
    grammar = compile_grammar(Grammar(language, MENU))
    for word in decoys.candidates(language):
        match = grammar.match(decoys.token(word))
        assert match.key is None and match.score == 0.0, word
        assert grammar.match(f"billing {decoys.token(word)}").key is None  # nor half of the path


def test_a_decoy_is_not_a_menu_phrase_even_when_the_menu_says_the_word() -> None:
    grammar = compile_grammar(Grammar("en", {"people": "1", "~billing": "2"}))
    assert grammar.match("people").key == "1"
    assert grammar.match(decoys.token("people")).key is None
    assert normalise("~billing") == "billing"  # the mark cannot reach a phrase


@pytest.mark.parametrize("language", ["en", "es"])
def test_decoys_are_not_the_benchmarks_words_nor_numbers_nor_escapes(language: str) -> None:
    """The rejection is measured on these (bench/speech_human.py): decoys chosen from them would fit the test."""
    measured = {normalise(w) for w in human.OUT_OF_MENU[language]} | set(human.MONTHS[language])
    measured |= set(human.DAYS[language]) | set(human.DIGIT_WORDS[language]) | set(ESCAPE_WORDS[language])
    measured |= {w for words in SPOKEN_DIGITS[language].values() for w in words}
    assert not measured & set(decoys.candidates(language))


def test_decoys_near_a_menu_word_are_left_out() -> None:
    billing = ["B", "IH", "L", "IH", "NG"]
    known = {
        "billings": [["B", "IH", "L", "IH", "NG", "Z"]],  # one phone more
        "rebilling": [["R", "IY", "B", "IH", "L", "IH", "NG"]],  # the word inside it
        "family": [["F", "AE", "M", "AH", "L", "IY"]],
        "the": [["DH", "AH"]],  # too short to be a decoy at all
    }
    assert decoys.select(known, [billing]) == ["family"]


def test_the_grammar_holds_the_decoys_as_a_weighted_branch() -> None:
    text = decoys.jsgf("g1", ["one", "two"], ["family", "money"], 1e-25)
    assert "public <menu> = /1/ ( one | two ) | /1e-25/ <decoy>;" in text
    assert "<decoy> = ( ~family | ~money );" in text
    assert decoys.jsgf("g1", ["two", "one"], [], 1e-25).endswith("public <menu> = ( one | two );\n")


def test_an_english_grammar_gets_the_decoys_that_sound_like_none_of_its_words(en_engine: PocketSphinxEngine) -> None:
    with en_engine.pool.lease() as pooled:
        chosen = en_engine._decoys(pooled, ["money", "one"])
        assert chosen and "money" not in chosen and "family" in chosen
        assert pooled.decoder.lookup_word(decoys.token("family")) == pooled.decoder.lookup_word("family")
