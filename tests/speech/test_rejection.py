"""Out-of-grammar speech is rejected (or left for the flow to confirm); noisy menu answers still map."""

from __future__ import annotations

import pytest

from ivr.channel import Grammar
from ivr.settings import SpeechSettings
from ivr.speech.base import SpeechResult
from ivr.speech.engines.pocketsphinx import PocketSphinxEngine
from ivr.speech.engines.vosk import VoskEngine
from ivr.speech.verify import Segment, verification
from tests.support.speech_audio import chunks, padded, render, with_noise

MENU_EN = Grammar("en", {"billing": "1", "payments": "1", "technical support": "2", "order status": "3"})
THRESHOLD = SpeechSettings().confidence_threshold


def recognise(engine: PocketSphinxEngine, pcm: bytes) -> SpeechResult:
    session = engine.new_session(MENU_EN)
    for chunk in chunks(pcm):
        session.accept(chunk)
        if session.is_endpoint:
            break
    return session.finish()


WINDOW = (0, 250)  # the decoded frames


def test_verification_trusts_words_that_span_the_speech() -> None:
    words = [Segment("billing", 30, 80, -3.5 * 51)]
    assert verification(words, speech=(30, 80), window=WINDOW) == 1.0


def test_verification_rejects_a_word_squeezed_into_a_long_sentence() -> None:
    words = [Segment("one", 100, 120, -3.0 * 21)]
    assert verification(words, speech=(20, 200), window=WINDOW) == 0.0


def test_verification_rejects_a_poor_acoustic_fit() -> None:
    words = [Segment("billing", 30, 80, -9.0 * 51)]
    assert verification(words, speech=(30, 80), window=WINDOW) == 0.0
    assert verification([], speech=(30, 80), window=WINDOW) == 0.0


def test_the_margin_is_the_words_score_per_frame() -> None:
    """-5.2 per frame sits half-way between the English bounds (-6.2 and -4.2)."""
    words = [Segment("bill", 30, 49, -6.0 * 20), Segment("ing", 50, 69, -4.4 * 20)]
    assert verification(words, speech=(30, 69), window=WINDOW) == pytest.approx(0.5)


def test_escape_words_need_a_margin_an_option_need_not_reach() -> None:
    """A margin of -4 per frame is a fine option but not an escape ("agent" costs an agent's time)."""
    words = [Segment("agent", 30, 80, -4.0 * 51)]
    assert verification(words, speech=(30, 80), window=WINDOW) == 1.0
    assert verification(words, speech=(30, 80), window=WINDOW, strict=True) == 0.0
    close = [Segment("agent", 30, 80, -2.5 * 51)]
    assert verification(close, speech=(30, 80), window=WINDOW, strict=True) == 1.0


@pytest.mark.speech
@pytest.mark.usefixtures("espeak")
@pytest.mark.parametrize(
    "text",
    ["i want to cancel my subscription", "where is my package", "the weather is nice today", "what time do you close"],
)
def test_pocketsphinx_rejects_out_of_grammar_speech(en_engine: PocketSphinxEngine, text: str) -> None:
    result = recognise(en_engine, padded(render(text)))
    assert result.key is None or result.confidence < THRESHOLD, result


@pytest.mark.speech
@pytest.mark.usefixtures("espeak")
@pytest.mark.parametrize(
    ("spoken", "snr", "key"),
    [(("technical support", "en-us", 175), 10.0, "2"), (("agent", "en-us", 140), 10.0, "agent"),
     (("billing", "en+m3", 140), 20.0, "1"), (("order status", "en", 175), 20.0, "3")],
)
def test_pocketsphinx_noisy_menu_answers_still_map(
    en_engine: PocketSphinxEngine, spoken: tuple[str, str, int], snr: float, key: str
) -> None:
    text, voice, speed = spoken
    result = recognise(en_engine, with_noise(padded(render(text, voice=voice, speed=speed)), snr_db=snr))
    assert result.key == key, result


@pytest.mark.speech
@pytest.mark.usefixtures("espeak")
@pytest.mark.parametrize("text", ["안녕하세요", "다시 말해 주세요"])
def test_vosk_out_of_grammar_speech_is_not_trusted(ko_engine: VoskEngine, text: str) -> None:
    """Kaldi tiles these with several menu words ("하나 일"); the flow must confirm or re-prompt."""
    session = ko_engine.new_session(Grammar("ko", {"예약": "1", "환불": "2"}))
    for chunk in chunks(padded(render(text, voice="ko"))):
        session.accept(chunk)
        if session.is_endpoint:
            break
    result = session.finish()
    assert result.key is None or result.confidence < THRESHOLD, result


def test_coverage_is_measured_against_the_endpointed_speech() -> None:
    """A word covering all the speech the endpointer heard is trusted; with no speech heard, the
    words must cover the decoded window (noise a grammar forced a word onto does not)."""
    words = [Segment("one", 46, 84, -2.4 * 39)]
    assert verification(words, speech=(42, 73), window=(0, 128)) == 1.0
    assert verification(words, speech=None, window=(0, 128)) == 0.0
    assert verification(words, speech=None, window=(44, 86)) == 1.0


def test_a_word_covering_part_of_the_endpointed_speech_is_rejected() -> None:
    words = [Segment("bill", 84, 101, -3.9 * 18)]
    assert verification(words, speech=(46, 99), window=WINDOW) == 0.0
