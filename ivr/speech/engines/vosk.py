"""Vosk (Kaldi) engine: a model directory per language, grammar-restricted streaming recognition.

The model is loaded once (seconds, hundreds of MB) and shared by every session; a session is only
its endpointer and buffer, and each utterance is decoded by a ``KaldiRecognizer`` restricted to the
grammar's phrases, built for it and dropped after. Vosk's bindings (cffi) release the GIL while
Kaldi works, so it decodes in the runner's threads beside the one model. Vosk accepts 8 kHz directly.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

from ivr.channel import Grammar
from ivr.speech.base import SAMPLE_RATE, EmptyGrammar, EndpointConfig, ModelMissing, SpeechError
from ivr.speech.gaps import VocabularyGaps
from ivr.speech.grammar import CompiledGrammar, compile_grammar
from ivr.speech.session import Decoded, DecodingSession, prepared

log = logging.getLogger(__name__)

UNKNOWN_WORD = "[unk]"
# A grammar-restricted Kaldi decoder tiles speech it does not know with the menu's short words
# ("안녕하세요" -> "하나 일", each word at confidence ~1.0); an answer is normally one phrase. So every
# word beyond the matched phrase halves the confidence, which sends such results to the flow's
# confirm / no-match handling (bench/speech.py: out-of-grammar rejection 20% -> see its table).
EXTRA_WORD_PENALTY = 0.5


class VoskEngine:
    name = "vosk"
    isolated = False  # cffi releases the GIL: threads share the one model
    under_load = None  # nothing cheaper to fall back on

    def __init__(
        self, language: str, model_path: Path, *, endpoint: EndpointConfig | None = None, min_match_score: float = 0.6,
        denoise: bool = True,
    ) -> None:
        self.language = language
        self.model_path = model_path
        self._endpoint = endpoint or EndpointConfig()
        self._min_match_score = min_match_score
        self._denoise = denoise
        self._model: Any = None
        self._lock = threading.Lock()
        self._gaps = VocabularyGaps(log, "Vosk", language)

    @property
    def ready(self) -> bool:
        return self._model is not None

    @property
    def spec(self) -> tuple[str, str]:
        return (self.language, str(self.model_path))  # never sent to a process (not ``isolated``)

    def load(self) -> None:
        """Load the model now (otherwise the first session does); safe from several threads."""
        with self._lock:
            if self._model is not None:
                return
            if not (self.model_path / "am").is_dir() and not (self.model_path / "final.mdl").exists():
                raise ModelMissing(f"no Vosk model at {self.model_path}")
            import vosk

            vosk.SetLogLevel(-1)
            try:
                # Always a path: vosk.Model(lang=...) would try to download.
                self._model = vosk.Model(str(self.model_path))
            except Exception as exc:  # vosk raises a bare Exception on unreadable models
                raise SpeechError(f"cannot load the Vosk model at {self.model_path}: {exc}") from exc
            log.info("vosk model loaded", extra={"language": self.language, "model_path": str(self.model_path)})

    def new_session(self, grammar: Grammar) -> DecodingSession:
        """Cheap once loaded: the grammar checked against the model's words (no recognizer yet)."""
        self.load()
        compiled = compile_grammar(grammar)
        phrases = self._known_phrases(compiled)
        if not phrases:
            raise EmptyGrammar(f"no phrase of the {grammar.language} grammar is in the Vosk vocabulary")
        restricted = CompiledGrammar(compiled.language, phrases)
        return DecodingSession(self, restricted, self._endpoint, min_match_score=self._min_match_score)

    def decode(self, grammar: CompiledGrammar, pcm: bytes, span: tuple[int, int] | None = None) -> Decoded:
        """One utterance (raw 8 kHz slin) through a recognizer built for it from the shared model."""
        self.load()
        words = list(grammar.phrases)
        if self._model.vosk_model_find_word(UNKNOWN_WORD) >= 0:
            words.append(UNKNOWN_WORD)  # lets out-of-grammar speech come out as [unk], not a guess
        import vosk

        recognizer = vosk.KaldiRecognizer(self._model, SAMPLE_RATE, json.dumps(words, ensure_ascii=False))
        recognizer.SetWords(True)
        audio = prepared(pcm, span, denoise=self._denoise)
        segment: tuple[str, float] | None = None  # the first utterance Kaldi closed itself
        step = 8000  # 0.5 s: Kaldi's own endpointing may close the answer before trailing noise
        for at in range(0, len(audio), step):
            if recognizer.AcceptWaveform(audio[at:at + step]):
                closed = _parse(recognizer.Result())
                if closed[0] and segment is None:
                    segment = closed
        text, confidence = segment or _parse(recognizer.FinalResult())
        match = grammar.match(text, min_score=self._min_match_score)
        extra = len(text.split()) - (len(match.phrase.split()) if match.phrase else 0)
        return Decoded(text, confidence * EXTRA_WORD_PENALTY ** max(extra, 0))

    def check_vocabulary(self, grammar: Grammar) -> None:
        """Report (once per word) the grammar's words this model lacks; see ivr.speech.vocabulary."""
        self.load()
        self._known_phrases(compile_grammar(grammar))

    def _known_phrases(self, compiled: CompiledGrammar) -> dict[str, str]:
        known: dict[str, str] = {}
        missing: list[str] = []
        dropped: list[str] = []
        for phrase, key in compiled.phrases.items():
            unknown = [w for w in phrase.split() if self._model.vosk_model_find_word(w) < 0]
            if unknown:
                missing += unknown
                dropped.append(phrase)
                continue
            known[phrase] = key
        self._gaps.report(missing, dropped)
        return known


def _parse(raw: str) -> tuple[str, float]:
    """Vosk's JSON result -> (text without [unk], mean word confidence)."""
    data = json.loads(raw)
    words = [w for w in data.get("result", []) if w.get("word") != UNKNOWN_WORD]
    text = " ".join(str(w["word"]) for w in words) if words else str(data.get("text", "")).replace(UNKNOWN_WORD, "")
    text = " ".join(text.split())
    if not text:
        return "", 0.0
    confs = [float(w.get("conf", 1.0)) for w in words]
    return text, (sum(confs) / len(confs)) if confs else 1.0
