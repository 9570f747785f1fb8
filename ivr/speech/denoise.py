"""Streaming spectral subtraction for telephone audio in front of the recognizers.

Both small models lose most of their accuracy on a noisy line (about half right at 10 dB SNR of
white noise); subtracting a tracked noise spectrum first brings most of it back. Short-time
Fourier transform of 256 samples (32 ms at 8 kHz) with 50 % overlap and square-root Hann windows
on both sides (they overlap-add to one, so clean audio passes unchanged apart from the delay).
The noise spectrum comes from minimum statistics (each bin's least smoothed power over the last
second or so), so speech, which has pauses, does not become "noise" while a steady hum or hiss
does, including noise that starts after a stretch of digital silence.
"""

from __future__ import annotations

import numpy as np

N_FFT = 256
HOP = N_FFT // 2
_WINDOW = np.sqrt(np.hanning(N_FFT + 1)[:-1])
SMOOTH = 0.7  # power smoothing per bin across hops
BLOCK_HOPS = 48  # 0.77 s: the minimum is taken over the current and the previous block
BIAS = 6.0  # from a bin's minimum to its noise level (mean/min ~2, plus margin; tuned with bench/speech.py)


class Denoiser:
    def __init__(self, over_subtraction: float = 2.0, gain_floor: float = 0.1) -> None:
        self._over = over_subtraction
        self._floor = gain_floor
        self._input = np.zeros(N_FFT - HOP, dtype=np.float64)  # the previous half window
        self._output = np.zeros(N_FFT - HOP, dtype=np.float64)  # overlap still to be added
        self._pending = np.zeros(0, dtype=np.float64)
        self._noise: np.ndarray | None = None
        self._smoothed: np.ndarray | None = None
        self._block_min: np.ndarray | None = None
        self._last_block_min: np.ndarray | None = None
        self._frames = 0

    def process(self, pcm: bytes) -> bytes:
        """Feed slin; get back the cleaned audio available so far (delayed by one hop)."""
        samples = np.frombuffer(pcm[: len(pcm) - len(pcm) % 2], dtype="<i2").astype(np.float64)
        self._pending = np.concatenate([self._pending, samples])
        out: list[np.ndarray] = []
        while self._pending.size >= HOP:
            hop, self._pending = self._pending[:HOP], self._pending[HOP:]
            out.append(self._hop(hop))
        return _to_pcm(np.concatenate(out)) if out else b""

    def flush(self) -> bytes:
        """The audio still held back (end of the utterance), zero-padded to whole hops."""
        held = self._pending.size
        out: list[np.ndarray] = []
        if held:
            out.append(self._hop(np.concatenate([self._pending, np.zeros(HOP - held)])))
            self._pending = np.zeros(0)
        out.append(self._hop(np.zeros(HOP)))  # pushes the last overlap out
        return _to_pcm(np.concatenate(out))

    def _hop(self, hop: np.ndarray) -> np.ndarray:
        frame = np.concatenate([self._input, hop])
        self._input = hop
        spectrum = np.fft.rfft(frame * _WINDOW)
        power = np.abs(spectrum) ** 2
        self._track(power)
        assert self._noise is not None
        gain = np.maximum(1.0 - self._over * self._noise / np.maximum(power, 1e-9), self._floor)
        cleaned = np.fft.irfft(spectrum * np.sqrt(gain), N_FFT) * _WINDOW
        ready = self._output + cleaned[:HOP]
        self._output = cleaned[HOP:]
        return ready

    def _track(self, power: np.ndarray) -> None:
        """Minimum statistics: the least smoothed power of each bin over the last 1-2 s, scaled up
        by the usual ratio of a noise bin's mean to its minimum. Speech has pauses within that
        window, so it never becomes noise; new noise is followed within two blocks."""
        if self._smoothed is None:
            self._smoothed = power.copy()
            self._block_min = power.copy()
            self._last_block_min = power.copy()
        else:
            self._smoothed = SMOOTH * self._smoothed + (1 - SMOOTH) * power
        assert self._block_min is not None and self._last_block_min is not None
        self._block_min = np.minimum(self._block_min, self._smoothed)
        self._frames += 1
        if self._frames % BLOCK_HOPS == 0:
            self._last_block_min, self._block_min = self._block_min, self._smoothed.copy()
        self._noise = BIAS * np.minimum(self._block_min, self._last_block_min)


def _to_pcm(samples: np.ndarray) -> bytes:
    return np.clip(np.round(samples), -32768, 32767).astype("<i2").tobytes()
