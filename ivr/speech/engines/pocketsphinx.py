"""PocketSphinx 5 engine: the US English acoustic model shipped inside the wheel (zero setup).

English uses the wheel's dictionary; Spanish uses the same acoustic model with each grammar word
spelled in its phone set (:mod:`ivr.speech.spanish`), so a Spanish caller has speech out of the box.

PocketSphinx refuses 8 kHz input with that model, so telephone audio is upsampled to 16 kHz. Its
noise estimation misreads digital silence (exact zeros between words, common in synthesised or
gated audio), so a fixed low noise floor is added first. The grammar pass runs once per utterance,
on all of it, at the endpoint (cepstral mean from the utterance itself: far better on noisy lines).
The answer is checked (:mod:`ivr.speech.verify`: how much of the speech the words span, and how far
their acoustic score per frame falls below the best state's) and out-of-grammar speech is rejected
or marked down; English grammars also hold decoy words (:mod:`ivr.speech.decoys`) that an
out-of-menu word may go to instead of an option.

Decoders are not per call: a session is only its endpointer and buffer. The model is loaded by a
small pool of decoders that switch grammars (``activate_search``; each remembers its most recent
grammars), leased for the few tens of ms an utterance's decoding takes.
PocketSphinx holds the GIL while it decodes (a 3 s utterance blocked another thread for 130 ms),
so the server decodes in worker processes (``isolated``), never in the event loop's process.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ivr.channel import Grammar
from ivr.speech import decoys
from ivr.speech.audio import Endpointer, add_noise_floor, as_samples, upsample_2x
from ivr.speech.base import EmptyGrammar, EndpointConfig, ModelMissing
from ivr.speech.digits import base_language, escape_words
from ivr.speech.gaps import VocabularyGaps
from ivr.speech.grammar import CompiledGrammar, compile_grammar
from ivr.speech.session import Decoded, DecodingSession, prepared
from ivr.speech.spanish import BOUNDS as SPANISH_BOUNDS
from ivr.speech.spanish import variants as spanish_variants
from ivr.speech.verify import DEFAULT_BOUNDS, NON_SPEECH, Bounds, segments, verification

log = logging.getLogger(__name__)

MAX_SEARCHES_PER_DECODER = 64
# Below this verification (see ivr.speech.verify) the grammar's answer is dropped: no match.
REJECT_BELOW = 0.2
# The cepstral mean every utterance starts from: what live CMN settles on for denoised telephone
# speech (measured with bench/speech.py). Without a reset each pooled decoder starts from the last
# caller's line, so the same audio decoded differently depending on history (a fresh decoder's
# default "40,3,-1" got a 10 dB line a quarter right).
INITIAL_CMN = "59.6,-6.12,-10.66,7.25,-4.61,-0.42,-9.07,-1.66,-7.91,0.18,-2.32,2.52,-5.29"
FRAME_BYTES_16K = 320  # 10 ms of 16 kHz 16-bit audio: one decoder frame
# Languages whose words are spelled by rules into the English model's phones (each word: its
# pronunciations, the first the main one).
SPELLED = {"es": spanish_variants}
# Their rejection bounds (ivr.speech.verify): spelled words fit the English model differently.
BOUNDS = {"es": SPANISH_BOUNDS}


@dataclass(frozen=True, slots=True)
class PocketSphinxSpec:
    """Everything needed to build the same engine in a worker process (picklable)."""

    language: str
    model_dir: Path | None
    min_match_score: float
    noise_floor: float
    denoise: bool
    verify: bool


class _Decoder:
    """A pooled decoder and the grammar searches already added to it (most recent last)."""

    def __init__(self, decoder: Any) -> None:
        self.decoder = decoder
        self.searches: OrderedDict[str, None] = OrderedDict()


class DecoderPool:
    """At most ``size`` decoders, built on demand and kept for reuse (the only big memory)."""

    def __init__(self, size: int, build: Any) -> None:
        self.size = max(1, size)
        self._build = build
        self._slots = threading.BoundedSemaphore(self.size)
        self._lock = threading.Lock()
        self._idle: list[_Decoder] = []
        self.created = 0

    @property
    def idle(self) -> int:
        return len(self._idle)

    @contextlib.contextmanager
    def lease(self) -> Iterator[_Decoder]:
        with self._slots:
            with self._lock:
                pooled = self._idle.pop() if self._idle else None
            if pooled is None:
                pooled = self._build()
                with self._lock:
                    self.created += 1
            try:
                yield pooled
            except Exception:
                log.warning("pocketsphinx decoder discarded after an error")
                raise
            with self._lock:
                self._idle.append(pooled)


class PocketSphinxEngine:
    name = "pocketsphinx"
    isolated = True  # holds the GIL while decoding: the server runs it in worker processes
    under_load = None  # nothing cheaper to fall back on

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
        pool_size: int = 2,
    ) -> None:
        self.language = language
        self._base = base_language(language)
        self._model_dir = model_dir
        self._endpoint = endpoint or EndpointConfig()
        self._min_match_score = min_match_score
        self._noise_floor = noise_floor
        self._denoise = denoise
        self._verify = verify
        self._lock = threading.Lock()
        self._gaps = VocabularyGaps(log, "PocketSphinx", self.language)
        self._words: frozenset[str] | None = None
        self._spell = SPELLED.get(self._base)
        self._escape = frozenset(escape_words(language))
        self._bounds = BOUNDS.get(self._base, DEFAULT_BOUNDS)
        self.pool = DecoderPool(pool_size, self._build)

    @classmethod
    def from_spec(cls, spec: PocketSphinxSpec, *, pool_size: int = 1) -> PocketSphinxEngine:
        return cls(spec.language, spec.model_dir, min_match_score=spec.min_match_score,
                   noise_floor=spec.noise_floor, denoise=spec.denoise, verify=spec.verify, pool_size=pool_size)

    @property
    def spec(self) -> PocketSphinxSpec:
        return PocketSphinxSpec(self.language, self._model_dir, self._min_match_score, self._noise_floor,
                                self._denoise, self._verify)

    @property
    def decoders_created(self) -> int:
        return self.pool.created

    @property
    def ready(self) -> bool:
        return self._words is not None

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
            if self._spell is None:
                with self._dict_path.open(encoding="utf-8") as fh:
                    for line in fh:
                        head = line.split(" ", 1)[0]
                        words.add(head.split("(", 1)[0])  # "read(2)" is an alternative pronunciation
            self._words = frozenset(words)

    def new_session(self, grammar: Grammar) -> DecodingSession:
        """Cheap once loaded (no decoder is taken): the grammar checked against the dictionary."""
        self.load()
        compiled = compile_grammar(grammar)
        phrases = self._known_phrases(compiled)
        if not phrases:
            raise EmptyGrammar(f"no phrase of the {grammar.language} grammar is in the PocketSphinx dictionary")
        restricted = CompiledGrammar(compiled.language, phrases)
        return DecodingSession(self, restricted, self._endpoint, min_match_score=self._min_match_score,
                                   reject_below=REJECT_BELOW if self._verify else 0.0)

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
            if self._spell is not None:
                unknown = [w for w in phrase.split() if not self._spell(w)]
            else:
                unknown = [w for w in phrase.split() if w not in self._words]
            if unknown:
                missing += unknown
                dropped.append(phrase)
                continue
            known[phrase] = key
        self._gaps.report(missing, dropped)
        return known

    def _build(self) -> _Decoder:
        from pocketsphinx import Decoder

        hmm = str(self.model_dir / "en-us")
        # Spelled languages start from an empty dictionary; their words are added as grammars come.
        dictionary = os.devnull if self._spell is not None else str(self._dict_path)
        return _Decoder(Decoder(hmm=hmm, dict=dictionary, lm=None, samprate=16000, loglevel="FATAL"))

    def _prepare(self, pooled: _Decoder, grammar: CompiledGrammar) -> str | None:
        """Adds the grammar's searches to the decoder once: the phrases, and (if the language has a
        decoy weight) the phrases or a decoy. Activates the first; returns the second's name."""
        name = "g" + hashlib.sha1("|".join(sorted(grammar.phrases)).encode()).hexdigest()[:16]
        weight = decoys.WEIGHTS.get(self._base)
        with_decoys = name + "d" if weight is not None else None
        if name in pooled.searches:
            pooled.searches.move_to_end(name)
        else:
            words = sorted({w for p in grammar.phrases for w in p.split()})
            if self._spell is not None:
                for word in words:
                    if pooled.decoder.lookup_word(word) is None:
                        self._add_word(pooled, word, self._spell(word))
            pooled.decoder.add_jsgf_string(name, decoys.jsgf(name, grammar.phrases, (), 0.0))
            if with_decoys is not None and weight is not None:
                chosen = self._decoys(pooled, words)
                pooled.decoder.add_jsgf_string(with_decoys, decoys.jsgf(with_decoys, grammar.phrases, chosen, weight))
            pooled.searches[name] = None
            if len(pooled.searches) > MAX_SEARCHES_PER_DECODER:
                oldest, _ = pooled.searches.popitem(last=False)
                pooled.decoder.remove_search(oldest)
                if with_decoys is not None:
                    pooled.decoder.remove_search(oldest + "d")
        pooled.decoder.activate_search(name)
        return with_decoys

    @staticmethod
    def _add_word(pooled: _Decoder, word: str, pronunciations: list[list[str]]) -> None:
        for n, pronunciation in enumerate(pronunciations, start=1):
            # "word(2)" is the dictionary's spelling of an alternative pronunciation.
            pooled.decoder.add_word(word if n == 1 else f"{word}({n})", " ".join(pronunciation), True)

    def _pronunciations(self, pooled: _Decoder, word: str) -> list[list[str]]:
        if self._spell is not None:
            return self._spell(word)
        phones = pooled.decoder.lookup_word(word)
        return [phones.split()] if phones else []

    def _decoys(self, pooled: _Decoder, words: list[str]) -> list[str]:
        """The language's decoys that sound like none of the grammar's words, in the decoder's dictionary."""
        menu = [p for w in words for p in self._pronunciations(pooled, w)]
        known = {d: self._pronunciations(pooled, d) for d in decoys.candidates(self._base)}
        chosen = decoys.select(known, menu)
        for word in chosen:
            if pooled.decoder.lookup_word(decoys.token(word)) is None:
                self._add_word(pooled, decoys.token(word), known[word])
        return chosen

    def decode(self, grammar: CompiledGrammar, pcm: bytes, span: tuple[int, int] | None = None) -> Decoded:
        """One utterance (raw 8 kHz slin), start to end, on a leased decoder."""
        self.load()
        audio = prepared(pcm, span, denoise=self._denoise)
        rng = np.random.default_rng(0)  # fixed: the same audio decodes the same way
        wide, _ = upsample_2x(add_noise_floor(as_samples(audio), self._noise_floor, rng))
        raw = wide.tobytes()
        speech = speech_frames(audio) if self._verify else None
        with self.pool.lease() as pooled:
            with_decoys = self._prepare(pooled, grammar)
            return _decode(pooled, raw, self._escape, speech, verify=self._verify, bounds=self._bounds,
                           with_decoys=with_decoys)


