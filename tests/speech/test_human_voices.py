"""Real human voices: Asterisk's recorded prompts from Debian's asterisk-core-sounds-{en,es}-wav.

A few words per set that the engines get right today, so a change that loses them fails here; the
full sets, their rates per condition and the out-of-menu rejection are in bench/speech_human.py
(its table is the measure, these tests the guard). Spanish runs on the English acoustic model with
the words spelled into its phones: no model to download.
"""

from __future__ import annotations

import os

import pytest

from ivr.channel import Grammar
from ivr.speech.base import SpeechEngine
from ivr.speech.engines.pocketsphinx import PocketSphinxEngine, speech_frames
from ivr.speech.session import denoised
from tests.support import human_audio as human
from tests.support.speech_audio import chunks, padded, with_noise

pytestmark = pytest.mark.speech

CONFIDENT = 0.5  # SpeechSettings.confidence_threshold


def voice(language: str) -> None:
    if human.voice_dir(language) is None:
        message = f"{human.PACKAGES[language]} is not installed (scripts/install-system-deps.sh test installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)  # make test installs it: its absence in CI is a broken set-up
        pytest.skip(message)


@pytest.fixture(scope="module")
def es_engine() -> PocketSphinxEngine:
    engine = PocketSphinxEngine("es")
    engine.load()
    return engine


def recognise(engine: SpeechEngine, grammar: Grammar, pcm: bytes) -> tuple[str | None, float]:
    """The recording, with silence around it, heard on ``grammar``: (key, confidence)."""
    return recognise_line(engine, grammar, padded(pcm))


def recognise_line(engine: SpeechEngine, grammar: Grammar, line: bytes) -> tuple[str | None, float]:
    """A whole line's audio (already padded or noisy) heard on ``grammar``: (key, confidence)."""
    session = engine.new_session(grammar)
    for chunk in chunks(line):
        session.accept(chunk)
        if session.is_endpoint:
            break
    result = session.finish()
    return result.key, result.confidence


def digits_grammar(language: str) -> Grammar:
    return Grammar(language, {w: str(i) for i, w in enumerate(human.DIGIT_WORDS[language])})


def assert_digit_heard_clean_and_through_mulaw(engine: SpeechEngine, language: str, key: str) -> None:
    """The recorded digit ``key`` on a digits menu gives that key, confidently, clean and as G.711 µ-law."""
    voice(language)
    pcm = human.digit(language, key)
    for audio in (pcm, human.mulaw(pcm)):
        got, confidence = recognise(engine, digits_grammar(language), audio)
        assert (got, confidence >= CONFIDENT) == (key, True)


@pytest.mark.parametrize("key", ["1", "2", "3", "4", "7", "9"])
def test_english_digits_by_a_human_voice_clean_and_through_mulaw(en_engine: PocketSphinxEngine, key: str) -> None:
    assert_digit_heard_clean_and_through_mulaw(en_engine, "en", key)


@pytest.mark.parametrize("key", ["0", "1", "3", "4"])
def test_english_digits_by_a_human_voice_on_a_10_db_line(en_engine: PocketSphinxEngine, key: str) -> None:
    """The phone loop hears a noisy line's hiss as fricatives from end to end: measured against its
    span, a right word looked squeezed and was rejected (all four, before coverage was measured
    against the endpointed speech)."""
    voice("en")
    line = with_noise(padded(human.digit("en", key)), 10, seed=int(key) + 1)
    session = en_engine.new_session(digits_grammar("en"))
    for chunk in chunks(line):
        session.accept(chunk)
        if session.is_endpoint:
            break
    result = session.finish()
    assert (result.key, result.confidence >= CONFIDENT) == (key, True)


