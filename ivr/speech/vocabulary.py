"""At start, tell which words of the flows' menus a language's recognizer does not know.

The engines drop such phrases from a grammar silently (see :mod:`ivr.speech.gaps`); this component
makes the first report happen once at start-up, with the words, instead of during a caller's turn.
It runs in a worker thread: reading a dictionary or loading a model takes 0.1 s to a few seconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from ivr.channel import Grammar
from ivr.speech.base import SpeechEngine, SpeechError

log = logging.getLogger(__name__)


@runtime_checkable
class CheckableVocabulary(Protocol):
    def check_vocabulary(self, grammar: Grammar) -> None:
        """Report (once per word) the grammar's words the model lacks."""
        ...


class EngineLookup(Protocol):
    def engine_for(self, language: str) -> SpeechEngine | None: ...


class VocabularyCheck:
    """A component that checks every grammar once, then idles until the server stops."""

    name = "speech-vocabulary"

    def __init__(self, engines: EngineLookup, grammars: Sequence[Grammar]) -> None:
        self._engines = engines
        self._grammars = list(grammars)

    async def run(self, started: asyncio.Event) -> None:
        started.set()  # nothing waits on this check: calls work meanwhile
        await asyncio.to_thread(self.check)
        await asyncio.Event().wait()  # done; stay alive like every component until cancelled

    def check(self) -> None:
        for grammar in self._grammars:
            engine = self._engines.engine_for(grammar.language)
            if not isinstance(engine, CheckableVocabulary):
                continue
            try:
                engine.check_vocabulary(grammar)
            except SpeechError as exc:  # a missing model is reported here, and again per call by the engine
                log.warning("speech vocabulary not checked", extra={"language": grammar.language, "error": str(exc)})