def speech_frames(audio: bytes) -> tuple[int, int] | None:
    """The first and last 10 ms frames the energy endpointer holds for speech in the (denoised) audio
    the decoder hears, or None: what the words must cover (ivr.speech.verify)."""
    endpointer = Endpointer(EndpointConfig(silence_ms=1 << 30, max_utterance_ms=1 << 30))
    endpointer.feed(audio)
    if endpointer.speech_start_ms is None:
        return None
    return endpointer.speech_start_ms // 10, endpointer.speech_end_ms // 10 - 1


def _grammar_pass(decoder: Any, raw: bytes) -> str:
    # The grammar pass decodes the whole utterance at once (``full_utt``), so the cepstrum is
    # normalised over the utterance itself rather than by a running mean that starts from a
    # guess: on a 10 dB line that is right far more often (bench/speech.py: 10 dB 78% -> 88%).
    # The feature extractor's noise estimate (the model's remove_noise) carries over from the
    # decoder's last utterance: without a reset the same audio decoded differently depending on
    # what the pooled decoder heard before ("two" at 10 dB came out as "four" after a reshuffle).
    decoder.reinit_feat()
    decoder.set_cmn(INITIAL_CMN)
    decoder.start_utt()
    decoder.process_raw(raw, False, True)
    decoder.end_utt()
    hyp = decoder.hyp()
    return " ".join((hyp.hypstr if hyp is not None else "").split())


