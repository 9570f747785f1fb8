from __future__ import annotations

import pytest

from ivr.channel import Grammar
from ivr.speech.digits import ESCAPE_KEY, spoken_digits
from ivr.speech.grammar import compile_grammar, match_transcript, normalise

MENU_EN = Grammar("en", {"billing": "1", "payments": "1", "technical support": "2", "order status": "3"})
MENU_ES = Grammar("es", {"facturación": "1", "soporte técnico": "2", "estado del pedido": "3"})


def test_compiled_grammar_adds_escape_words_and_only_offered_digits() -> None:
    compiled = compile_grammar(MENU_EN)
    assert compiled.phrases["billing"] == "1"
    assert compiled.phrases["agent"] == ESCAPE_KEY
    assert compiled.phrases["operator"] == ESCAPE_KEY
    assert compiled.phrases["two"] == "2"
    assert compiled.phrases["three"] == "3"
    assert "four" not in compiled.phrases  # the menu has no option 4
    assert "zero" not in compiled.phrases


def test_spanish_digits_and_escape_words() -> None:
    compiled = compile_grammar(MENU_ES)
    assert compiled.phrases["dos"] == "2"
    assert compiled.phrases["uno"] == "1"
    assert compiled.phrases["asesor"] == ESCAPE_KEY
    assert compiled.phrases["operadora"] == ESCAPE_KEY
    assert compiled.match("dos").key == "2"


def test_escape_words_follow_the_menus_own_agent_key() -> None:
    compiled = compile_grammar(Grammar("en", {"billing": "1", "agent": "0"}))
    assert compiled.phrases["operator"] == "0"
    assert compiled.phrases["zero"] == "0"
    assert compiled.match("representative").key == "0"


def test_menu_phrase_wins_over_a_digit_word() -> None:
    compiled = compile_grammar(Grammar("en", {"one": "2", "billing": "1"}))
    assert compiled.phrases["one"] == "2"


def test_exact_match_scores_one() -> None:
    match = compile_grammar(MENU_EN).match("Technical  Support!")
    assert (match.key, match.phrase, match.score) == ("2", "technical support", 1.0)


def test_contained_phrase_in_a_longer_transcript() -> None:
    match = compile_grammar(MENU_EN).match("i want billing please")
    assert match.key == "1"
    assert 0.7 <= match.score < 1.0


def test_two_options_named_lowers_the_score() -> None:
    single = compile_grammar(MENU_EN).match("billing billing")
    both = compile_grammar(MENU_EN).match("billing order status")
    assert both.score < single.score
    assert both.score < 0.6


def test_fuzzy_match_for_a_near_miss_and_nothing_for_noise() -> None:
    compiled = compile_grammar(MENU_EN)
    near = compiled.match("technical suport")
    assert near.key == "2"
    assert 0.6 <= near.score < 1.0
    assert compiled.match("banana").key is None
    assert compiled.match("").key is None


def test_normalise_keeps_accents_and_hangul() -> None:
    assert normalise("  Facturación, ") == "facturación"
    assert normalise("기술  지원") == "기술 지원"


def test_spoken_digits_for_regional_language_tags() -> None:
    assert spoken_digits("es-MX", {"2"}) == {"dos": "2"}
    assert spoken_digits("xx", {"2"}) == {}


def test_match_transcript_is_pure() -> None:
    assert match_transcript({"결제": "1"}, "결제").key == "1"


def test_each_language_gets_only_its_own_escape_words() -> None:
    from ivr.flows.schema_inputs import agent_words

    assert "asesor" not in agent_words("en") and "agent" in agent_words("en")
    assert "asesor" in agent_words("es") and "agent" not in agent_words("es")
    assert "asesor" not in compile_grammar(MENU_EN).phrases


def test_vocabulary_gaps_are_told_once_per_word(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from ivr.speech.gaps import VocabularyGaps

    gaps = VocabularyGaps(logging.getLogger("ivr.test.gaps"), "PocketSphinx", "en")
    with caplog.at_level(logging.WARNING, logger="ivr.test.gaps"):
        for _turn in range(3):  # every menu turn compiles the same grammar
            gaps.report(["asesor"], ["asesor"])
        gaps.report(["asesor", "facturación"], ["asesor", "facturación"])
    told = [r for r in caplog.records if r.name == "ivr.test.gaps"]
    assert [r.__dict__["words"] for r in told] == [["asesor"], ["facturación"]]
