"""Audio for the built-in endpoint: prompt WAVs as encoded G.711, and generated hold music."""

from __future__ import annotations

import logging
import wave
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ivr.channel import PromptFile
from ivr.channels.sip import g711
from ivr.channels.sip.sdp import Codec

log = logging.getLogger("ivr.sip.audio")

SAMPLE_RATE = 8000


class AudioError(Exception):
    pass


def read_wav_pcm(path: Path) -> bytes:
    """8 kHz 16-bit PCM from a WAV (mono expected; stereo is mixed down, other rates resampled)."""
    try:
        with wave.open(str(path), "rb") as wav:
            rate, width, channels = wav.getframerate(), wav.getsampwidth(), wav.getnchannels()
            frames = wav.readframes(wav.getnframes())
    except (OSError, EOFError, wave.Error) as exc:
        raise AudioError(f"{path}: {exc}") from exc
    if width != 2:
        raise AudioError(f"{path}: {8 * width}-bit audio; prompts must be 16-bit")
    samples = np.frombuffer(frames, dtype="<i2")
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1).astype(np.int16)
    if rate != SAMPLE_RATE:
        positions = np.arange(0, len(samples), rate / SAMPLE_RATE)
        samples = np.interp(positions, np.arange(len(samples)), samples).astype(np.int16)
    return samples.astype("<i2").tobytes()


def hold_music_pcm(seconds: float = 8.0) -> bytes:
    """A gentle, original loop: four soft major chords with slow attack and release.

    Generated here (no third-party recording, so no licence question); quiet enough that the
    position announcements stand out.
    """
    chords = ((261.63, 329.63, 392.00), (220.00, 261.63, 329.63), (174.61, 220.00, 261.63), (196.00, 246.94, 293.66))
    per_chord = int(seconds * SAMPLE_RATE / len(chords))
    t = np.arange(per_chord) / SAMPLE_RATE
    envelope = np.minimum(1.0, t / 0.4) * np.minimum(1.0, (t[-1] - t) / 0.6 + 0.05)
    parts = []
    for chord in chords:
        tone = sum(np.sin(2 * np.pi * f * t) + 0.25 * np.sin(4 * np.pi * f * t) for f in chord)
        parts.append(tone * envelope)
    signal = np.concatenate(parts)
    signal = signal / np.max(np.abs(signal)) * 6000  # about -15 dBFS peak
    return signal.astype("<i2").tobytes()


class AudioLibrary:
    """Encoded audio by (prompt key, codec), cached (LRU) so 100 calls share one encoding."""

    def __init__(self, resolve: Callable[[str], Path], *, max_items: int = 256) -> None:
        self._resolve = resolve
        self._cache: OrderedDict[tuple[str, Codec], bytes] = OrderedDict()
        self._max_items = max_items
        self._music: dict[Codec, bytes] = {}

    def prompt(self, prompt: PromptFile, codec: Codec) -> bytes:
        key = (prompt.key, codec)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        try:
            path = self._resolve(prompt.key)
        except LookupError as exc:  # an unknown prompt key (UnknownPrompt)
            raise AudioError(str(exc)) from exc
        encoded = g711.encode(read_wav_pcm(path), codec)
        self._cache[key] = encoded
        if len(self._cache) > self._max_items:
            self._cache.popitem(last=False)
        return encoded

    def music(self, codec: Codec) -> bytes:
        if codec not in self._music:
            self._music[codec] = g711.encode(hold_music_pcm(), codec)
        return self._music[codec]