def test_speech_frames_hold_the_word_not_the_line_around_it() -> None:
    """On a 10 dB line the speech is found where it is on a clean one, not spread over the hiss."""
    voice("en")
    word = padded(human.digit("en", "7"))
    clean, noisy = speech_frames(denoised(word)), speech_frames(denoised(with_noise(word, 10, seed=3)))
    assert clean is not None and noisy is not None
    assert clean[0] - 5 <= noisy[0] and noisy[1] <= clean[1] + 5
    assert noisy[1] - noisy[0] >= (clean[1] - clean[0]) // 2


@pytest.mark.parametrize(("index", "key"), [(0, "1"), (3, "4"), (4, "5"), (5, "6")])
def test_english_menu_words_by_a_human_voice(en_engine: PocketSphinxEngine, index: int, key: str) -> None:
    voice("en")
    menu = Grammar("en", {w: str(i + 1) for i, w in enumerate(human.MONTHS["en"][:6])})
    got, confidence = recognise(en_engine, menu, human.month("en", index))
    assert (got, confidence >= CONFIDENT) == (key, True)


@pytest.mark.parametrize("name", ["transfer", "invalid", "digits/yesterday", "cancelled"])
def test_english_words_outside_the_main_menu_are_not_taken(en_engine: PocketSphinxEngine, name: str) -> None:
    voice("en")
    menu = Grammar("en", {"billing": "1", "payments": "1", "technical support": "2", "order status": "3"})
    got, confidence = recognise(en_engine, menu, human.load("en", name))
    assert got is None or confidence < CONFIDENT


@pytest.mark.parametrize(("language", "name"), [("en", "hello"), ("en", "digits/today"), ("en", "digits/tomorrow"),
                                                ("en", "digits/mon-3"), ("es", "digits/mon-8"), ("es", "digits/day-5")])
def test_words_outside_the_menu_do_not_reach_an_agent(
    en_engine: PocketSphinxEngine, es_engine: PocketSphinxEngine, language: str, name: str
) -> None:
    """These were taken as "agent"/"asesor" at >= 0.5 before escapes needed a stronger margin."""
    voice(language)
    engine = en_engine if language == "en" else es_engine
    got, confidence = recognise(engine, Grammar(language, human.MAIN_MENU[language]), human.load(language, name))
    assert got != "agent" or confidence < CONFIDENT, (got, confidence)


@pytest.mark.parametrize("key", ["0", "1", "2", "4", "5", "6", "8", "9"])  # 0, 5: since /s/ may be TH; 6: "ei" as EY IY
def test_spanish_digits_by_a_human_voice_out_of_the_box(es_engine: PocketSphinxEngine, key: str) -> None:
    voice("es")
    got, confidence = recognise(es_engine, digits_grammar("es"), human.digit("es", key))
    assert (got, confidence >= CONFIDENT) == (key, True)


@pytest.mark.parametrize(("kind", "index", "key"), [("month", 0, "1"), ("month", 3, "4"), ("month", 4, "5"),
                                                    ("day", 1, "1"), ("day", 4, "4"), ("day", 6, "6")])
def test_spanish_menu_words_by_a_human_voice(es_engine: PocketSphinxEngine, kind: str, index: int, key: str) -> None:
    voice("es")
    if kind == "month":
        menu = Grammar("es", {w: str(i + 1) for i, w in enumerate(human.MONTHS["es"][:6])})
        pcm = human.month("es", index)
    else:
        menu = Grammar("es", {w: str(i + 1) for i, w in enumerate(human.DAYS["es"][1:7])})
        pcm = human.day("es", index)
    got, confidence = recognise(es_engine, menu, pcm)
    assert (got, confidence >= CONFIDENT) == (key, True)


@pytest.mark.parametrize("name", ["transfer", "invalid", "digits/dollars"])
def test_spanish_words_outside_the_main_menu_are_not_taken(es_engine: PocketSphinxEngine, name: str) -> None:
    voice("es")
    menu = Grammar("es", {"facturación": "1", "pagos": "1", "soporte técnico": "2", "estado del pedido": "3"})
    got, confidence = recognise(es_engine, menu, human.load("es", name))
    assert got is None or confidence < CONFIDENT


