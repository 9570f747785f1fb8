"""Words the recognizer lacks are told once, at start, with the words; never again per turn."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from ivr.channel import Grammar
from ivr.speech.base import SpeechEngine
from ivr.speech.engines.pocketsphinx import PocketSphinxEngine
from ivr.speech.engines.whisper import WhisperEngine
from ivr.speech.vocabulary import VocabularyCheck

MIXED = Grammar("en", {"billing": "1", "facturación": "1", "zzyzzx": "2"})


class OneEngine:
    def __init__(self, engine: SpeechEngine) -> None:
        self.engine = engine

    def engine_for(self, language: str) -> SpeechEngine | None:
        return self.engine if language == "en" else None


async def test_gaps_are_reported_at_start_then_never_per_turn(caplog: pytest.LogCaptureFixture) -> None:
    engine = PocketSphinxEngine("en")
    check = VocabularyCheck(OneEngine(engine), [MIXED, Grammar("es", {"uno": "1"})])
    with caplog.at_level(logging.WARNING, logger="ivr.speech.engines.pocketsphinx"):
        started = asyncio.Event()
        task = asyncio.create_task(check.run(started))
        await asyncio.wait_for(started.wait(), 5)
        deadline = asyncio.get_running_loop().time() + 30
        while not [r for r in caplog.records if "vocabulary" in r.getMessage()]:
            assert asyncio.get_running_loop().time() < deadline, "no vocabulary report"
            await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        session = engine.new_session(MIXED)  # a caller's turn with the same grammar
        session.close()
    told = [r for r in caplog.records if "vocabulary" in r.getMessage()]
    assert len(told) == 1, [r.getMessage() for r in told]
    assert told[0].__dict__["words"] == ["facturación", "zzyzzx"]


def test_english_whisper_reports_the_words_its_pocketsphinx_lacks(caplog: pytest.LogCaptureFixture,
                                                                  tmp_path: Path) -> None:
    """Whisper itself writes any word down, but English's noisy lines go to its PocketSphinx, which
    drops the phrases it cannot say: those words are told at start as before."""
    engine = WhisperEngine("en", tmp_path / "whisper-base", pocketsphinx=PocketSphinxEngine("en"), min_snr_db=30.0)
    with caplog.at_level(logging.WARNING, logger="ivr.speech.engines.pocketsphinx"):
        VocabularyCheck(OneEngine(engine), [MIXED]).check()
    told = [r for r in caplog.records if "vocabulary" in r.getMessage()]
    assert [r.__dict__["words"] for r in told] == [["facturación", "zzyzzx"]]
