"""PocketSphinx 5 engine: the US English model shipped inside the wheel (zero setup).

PocketSphinx refuses 8 kHz input with that model, so telephone audio is upsampled to 16 kHz. Its
noise estimation misreads digital silence (exact zeros between words, common in synthesised or
gated audio), so a fixed low noise floor is added first. Each session runs a JSGF grammar of the
phrases whose words are all in the pronunciation dictionary; the others are dropped with a warning.
The grammar pass runs once per utterance, on all of it, at the endpoint (cepstral mean from the
utterance itself: far better on noisy lines). A phone-loop decoder listens alongside, streaming,
and its verdict (:mod:`ivr.speech.verify`) rejects or marks down out-of-grammar speech.
Decoder pairs (about 50 MB each) are pooled and reused across sessions; each remembers its grammars.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np

from ivr.channel import Grammar
from ivr.speech.audio import add_noise_floor, as_samples, upsample_2x
from ivr.speech.base import EmptyGrammar, EndpointConfig, ModelMissing
from ivr.speech.gaps import VocabularyGaps
from ivr.speech.grammar import CompiledGrammar, compile_grammar
from ivr.speech.session import EngineSession
from ivr.speech.verify import segments, verification

log = logging.getLogger(__name__)

MAX_SEARCHES_PER_DECODER = 64
# Below this verification (see ivr.speech.verify) the grammar's answer is dropped: no match.
REJECT_BELOW = 0.2
FILLER_WORDS = frozenset({"<s>", "</s>", "<sil>", "[noise]", "<unk>"})
# The cepstral mean every utterance starts from: what live CMN settles on for denoised telephone
# speech (measured with bench/speech.py). Without a reset each pooled decoder starts from the last
# caller's line, so the same audio decoded differently depending on history (a fresh decoder's
# default "40,3,-1" got a 10 dB line a quarter right).
INITIAL_CMN = "59.6,-6.12,-10.66,7.25,-4.61,-0.42,-9.07,-1.66,-7.91,0.18,-2.32,2.52,-5.29"


class _Decoder:
    """A pooled decoder and the grammar searches already added to it."""

    def __init__(self, decoder: Any, phones: Any | None = None) -> None:
        self.decoder = decoder
        self.phones = phones  # the phone-loop decoder that checks the grammar's answer
        self.searches: set[str] = set()


class PocketSphinxEngine:
    name = "pocketsphinx"

    def __init__(
        self,
        language: str = "en",
        model_dir: Path | None = None,
        *,
        endpoint: EndpointConfig | None = None,
        min_match_score: float = 0.6,
        noise_floor: float = 200.0,
        denoise: bool = True,
        verify: bool = True,
    ) -> None:
        self.language = language
        self._model_dir = model_dir
        self._endpoint = endpoint or EndpointConfig()
        self._min_match_score = min_match_score
        self._noise_floor = noise_floor
        self._denoise = denoise
        self._verify = verify
        self._lock = threading.Lock()
        self._gaps = VocabularyGaps(log, "PocketSphinx", self.language)
        self._words: frozenset[str] | None = None
        self._idle: list[_Decoder] = []
        self.decoders_created = 0

    @property
    def model_dir(self) -> Path:
        if self._model_dir is not None:
            return self._model_dir
        import pocketsphinx

        return Path(pocketsphinx.get_model_path()) / "en-us"  # holds en-us/ (acoustic) + the dict

    @property
    def _dict_path(self) -> Path:
        return self.model_dir / "cmudict-en-us.dict"

    def load(self) -> None:
        """Read the dictionary's word list (once) so grammars can be checked without a decoder."""
        with self._lock:
            if self._words is not None:
                return
            if not (self.model_dir / "en-us").is_dir() or not self._dict_path.exists():
                raise ModelMissing(f"no PocketSphinx en-us model under {self.model_dir}")
            words = set()
            with self._dict_path.open(encoding="utf-8") as fh:
                for line in fh:
                    head = line.split(" ", 1)[0]
                    words.add(head.split("(", 1)[0])  # "read(2)" is an alternative pronunciation
            self._words = frozenset(words)

    def new_session(self, grammar: Grammar) -> PocketSphinxSession:
        self.load()
        compiled = compile_grammar(grammar)
        phrases = self._known_phrases(compiled)
        if not phrases:
            raise EmptyGrammar(f"no phrase of the {grammar.language} grammar is in the PocketSphinx dictionary")
        restricted = CompiledGrammar(compiled.language, phrases)
        name, jsgf = _jsgf(restricted)
        pooled = self._acquire()
        try:
            if name not in pooled.searches:
                pooled.decoder.add_jsgf_string(name, jsgf)
                pooled.searches.add(name)
            pooled.decoder.activate_search(name)
            pooled.decoder.set_cmn(INITIAL_CMN)
            pooled.decoder.start_utt()
            if pooled.phones is not None:
                pooled.phones.set_cmn(INITIAL_CMN)
                pooled.phones.start_utt()
        except Exception:
            self._discard(pooled)
            raise
        return PocketSphinxSession(self, pooled, restricted, self._endpoint,
                                   min_match_score=self._min_match_score, noise_floor=self._noise_floor,
                                   denoise=self._denoise)

    def check_vocabulary(self, grammar: Grammar) -> None:
        """Report (once per word) the grammar's words this model lacks; see ivr.speech.vocabulary."""
        self.load()
        self._known_phrases(compile_grammar(grammar))

    def _known_phrases(self, compiled: CompiledGrammar) -> dict[str, str]:
        assert self._words is not None
        known: dict[str, str] = {}
        missing: list[str] = []
        dropped: list[str] = []
        for phrase, key in compiled.phrases.items():
            unknown = [w for w in phrase.split() if w not in self._words]
            if unknown:
                missing += unknown
                dropped.append(phrase)
                continue
            known[phrase] = key
        self._gaps.report(missing, dropped)
        return known

    def _acquire(self) -> _Decoder:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        from pocketsphinx import Decoder

        decoder = Decoder(hmm=str(self.model_dir / "en-us"), dict=str(self._dict_path), lm=None,
                          samprate=16000, loglevel="FATAL")
        phones = None
        if self._verify:
            # Wide beams are enough for a score to compare against, and keep the second pass cheap.
            phones = Decoder(hmm=str(self.model_dir / "en-us"), allphone=str(self.model_dir / "en-us-phone.lm.bin"),
                             lm=None, samprate=16000, lw=2.0, beam=1e-20, pbeam=1e-20, loglevel="FATAL")
        with self._lock:
            self.decoders_created += 1
        return _Decoder(decoder, phones)

    def release(self, pooled: _Decoder) -> None:
        if len(pooled.searches) > MAX_SEARCHES_PER_DECODER:
            return  # let it go rather than grow without bound
        with self._lock:
            self._idle.append(pooled)

    def _discard(self, pooled: _Decoder) -> None:
        log.warning("pocketsphinx decoder discarded after an error")


