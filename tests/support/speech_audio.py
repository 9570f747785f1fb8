"""Speech audio for tests and the benchmark: espeak-ng renders text, sox makes it 8 kHz slin."""

from __future__ import annotations

import functools
import shutil
import subprocess
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ivr.channel import Grammar
    from ivr.speech.base import SpeechEngine
    from ivr.speech.runner import SpeechRunner

RATE = 8000


def have_espeak() -> bool:
    return shutil.which("espeak-ng") is not None and shutil.which("sox") is not None


@functools.lru_cache(maxsize=512)
def render(text: str, voice: str = "en-us", speed: int = 160, pitch: int = 50) -> bytes:
    """``text`` spoken by espeak-ng, as 8 kHz signed 16-bit mono raw PCM (no header)."""
    wav = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", text],
        check=True, capture_output=True, timeout=30,
    ).stdout
    # -D: no dither. sox dithers with a fresh random seed each run, so the same text gave other
    # samples in every process and bench/speech.py's figures moved by an utterance between runs.
    return subprocess.run(
        ["sox", "-D", "-t", "wav", "-", "-t", "raw", "-r", str(RATE), "-e", "signed", "-b", "16", "-c", "1", "-"],
        input=wav, check=True, capture_output=True, timeout=30,
    ).stdout


def silence(ms: int) -> bytes:
    return b"\x00\x00" * (RATE * ms // 1000)


def padded(pcm: bytes, before_ms: int = 300, after_ms: int = 1000) -> bytes:
    """Speech with silence around it, as a caller's line would carry (trailing silence ends it)."""
    return silence(before_ms) + pcm + silence(after_ms)


def with_noise(pcm: bytes, snr_db: float, seed: int = 0) -> bytes:
    """White noise at ``snr_db`` below the speech power, over the whole clip (silence too)."""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    voiced = samples[np.abs(samples) > 64]
    power = float(np.mean(voiced**2)) if voiced.size else 1.0
    rng = np.random.default_rng(seed)
    noisy = samples + rng.normal(0.0, np.sqrt(power / 10 ** (snr_db / 10)), samples.size)
    return np.clip(noisy, -32768, 32767).astype("<i2").tobytes()


def chunks(pcm: bytes, size: int = 320) -> list[bytes]:
    return [pcm[i:i + size] for i in range(0, len(pcm), size)]


async def say_through(runner: SpeechRunner, engine: SpeechEngine, grammar: Grammar, text: str) -> str | None:
    """One menu turn through the runner, as a call makes it: espeak-ng says ``text``; the key heard."""
    recognizer = await runner.open(engine, grammar)
    for chunk in chunks(padded(render(text))):
        await recognizer.accept(chunk)
        if recognizer.is_endpoint:
            break
    return (await recognizer.finish()).key