def test_spanish_taps_and_close_vowels_by_a_human_voice(es_engine: PocketSphinxEngine) -> None:
    """"febrero" was taken as "enero" while its taps were spelled as English R and its e as EH."""
    voice("es")
    menu = Grammar("es", {w: str(i + 1) for i, w in enumerate(human.MONTHS["es"][:6])})
    for audio in (human.month("es", 1), human.mulaw(human.month("es", 1))):
        got, confidence = recognise(es_engine, menu, audio)
        assert (got, confidence >= CONFIDENT) == ("2", True)


@pytest.mark.parametrize("name", ["hours", "digits/hundred"])
def test_spanish_words_forced_onto_the_main_menu_are_not_taken(es_engine: PocketSphinxEngine, name: str) -> None:
    """"horas" -> "una", "cien" -> "pedido": taken under the English bounds. ("minutos" is not here:
    decoded as by a fresh decoder it is taken at 0.59 under the Spanish bounds too; it passed only
    after what the shared engine had decoded before it, and failed when run alone. It is one of the
    out-of-menu words bench/speech_human.py counts as accepted.)"""
    voice("es")
    got, confidence = recognise(es_engine, Grammar("es", human.MAIN_MENU["es"]), human.load("es", name))
    assert got is None or confidence < CONFIDENT, (got, confidence)


def test_spanish_grammars_need_no_dictionary(es_engine: PocketSphinxEngine) -> None:
    """Every Spanish word is spelled into phones: nothing of a Spanish menu is dropped."""
    session = es_engine.new_session(Grammar("es", {"facturación": "1", "soporte técnico": "2", "pedido": "3"}))
    phrases = session.grammar.phrases
    session.close()
    assert {"facturación", "soporte técnico", "pedido", "asesor", "agente", "uno", "dos", "tres"} <= set(phrases)
    assert phrases["asesor"] == "agent"


@pytest.mark.parametrize(("name", "seed"), [("digits/day-0", 1), ("digits/mon-7", 3)])
def test_english_words_outside_the_main_menu_are_heard_as_decoys(en_engine: PocketSphinxEngine, name: str,
                                                                 seed: int) -> None:
    """"sunday" and "august" on a 10 dB line went to "invoice" (0.54) and "order" (0.59) without decoys."""
    voice("en")
    session = en_engine.new_session(Grammar("en", human.MAIN_MENU["en"]))
    for chunk in chunks(with_noise(padded(human.load("en", name)), 10, seed)):
        session.accept(chunk)
        if session.is_endpoint:
            break
    result = session.finish()
    assert result.transcript.startswith("~") and result.key is None, result


@pytest.mark.parametrize("key", ["1", "2", "3"])
def test_english_options_on_the_main_menu_still_win_over_the_decoys(en_engine: PocketSphinxEngine, key: str) -> None:
    voice("en")
    got, confidence = recognise(en_engine, Grammar("en", human.MAIN_MENU["en"]), human.digit("en", key))
    assert (got, confidence >= CONFIDENT) == (key, True)


def test_an_utterance_decodes_the_same_whatever_the_decoder_heard_before() -> None:
    """A pooled decoder serves every call: the last caller's line must not change what this one is
    heard to say (the model's noise estimate carried over: "two" at 10 dB became "four")."""
    voice("en")
    from ivr.speech.grammar import compile_grammar

    engine = PocketSphinxEngine("en", pool_size=1)
    digits = compile_grammar(digits_grammar("en"))
    menu = compile_grammar(Grammar("en", human.MAIN_MENU["en"]))
    items = [(digits, with_noise(padded(human.digit("en", k)), 10, seed=1)) for k in "0234"]
    items += [(menu, with_noise(padded(human.load("en", name)), 10, seed=1)) for name in ("hello", "transfer")]
    forwards = [engine.decode(grammar, pcm) for grammar, pcm in items]
    backwards = [engine.decode(grammar, pcm) for grammar, pcm in reversed(items)][::-1]
    assert forwards == backwards
