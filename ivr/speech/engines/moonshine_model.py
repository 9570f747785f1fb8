"""Moonshine base (English) through ONNX Runtime: hear an utterance once, then score phrases against it.

The model is an encoder-decoder (Useful Sensors' Moonshine, MIT): the encoder turns 16 kHz audio
into states, the decoder writes text one token at a time over a 32 000-piece SentencePiece (BPE)
vocabulary. Two uses here:

* :meth:`MoonshineModel.transcribe`: greedy decoding, what the model would write unprompted;
* :meth:`MoonshineModel.score`: the log-probability of given texts (teacher forcing), one batched
  decoder call. Every phrase is written as the model writes a short answer, "Billing" or
  "Billing.", and both endings are read from the same row.

The decoder's first step (the start token) runs once per utterance and its caches (self-attention
and the encoder's keys and values) are shared by the greedy steps and every scored row, so a
phrase costs only its own tokens.
"""

from __future__ import annotations

import contextlib
import ctypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ivr.speech.engines import moonshine_weights
from ivr.speech.engines.loaded import ModelsByDir

START, END = 1, 2  # <s>, </s>
_BYTE_OFFSET = 3  # the 256 byte-fallback pieces <0x00>..<0xFF> follow <unk>, <s>, </s>
_WORD = "\u2581"  # SentencePiece's word boundary
_FULL_STOP = "."
_HEADS, _HEAD_DIM = 8, 52
MAX_ROWS = 64  # phrases scored per call (a menu has a dozen); more are scored in further calls


@dataclass(frozen=True, slots=True)
class Heard:
    """One utterance as the decoder sees it after its first step."""

    states: np.ndarray  # encoder output (1, frames, 416)
    first: np.ndarray  # log-probabilities of the first token
    past: dict[str, np.ndarray]  # the decoder's caches after the start token


def read_pieces(data: bytes) -> list[bytes]:
    """The tokenizer file: each piece as a length (one byte, or two when the first is >= 128: seven
    bits each, low first) and its bytes, in id order."""
    pieces: list[bytes] = []
    i = 0
    while i < len(data):
        size = data[i]
        i += 1
        if size >= 0x80:
            size = (size & 0x7F) | (data[i] << 7)
            i += 1
        if i + size > len(data):
            raise ValueError("the tokenizer file is truncated")
        pieces.append(data[i:i + size])
        i += size
    return pieces


class Tokenizer:
    def __init__(self, pieces: list[bytes]) -> None:
        self._pieces = pieces
        self._ids = {piece: n for n, piece in enumerate(pieces) if n >= _BYTE_OFFSET + 256 or n < _BYTE_OFFSET}

    def encode(self, text: str) -> list[int]:
        """BPE as SentencePiece does it: start from characters (unknown ones as their UTF-8 bytes)
        and keep merging the adjacent pair whose merged piece ranks first in the vocabulary."""
        parts: list[bytes] = []
        for char in (_WORD + text.strip().replace(" ", _WORD)):
            raw = char.encode()
            parts.extend([raw] if raw in self._ids else [bytes([b]) for b in raw])
        while len(parts) > 1:
            ranks = [self._ids.get(parts[i] + parts[i + 1]) for i in range(len(parts) - 1)]
            candidates = [(rank, i) for i, rank in enumerate(ranks) if rank is not None]
            if not candidates:
                break
            _, i = min(candidates)
            parts[i:i + 2] = [parts[i] + parts[i + 1]]
        return [self._ids[p] if p in self._ids else _BYTE_OFFSET + p[0] for p in parts]

    def decode(self, ids: list[int]) -> str:
        raw = b"".join(self._pieces[i] for i in ids if i >= _BYTE_OFFSET and i < len(self._pieces))
        return raw.decode("utf-8", "replace").replace(_WORD, " ").strip()


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    top = logits.max(axis=-1, keepdims=True)
    return logits - top - np.log(np.exp(logits - top).sum(axis=-1, keepdims=True))


