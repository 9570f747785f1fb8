"""Small pure audio helpers: resampling, levels, and the energy endpointer every session shares."""

from __future__ import annotations

import math

import numpy as np

from ivr.speech.base import FRAME_BYTES, FRAME_MS, SAMPLE_WIDTH, EndpointConfig

FRAME_SAMPLES = FRAME_BYTES // SAMPLE_WIDTH


def as_samples(pcm: bytes) -> np.ndarray:
    return np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2")


def upsample_2x(samples: np.ndarray, tail: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """8 kHz -> 16 kHz by linear interpolation, streaming: ``tail`` is the previous chunk's last sample.

    Not band-limited, on purpose: the 0-4 kHz band is mirrored into 4-8 kHz (a 3 kHz tone keeps
    -3 dB and leaves an image at 5 kHz 7 dB below it). PocketSphinx's en-us model was trained on
    wideband speech (its filters reach 6.8 kHz), and the image stands in for the high band it
    expects. Measured 2026-12-06 (bench/speech_human.py, bench/speech.py): a half-band windowed-sinc
    upsampler (63 taps) left 4-8 kHz empty and lost on the totals (English out-of-menu rejection
    86.6 -> 75.6 %, false agent 1.2 -> 6.1 %, Spanish rejection 74.2 -> 69.4 %; no re-centring of
    the verification bounds met the goals again); white or 4-8 kHz noise in its place lost more,
    and a deliberate spectral fold of the band-limited signal matched this one at best. Returns
    (upsampled int16, new tail).
    """
    if samples.size == 0:
        return np.zeros(0, dtype=np.int16), tail if tail is not None else np.zeros(0, dtype=np.int16)
    x = samples.astype(np.float32)
    prev = float(tail[-1]) if tail is not None and tail.size else float(x[0])
    shifted = np.concatenate(([prev], x[:-1]))
    out = np.empty(2 * x.size, dtype=np.float32)
    out[0::2] = (shifted + x) / 2  # the midpoint between the previous sample and this one
    out[1::2] = x
    return out.astype(np.int16), samples[-1:].copy()


def wideband(audio: bytes) -> np.ndarray:
    """8 kHz slin -> 16 kHz float32 samples in [-1, 1], what Whisper and Moonshine hear (the upsampler
    the PocketSphinx engine uses)."""
    wide, _ = upsample_2x(as_samples(audio))
    return wide.astype(np.float32) / 32768.0


def add_noise_floor(samples: np.ndarray, std: float, rng: np.random.Generator) -> np.ndarray:
    if std <= 0 or samples.size == 0:
        return samples
    noisy = samples.astype(np.float32) + rng.normal(0.0, std, samples.size).astype(np.float32)
    return np.clip(noisy, -32768, 32767).astype(np.int16)


def level_dbfs(samples: np.ndarray) -> float:
    if samples.size == 0:
        return -120.0
    rms = math.sqrt(float(np.mean(samples.astype(np.float64) ** 2)))
    return 20 * math.log10(max(rms, 1e-3) / 32768.0)


class Endpointer:
    """Energy-based speech start / end detection on 20 ms frames (engine independent).

    The noise level is tracked on frames that are not speech, so a noisy line does not count as
    speech forever; speech must stand clearly above it.
    """

    MARGIN_DB = 12.0
    WARMUP_MS = 200
    FLOOR_DB = -50.0

    def __init__(self, config: EndpointConfig) -> None:
        self._config = config
        self._buffer = b""
        self._noise_db = -70.0
        self._run = 0
        self._silence_ms = 0
        self._total_ms = 0
        self.speech_started = False
        self.is_endpoint = False
        self.speech_ms = 0
        # Where the speech lies in the audio fed so far (ms from the first byte): its first voiced
        # frame and the end of its last one, so the decoder need not chew the silence around it.
        self.speech_start_ms: int | None = None
        self.speech_end_ms = 0

    def feed(self, pcm: bytes) -> None:
        self._buffer += pcm
        while len(self._buffer) >= FRAME_BYTES:
            frame, self._buffer = self._buffer[:FRAME_BYTES], self._buffer[FRAME_BYTES:]
            self._frame(level_dbfs(as_samples(frame)))

    def _frame(self, db: float) -> None:
        self._total_ms += FRAME_MS
        if self._total_ms <= self.WARMUP_MS:
            # The line's level: the quietest frame of the first moments (even someone already
            # talking has gaps between syllables), before any speech decision is made.
            self._noise_db = db if self._total_ms == FRAME_MS else min(self._noise_db, db)
            return
        voiced = db > max(self._noise_db + self.MARGIN_DB, self.FLOOR_DB)
        # Minimum tracking: follow the level down fast and up very slowly, on every frame, so
        # steady noise becomes the floor while speech (short bursts above it) does not.
        rate = 0.3 if db < self._noise_db else 0.004
        self._noise_db += rate * (db - self._noise_db)
        if voiced:
            self._run += 1
            self._silence_ms = 0
            if self._run >= self._config.start_frames and not self.speech_started:
                self.speech_started = True
                self.speech_start_ms = self._total_ms - self._run * FRAME_MS
            if self.speech_started:
                self.speech_ms += FRAME_MS
                self.speech_end_ms = self._total_ms
        else:
            self._run = 0
            self._silence_ms += FRAME_MS
        if self.speech_started and self._silence_ms >= self._config.silence_ms:
            self.is_endpoint = True
        if self._total_ms >= self._config.max_utterance_ms:
            self.is_endpoint = True


# line_snr_db: the quietest fifth of the 20 ms frames is the line's noise; frames 6 dB above it are speech.
_NOISE_SHARE = 5
_SPEECH_ABOVE_NOISE = 4.0
_SILENT_POWER = 1.0  # mean square of one LSB: digital silence, or a line as clean as it can be


def line_snr_db(pcm: bytes) -> float:
    """The line's signal-to-noise ratio in dB, estimated from one utterance (8 kHz slin, with the
    silence around the speech): mean power of the speech frames over that of the quietest frames.
    ``inf`` for a line with no measurable noise (digital silence between words); 0.0 when the
    audio is too short to tell (under 200 ms) or holds no frame clearly above its noise."""
    samples = as_samples(pcm).astype(np.float64)
    frames = samples.size // FRAME_SAMPLES
    if frames < 10:
        return 0.0
    power = np.sort(np.mean(samples[: frames * FRAME_SAMPLES].reshape(frames, FRAME_SAMPLES) ** 2, axis=1))
    noise = float(np.mean(power[: max(1, frames // _NOISE_SHARE)]))
    speech = power[power > _SPEECH_ABOVE_NOISE * max(noise, _SILENT_POWER)]
    if speech.size == 0:
        return 0.0
    if noise < _SILENT_POWER:
        return math.inf
    return 10 * math.log10(max(float(np.mean(speech)) - noise, _SILENT_POWER) / noise)
