"""Real recognizers on espeak-ng speech at 8 kHz: PocketSphinx (English), Vosk (the Korean model)."""

from __future__ import annotations

import pytest

from ivr.channel import Grammar
from ivr.speech.base import EmptyGrammar, RecognizerSession, SpeechEngine, SpeechResult
from ivr.speech.engines.pocketsphinx import PocketSphinxEngine
from ivr.speech.engines.vosk import VoskEngine
from tests.support.speech_audio import chunks, padded, render, silence, with_noise

pytestmark = [pytest.mark.speech, pytest.mark.usefixtures("espeak")]

MENU_EN = Grammar("en", {"billing": "1", "payments": "1", "technical support": "2", "order status": "3"})
# A test-only Korean menu: phrases the Korean model recognises reliably from espeak-ng's voice
# (결제, 기술 지원, 둘 and 셋 were tried and are not: espeak-ng's Korean is too rough for them).
MENU_KO = Grammar("ko", {"예약": "1", "환불": "2"})


def recognise(engine: SpeechEngine, grammar: Grammar, pcm: bytes) -> tuple[SpeechResult, RecognizerSession]:
    session = engine.new_session(grammar)
    for chunk in chunks(pcm):
        session.accept(chunk)
        if session.is_endpoint:
            break
    return session.finish(), session


@pytest.mark.parametrize(
    ("text", "key"),
    [("billing", "1"), ("technical support", "2"), ("order status", "3"), ("agent", "agent"), ("two", "2"),
     ("operator", "agent")],
)
def test_pocketsphinx_maps_english_phrases(en_engine: PocketSphinxEngine, text: str, key: str) -> None:
    result, session = recognise(en_engine, MENU_EN, padded(render(text)))
    assert result.transcript == text
    assert result.key == key
    assert result.engine == "pocketsphinx"
    assert 0.5 < result.confidence <= 1.0
    assert session.is_endpoint  # the trailing silence ended the utterance


def test_pocketsphinx_with_another_voice_and_noise(en_engine: PocketSphinxEngine) -> None:
    pcm = with_noise(padded(render("order status", voice="en+m3", speed=140)), snr_db=20)
    result, _ = recognise(en_engine, MENU_EN, pcm)
    assert result.key == "3"


def test_pocketsphinx_reports_speech_start(en_engine: PocketSphinxEngine) -> None:
    """Speech start is reported while listening (barge-in); the grammar pass itself runs once, on the
    whole utterance at the end (batch cepstral normalisation), so there is no partial text."""
    session = en_engine.new_session(MENU_EN)
    partials = [p for c in chunks(padded(render("technical support"))) if (p := session.accept(c)) is not None]
    result = session.finish()
    assert partials and partials[-1].speech_started
    assert result.transcript == "technical support"


def test_pocketsphinx_silence_is_no_speech(en_engine: PocketSphinxEngine) -> None:
    session = en_engine.new_session(MENU_EN)
    for chunk in chunks(silence(1500)):
        session.accept(chunk)
    assert not session.speech_started
    assert not session.is_endpoint
    result = session.finish()
    assert result.key is None
    assert result.confidence == 0.0


def test_pocketsphinx_drops_unknown_words_and_reuses_decoders(en_engine: PocketSphinxEngine) -> None:
    grammar = Grammar("en", {"billing": "1", "zzqxv support": "2"})
    before = en_engine.decoders_created
    for _ in range(3):
        result, _ = recognise(en_engine, grammar, padded(render("billing")))
        assert result.key == "1"
    assert en_engine.decoders_created - before <= 1  # pooled, not one per utterance
    with pytest.raises(EmptyGrammar):
        # A language without escape/digit tables, and a word the English dictionary lacks.
        en_engine.new_session(Grammar("xx", {"facturación": "1"}))


@pytest.mark.parametrize(("text", "key"), [("예약", "1"), ("환불", "2"), ("상담원", "agent"), ("일", "1")])
def test_vosk_korean_model_maps_phrases(ko_engine: VoskEngine, text: str, key: str) -> None:
    result, session = recognise(ko_engine, MENU_KO, padded(render(text, voice="ko")))
    assert result.key == key, result
    assert text in result.transcript.split()  # Vosk may add a word ("하나 상담원"); the key decides
    assert result.engine == "vosk"
    assert 0.0 < result.confidence <= 1.0
    assert session.is_endpoint


def test_vosk_korean_other_voice_and_noise(ko_engine: VoskEngine) -> None:
    pcm = with_noise(padded(render("환불", voice="ko+f2", speed=130)), snr_db=20)
    result, _ = recognise(ko_engine, MENU_KO, pcm)
    assert result.key == "2"


def test_noisy_line_10_db(ko_engine: VoskEngine, en_engine: PocketSphinxEngine) -> None:
    """The denoiser in front of both engines keeps a 10 dB SNR line usable."""
    ko, _ = recognise(ko_engine, MENU_KO, with_noise(padded(render("환불", voice="ko")), snr_db=10))
    en, _ = recognise(en_engine, MENU_EN, with_noise(padded(render("technical support")), snr_db=10))
    assert (ko.key, en.key) == ("2", "2")


def test_vosk_listens_cheaply_then_decodes_at_the_end(ko_engine: VoskEngine) -> None:
    """Listening reports speech start (barge-in) and only buffers; Kaldi runs once, in ``finish``."""
    session = ko_engine.new_session(MENU_KO)
    partials = [p for c in chunks(padded(render("예약", voice="ko"))) if (p := session.accept(c)) is not None]
    assert [p.speech_started for p in partials] == [True]
    assert 0 < session.buffered_bytes <= 12 * 16000
    assert session.finish().key == "1"
    assert session.buffered_bytes == 0


def test_vosk_drops_words_missing_from_the_model(ko_engine: VoskEngine) -> None:
    grammar = Grammar("ko", {"예약": "1", "zzqxv": "2"})
    result, _ = recognise(ko_engine, grammar, padded(render("예약", voice="ko")))
    assert result.key == "1"
    with pytest.raises(EmptyGrammar):
        ko_engine.new_session(Grammar("en", {"zzqxv": "1"}))  # and no English escape words either