def _release_freed_memory() -> None:
    """A decode allocates ~100-200 MB of short-lived tensors; glibc keeps freed memory mapped
    unless asked, and a worker would sit at its peak."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: the allocator keeps what it keeps
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class MoonshineModel:
    """The model's two sessions and its tokenizer, loaded once per process (one thread each: it
    decodes in the speech workers, one utterance at a time)."""

    def __init__(self, model_dir: Path) -> None:
        import onnxruntime

        moonshine_weights.verify(model_dir)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # No arena: it keeps a decode's peak (hundreds of MB for a batch of phrases) for the process's life.
        options.enable_cpu_mem_arena = False
        options.enable_mem_pattern = False
        providers = ["CPUExecutionProvider"]
        self._encoder = onnxruntime.InferenceSession(str(model_dir / moonshine_weights.ENCODER), options,
                                                     providers=providers)
        self._decoder = onnxruntime.InferenceSession(str(model_dir / moonshine_weights.DECODER), options,
                                                     providers=providers)
        self.tokenizer = Tokenizer(read_pieces((model_dir / moonshine_weights.TOKENIZER).read_bytes()))
        self._stop = self.tokenizer.encode(_FULL_STOP)[-1]
        self._past_names = [i.name for i in self._decoder.get_inputs() if i.name.startswith("past_key_values.")]
        self._present_names = [o.name for o in self._decoder.get_outputs()][1:]

    def hear(self, audio: np.ndarray) -> Heard:
        """Encode 16 kHz float audio and take the decoder's first step."""
        states = self._encoder.run(None, {"input_values": audio[None].astype(np.float32)})[0]
        empty = np.zeros((1, _HEADS, 0, _HEAD_DIM), dtype=np.float32)
        outputs = self._run(np.array([[START]], dtype=np.int64), states, dict.fromkeys(self._past_names, empty),
                            cached=False)
        return Heard(states, _log_softmax(outputs[0][0, -1]), self._caches(outputs, {}))

    def transcribe(self, heard: Heard, max_tokens: int) -> tuple[str, float]:
        """Greedy decoding: the text and its total log-probability (end token included)."""
        log_probs, past, ids, total = heard.first, heard.past, [], 0.0
        for _ in range(max_tokens):
            token = int(log_probs.argmax())
            total += float(log_probs[token])
            if token == END:
                break
            ids.append(token)
            outputs = self._run(np.array([[token]], dtype=np.int64), heard.states, past, cached=True)
            log_probs = _log_softmax(outputs[0][0, -1])
            past = self._caches(outputs, past)
        return self.tokenizer.decode(ids), total

    def score(self, heard: Heard, texts: list[str]) -> list[float]:
        """For each text, the log-probability that the model writes it and stops, with or without a
        full stop after it (the better of the two)."""
        scores: list[float] = []
        for start in range(0, len(texts), MAX_ROWS):
            scores += self._score_rows(heard, [self.tokenizer.encode(t) for t in texts[start:start + MAX_ROWS]])
        _release_freed_memory()
        return scores

    def _score_rows(self, heard: Heard, rows: list[list[int]]) -> list[float]:
        stop = self._stop
        width = max(len(r) for r in rows) + 1
        ids = np.full((len(rows), width), END, dtype=np.int64)
        for n, row in enumerate(rows):
            ids[n, :len(row)] = row
            ids[n, len(row)] = stop
        past = {name: np.repeat(value, len(rows), axis=0) for name, value in heard.past.items()}
        states = np.repeat(heard.states, len(rows), axis=0)
        log_probs = _log_softmax(self._run(ids, states, past, cached=True, logits_only=True)[0])
        scores = []
        for n, row in enumerate(rows):
            # Position j of the output predicts the token after ids[n, j]; the first from heard.first.
            said = float(heard.first[row[0]]) + sum(float(log_probs[n, j - 1, row[j]]) for j in range(1, len(row)))
            ending = log_probs[n, len(row) - 1]
            plain = said + float(ending[END])
            stopped = said + float(ending[stop]) + float(log_probs[n, len(row), END])
            scores.append(max(plain, stopped))
        return scores

    def _run(self, ids: np.ndarray, states: np.ndarray, past: dict[str, np.ndarray], *, cached: bool,
             logits_only: bool = False) -> list[Any]:
        feeds: dict[str, Any] = {"input_ids": ids, "encoder_hidden_states": states, **past,
                                 "use_cache_branch": np.array([cached])}
        return list(self._decoder.run(["logits"] if logits_only else None, feeds))

    def _caches(self, outputs: list[Any], previous: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        caches = dict(previous)
        for name, value in zip(self._present_names, outputs[1:], strict=True):
            past_name = name.replace("present.", "past_key_values.")
            # The encoder's keys and values are computed at the first step only; later steps echo them.
            if previous and ".encoder." in name:
                continue
            caches[past_name] = value
        return caches


class MoonshineModels(ModelsByDir[MoonshineModel]):
    """The Moonshine model a process has loaded (one per worker, like ivr.speech.engines.whisper.WhisperModels)."""

    def __init__(self) -> None:
        super().__init__(MoonshineModel)
