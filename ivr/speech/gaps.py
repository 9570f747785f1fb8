"""Words of a grammar that a recognizer's vocabulary lacks: told once per word, not on every turn.

A menu's grammar is compiled on every turn; a word the model cannot recognise is a property of the
configuration (flows + model), so the warning says which words, once, and the phrases using them
are dropped from every grammar silently afterwards.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable


class VocabularyGaps:
    """Thread-safe memory of the words already reported for one engine and language."""

    def __init__(self, log: logging.Logger, engine: str, language: str) -> None:
        self._log = log
        self._engine = engine
        self._language = language
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def report(self, missing: Iterable[str], phrases: Iterable[str]) -> None:
        with self._lock:
            new = sorted(set(missing) - self._seen)
            self._seen.update(new)
        if new:
            self._log.warning(
                "speech words not in the %s vocabulary: phrases using them are not recognised",
                self._engine,
                extra={"language": self._language, "words": new, "phrases": sorted(set(phrases))},
            )
