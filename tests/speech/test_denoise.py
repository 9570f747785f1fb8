from __future__ import annotations

import numpy as np

from ivr.speech.denoise import HOP, Denoiser
from tests.support.speech_audio import chunks, padded, render, with_noise


def run(denoiser: Denoiser, pcm: bytes, size: int = 320) -> np.ndarray:
    out = b"".join(denoiser.process(c) for c in chunks(pcm, size)) + denoiser.flush()
    return np.frombuffer(out, dtype="<i2").astype(np.float64)


def test_passes_audio_through_unchanged_when_subtracting_nothing() -> None:
    pcm = padded(render("billing"))
    original = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    cleaned = run(Denoiser(over_subtraction=0.0, gain_floor=1.0), pcm, size=150)  # odd chunk size
    assert cleaned.size >= original.size
    assert np.max(np.abs(cleaned[HOP:HOP + original.size] - original[: cleaned.size - HOP])) <= 1.0


def test_removes_steady_noise_and_keeps_speech() -> None:
    clean = padded(render("technical support"), before_ms=500)
    noisy = with_noise(clean, snr_db=10)
    reference = np.frombuffer(clean, dtype="<i2").astype(np.float64)
    before = np.frombuffer(noisy, dtype="<i2").astype(np.float64)
    after = run(Denoiser(), noisy)[HOP:HOP + reference.size]

    def snr(signal: np.ndarray) -> float:
        error = signal[: reference.size] - reference[: signal.size]
        return float(10 * np.log10(np.sum(reference**2) / np.sum(error**2)))

    assert snr(after) > snr(before) + 3  # several dB closer to the clean speech
    quiet = slice(800, 3200)  # the leading silence, after the warm-up
    assert np.std(after[quiet]) < 0.5 * np.std(before[quiet])


def test_follows_noise_that_starts_after_digital_silence() -> None:
    rng = np.random.default_rng(1)
    noise = rng.normal(0, 1000, 8000 * 3).astype("<i2").tobytes()
    cleaned = run(Denoiser(), bytes(8000) + noise)  # 0.5 s of zeros, then 3 s of hiss
    tail = cleaned[-8000:-HOP]  # the last second: the estimate has caught up
    assert np.std(tail) < 0.35 * 1000