class PocketSphinxSession(EngineSession):
    engine_name = "pocketsphinx"

    def __init__(self, engine: PocketSphinxEngine, pooled: _Decoder, grammar: CompiledGrammar,
                 endpoint: EndpointConfig, *, min_match_score: float, noise_floor: float,
                 denoise: bool = True) -> None:
        super().__init__(grammar, endpoint, min_match_score=min_match_score, denoise=denoise,
                         reject_below=REJECT_BELOW if pooled.phones is not None else 0.0)
        self._engine = engine
        self._pooled: _Decoder | None = pooled
        self._noise_floor = noise_floor
        self._rng = np.random.default_rng(0)  # fixed: the same audio decodes the same way
        self._tail: np.ndarray | None = None
        self._audio: list[bytes] = []  # the utterance at 16 kHz, decoded again as a whole at the end
        self._in_utt = True

    def _feed(self, pcm: bytes) -> str | None:
        if self._pooled is None:
            raise RuntimeError("the session is closed")
        samples = add_noise_floor(as_samples(pcm), self._noise_floor, self._rng)
        wide, self._tail = upsample_2x(samples, self._tail)
        raw = wide.tobytes()
        self._audio.append(raw)
        if self._pooled.phones is not None:
            self._pooled.phones.process_raw(raw, False, False)
        return None  # no partial text: the grammar pass runs once, on the whole utterance

    def _final(self) -> tuple[str, float]:
        if self._pooled is None:
            raise RuntimeError("the session is closed")
        decoder, phones = self._pooled.decoder, self._pooled.phones
        if phones is not None:
            phones.end_utt()
        # The grammar pass decodes the whole utterance at once (``full_utt``), so the cepstrum is
        # normalised over the utterance itself rather than by a running mean that starts from a
        # guess: on a 10 dB line that is right far more often (bench/speech.py: 10 dB 78% -> 88%),
        # and a streaming pass on the same decoder spoils it (its noise tracking carries over).
        # Grammar decoding runs at a few hundredths of real time: tens of ms after the endpoint.
        decoder.process_raw(b"".join(self._audio), False, True)
        decoder.end_utt()
        self._audio.clear()
        self._in_utt = False
        hyp = decoder.hyp()
        text = " ".join((hyp.hypstr if hyp is not None else "").split())
        if not text:
            return "", 0.0
        # Word posteriors from the lattice: the least certain word bounds the utterance. In grammar
        # mode they sit near 1.0 whatever was said, so the phone loop's verdict bounds them too.
        probs = [float(s.prob) for s in decoder.seg() if s.word not in FILLER_WORDS]
        confidence = min(probs) if probs else 1.0
        if phones is not None:
            confidence = min(confidence, verification(segments(decoder.seg()), segments(phones.seg())))
        return text, confidence

    def _release(self) -> None:
        pooled, self._pooled = self._pooled, None
        if pooled is None:
            return
        if self._in_utt:
            pooled.decoder.end_utt()
            if pooled.phones is not None:
                pooled.phones.end_utt()
            self._in_utt = False
        self._engine.release(pooled)


def _jsgf(grammar: CompiledGrammar) -> tuple[str, str]:
    phrases = sorted(grammar.phrases)
    name = "g" + hashlib.sha1("|".join(phrases).encode()).hexdigest()[:16]
    body = " | ".join(phrases)
    return name, f"#JSGF V1.0;\ngrammar {name};\npublic <menu> = ( {body} );\n"
