"""Moonshine engine: English noisy lines, as a choice among the menu's phrases.

Moonshine base (ivr.speech.engines.moonshine_model) hears the utterance once; then, instead of
taking what it writes, every phrase of the menu is scored against the audio (the log-probability
that the model writes exactly that phrase) and the best is the answer. Two numbers judge it:

* **against free writing**: the best phrase's score minus the score of what the model writes
  unprompted (its greedy transcript). A caller who said a menu phrase gets a difference near 0
  (the model writes the phrase, or nearly: "Mars" for a noisy "march", -1.7); out-of-menu speech
  ("yesterday", "please hold while I try that extension") mostly scores 4 to 24 below what it wrote.
* **against the other keys**: the best phrase's score minus the best phrase of any other key.
  Out-of-menu speech forced onto the menu mostly lands between options (within 3); real answers
  mostly stand 4 or more clear.

Each maps to [0, 1] between its bounds and the lower one is the confidence, as
ivr.speech.verify does for PocketSphinx. The human-escape words ("agent", "operator", ...) need
stronger evidence: tighter bounds on both.

On bench/speech_human.py's English human set at 10 dB SNR, five noise sequences per word, this
hears 90.9 % of digits and 90.0 % of menu words, where PocketSphinx hears 60.0 and 53.3 %, and
rejects 98.8 % of out-of-menu words (PocketSphinx 89.8 %). A spoken "agent" at 10 dB passes the
escape's bounds on 1 of those 5 lines (PocketSphinx: 1 of 5): there, out-of-menu "june" can fit
"human" nearly as well, and a false escape costs more than asking again. It costs 0.3-0.7 s of one
core per utterance on this class of machine (float32 ONNX), several times Whisper's int8: English
sends it only the lines its SNR gate finds noisy (ivr.speech.engines.whisper).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ivr.channel import Grammar
from ivr.speech.audio import wideband
from ivr.speech.base import Decoded, EndpointConfig, ModelMissing
from ivr.speech.digits import base_language, escape_words
from ivr.speech.engines import moonshine_weights
from ivr.speech.engines.moonshine_model import MoonshineModel, MoonshineModels
from ivr.speech.grammar import CompiledGrammar
from ivr.speech.session import DecodingSession, open_vocabulary_session, prepared
from ivr.speech.verify import scale

log = logging.getLogger(__name__)

MAX_TOKENS = 12  # the free transcript's length: enough to tell a sentence from a menu word
MIN_SECONDS = 1.0  # shorter audio (the warm-up's 100 ms, say) is padded with silence to this


@dataclass(frozen=True, slots=True)
class Bounds:
    """Where the two differences (natural-log units) map to 0 and 1."""

    free_low: float
    free_high: float
    other_low: float
    other_high: float

    def confidence(self, against_free: float, against_other: float) -> float:
        return min(scale(against_free, self.free_low, self.free_high),
                   scale(against_other, self.other_low, self.other_high))


# Fitted on bench/speech_human.py (English: clean, µ-law, 20 dB; 10 dB over noise seeds 1-3, checked
# on seeds 4-5). Options said: against free writing mostly -3 to 0, down to -5.4 on noisy lines;
# against other keys 2.3 and up. Out-of-menu words: against free writing at best -3.1 with 0.4
# against other keys, or 6.0 against other keys at -10.3 (though "august" at 10 dB is written
# "Order" and taken, on some noise).
OPTION = Bounds(free_low=-8.0, free_high=-3.0, other_low=0.5, other_high=3.0)
# Escapes said: 0 to 1 against free writing and 9 to 20 against other keys. Out-of-menu words forced
# onto an escape word: at best -2.1 with 7.2 ("june" at 10 dB, written "You."), -5.3 with 0.9, or
# 4.2 at -6.8.
ESCAPE = Bounds(free_low=-3.0, free_high=-1.0, other_low=4.0, other_high=8.0)


@dataclass(frozen=True, slots=True)
class MoonshineSpec:
    """Everything needed to build the same engine in a worker process (picklable)."""

    language: str
    model_dir: Path
    min_match_score: float
    denoise: bool


def written(phrase: str) -> str:
    """A menu phrase as the model writes a short answer: sentence case ("My order"). (Digits also
    scored as numerals, "7", changed nothing on the bench.)"""
    return phrase[:1].upper() + phrase[1:]


def at_least_a_second(audio: bytes) -> np.ndarray:
    samples = wideband(audio)
    return np.pad(samples, (0, max(0, int(16000 * MIN_SECONDS) - samples.size)))


class MoonshineEngine:
    name = "moonshine"
    isolated = True  # tenths of a second of CPU per utterance: kept out of the event loop's process

    def __init__(self, language: str, model_dir: Path, *, endpoint: EndpointConfig | None = None,
                 min_match_score: float = 0.6, denoise: bool = True, models: MoonshineModels | None = None) -> None:
        if base_language(language) != "en":
            raise ValueError("Moonshine base hears English only")
        self.language = language
        self._model_dir = model_dir
        self._endpoint = endpoint or EndpointConfig()
        self._min_match_score = min_match_score
        self._denoise = denoise
        self._models = models or MoonshineModels()
        self._escape = frozenset(escape_words(language))
        self._lock = threading.Lock()
        self._model: MoonshineModel | None = None

    @classmethod
    def from_spec(cls, spec: MoonshineSpec, models: MoonshineModels) -> MoonshineEngine:
        return cls(spec.language, spec.model_dir, min_match_score=spec.min_match_score, denoise=spec.denoise,
                   models=models)

    @property
    def spec(self) -> MoonshineSpec:
        return MoonshineSpec(self.language, self._model_dir, self._min_match_score, self._denoise)

    @property
    def under_load(self) -> None:
        return None

    @property
    def ready(self) -> bool:
        return self._model is not None

    @property
    def decoders_created(self) -> int:
        return int(self._model is not None)

    def load(self) -> None:
        if not (self._model_dir / moonshine_weights.ENCODER).is_file():
            raise ModelMissing(f"Moonshine's weights are not installed: {moonshine_weights.INSTALL}")

    def new_session(self, grammar: Grammar) -> DecodingSession:
        self.load()
        return open_vocabulary_session(self, grammar, self._endpoint, min_match_score=self._min_match_score)

    def check_vocabulary(self, grammar: Grammar) -> None:
        """Nothing to report: any word can be written (its tokenizer falls back to bytes)."""

    def warm(self, grammar: CompiledGrammar, pcm: bytes) -> None:
        self.decode(grammar, pcm)

    def decode(self, grammar: CompiledGrammar, pcm: bytes, span: tuple[int, int] | None = None) -> Decoded:
        """One utterance (raw 8 kHz slin): the menu phrase it best fits, with the confidence above."""
        audio = prepared(pcm, span, denoise=self._denoise)
        if not audio or not grammar.phrases:
            return Decoded("", 0.0)
        model = self._loaded()
        heard = model.hear(at_least_a_second(audio))
        _, free = model.transcribe(heard, MAX_TOKENS)
        phrases = list(grammar.phrases)
        scores = dict(zip(phrases, model.score(heard, [written(p) for p in phrases]), strict=True))
        best = max(phrases, key=lambda p: scores[p])
        key = grammar.phrases[best]
        others = [s for p, s in scores.items() if grammar.phrases[p] != key]
        against_other = scores[best] - max(others) if others else float("inf")
        bounds = ESCAPE if any(word in self._escape for word in best.split()) else OPTION
        return Decoded(best, bounds.confidence(scores[best] - free, against_other))

    def _loaded(self) -> MoonshineModel:
        with self._lock:
            if self._model is None:
                self._model = self._models.get(self._model_dir)
                log.info("moonshine model loaded", extra={"language": self.language})
            return self._model