def _decode(pooled: _Decoder, raw: bytes, escape: frozenset[str] = frozenset(),
            speech: tuple[int, int] | None = None, *, verify: bool = True, bounds: Bounds = DEFAULT_BOUNDS,
            with_decoys: str | None = None) -> Decoded:
    decoder = pooled.decoder
    plain = decoder.current_search()  # the phrases alone (PocketSphinxEngine._prepare activated it)
    if with_decoys is not None:
        decoder.activate_search(with_decoys)
    text = _grammar_pass(decoder, raw)
    if not text:
        return Decoded("", 0.0)
    if any(decoys.is_decoy(word) for word in text.split()):
        # The best path is not a menu phrase: no key (ivr.speech.grammar), nothing to verify.
        # Tried and left out: decoding again without the decoys, that answer then held to the
        # escape words' stricter margin (English false escapes 1.2 -> 3.7 %), and the decoys as a
        # veto after a pass without them (rejected 85.4 %, fewer than with no decoys): a second pass
        # over the same audio does not decode as a first one does.
        return Decoded(text, 0.0)
    if with_decoys is not None and any(word in escape for word in text.split()):
        # The decoy branch shifts the words' acoustic scores that the margin is made of
        # (espeak-ng's clear "agent": 0.75 -> 0.33, under the escape's stricter margin), so an
        # escape, which needs that margin, is decoded again with the phrases alone.
        decoder.activate_search(plain)
        text = _grammar_pass(decoder, raw)
        if not text:
            return Decoded("", 0.0)
    # Word posteriors from the lattice: the least certain word bounds the utterance. In grammar
    # mode they sit near 1.0 whatever was said, so the verification's verdict bounds them too.
    probs = [float(s.prob) for s in decoder.seg() if s.word not in NON_SPEECH]
    confidence = min(probs) if probs else 1.0
    words = segments(decoder.seg())
    if verify and words:
        window = (0, len(raw) // FRAME_BYTES_16K - 1)
        confidence = min(confidence, verification(words, speech=speech, window=window, bounds=bounds))
        if any(word in escape for word in text.split()):
            # An escape costs an agent's time: it needs stronger evidence than an option. Short of
            # it, the answer keeps its key at a confidence the flow will not act on (it re-asks).
            strict = verification(words, speech=speech, window=window, strict=True, bounds=bounds)
            confidence = min(confidence, max(strict, REJECT_BELOW)) if confidence >= REJECT_BELOW else confidence
    return Decoded(text, confidence)
