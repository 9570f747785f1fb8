from __future__ import annotations

import asyncio
import math
from pathlib import Path

import numpy as np
import pytest

from ivr.channel import Grammar
from ivr.speech import worker
from ivr.speech.audio import Endpointer, as_samples, level_dbfs, line_snr_db, upsample_2x
from ivr.speech.base import EndpointConfig
from ivr.speech.engines.pocketsphinx import PocketSphinxEngine
from ivr.speech.engines.vosk import VoskEngine
from ivr.speech.runner import SpeechRunner
from tests.support.speech_audio import chunks, padded, render, say_through, silence, with_noise


def tone(ms: int, amplitude: float = 8000.0) -> bytes:
    t = np.arange(8 * ms) / 8000
    return (amplitude * np.sin(2 * np.pi * 440 * t)).astype("<i2").tobytes()


def test_upsample_doubles_rate_and_streams_seamlessly() -> None:
    samples = as_samples(tone(40))
    whole, _ = upsample_2x(samples)
    first, tail = upsample_2x(samples[:100])
    second, _ = upsample_2x(samples[100:], tail)
    assert whole.size == 2 * samples.size
    assert np.array_equal(np.concatenate([first, second]), whole)
    assert np.array_equal(whole[1::2], samples)  # original samples kept, midpoints between


def test_upsample_mirrors_the_band_as_the_model_was_measured_with() -> None:
    """Linear interpolation's response, which the recognizer's tuning rests on (see upsample_2x):
    a 3 kHz tone comes out 3 dB down with its image at 5 kHz 7 dB below it. A band-limited
    upsampler fails this; the human and synthetic benchmarks must be rerun before changing it."""
    t = np.arange(8000) / 8000
    wide, _ = upsample_2x((8000 * np.sin(2 * np.pi * 3000 * t)).astype(np.int16))
    spectrum = np.abs(np.fft.rfft(wide.astype(np.float64)))
    freqs = np.fft.rfftfreq(wide.size, 1 / 16000)
    tone, image = spectrum[freqs == 3000][0], spectrum[freqs == 5000][0]
    assert -3.5 < 20 * np.log10(tone / (8000 * 8000)) < -2.9  # rfft of a full-scale sine: amplitude * n / 2
    assert -7.5 < 20 * np.log10(image / tone) < -6.5
    assert spectrum[(freqs > 100) & (freqs != 3000) & (freqs != 5000)].max() < tone / 100  # nothing else


def test_levels() -> None:
    assert level_dbfs(as_samples(silence(20))) < -100
    assert -16 < level_dbfs(as_samples(tone(20))) < -14


def test_the_line_snr_is_estimated_from_the_utterance() -> None:
    """What decides whether English Whisper or PocketSphinx hears a line (WhisperEngine's min_snr_db)."""
    word = padded(tone(600))
    assert line_snr_db(word) == math.inf  # digital silence around the word: no noise to measure
    for snr in (30, 20, 10):
        assert abs(line_snr_db(with_noise(word, snr, seed=snr)) - snr) < 1.5
    assert line_snr_db(with_noise(silence(1500), 10, seed=1)) == 0.0  # noise alone: nothing above it
    assert line_snr_db(tone(1500)) == 0.0  # no quiet frame to measure the line by: taken as noisy
    assert line_snr_db(tone(100)) == 0.0  # too short to tell


def test_endpointer_start_end_and_limit() -> None:
    ep = Endpointer(EndpointConfig(silence_ms=300, max_utterance_ms=5000))
    ep.feed(silence(500))
    assert not ep.speech_started
    ep.feed(tone(200))
    assert ep.speech_started and not ep.is_endpoint
    ep.feed(silence(200))
    assert not ep.is_endpoint
    ep.feed(silence(120))
    assert ep.is_endpoint

    capped = Endpointer(EndpointConfig(silence_ms=300, max_utterance_ms=400))
    capped.feed(tone(420))
    assert capped.is_endpoint


def test_endpointer_catches_a_caller_already_talking() -> None:
    """Speech from the first frame: the quietest moment of the warm-up is taken as the line's level."""
    speech = render("technical support")
    ep = Endpointer(EndpointConfig(silence_ms=300))
    first_loud = int(np.argmax(np.abs(as_samples(speech)) > 2000))
    ep.feed(speech[2 * first_loud:] + silence(400))  # no leading silence at all
    assert ep.speech_started and ep.is_endpoint


def test_endpointer_follows_steady_noise() -> None:
    ep = Endpointer(EndpointConfig(silence_ms=300))
    noise = with_noise(silence(1000) + tone(300) + silence(1000), snr_db=20)
    ep.feed(noise[:16000])  # the first second: noise only
    assert not ep.speech_started
    ep.feed(noise[16000:])
    assert ep.speech_started and ep.is_endpoint


def test_endpointer_accepts_odd_chunk_sizes() -> None:
    ep = Endpointer(EndpointConfig(silence_ms=200))
    for part in chunks(silence(200) + tone(200) + silence(300), 37):
        ep.feed(part)
    assert ep.is_endpoint


@pytest.mark.speech
async def test_concurrent_sessions_keep_their_own_state() -> None:
    """Four calls at once through the pool: each gets its own answer, the loop stays responsive."""
    engine = PocketSphinxEngine("en")
    grammar = Grammar("en", {"billing": "1", "technical support": "2", "order status": "3"})
    runner = SpeechRunner(2, deadline=60.0)  # correctness here; the deadline is tested in test_pool.py
    texts = {"billing": "1", "technical support": "2", "order status": "3", "agent": "agent"}
    ticks = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0)

    try:
        await runner.warm(engine)  # the worker processes start and load the model (as `ivr serve` does)
        async with asyncio.TaskGroup() as tg:
            tg.create_task(ticker())
            keys = await asyncio.gather(*(say_through(runner, engine, grammar, t) for t in texts))
            stop.set()
    finally:
        runner.shutdown()
    assert keys == list(texts.values())
    assert ticks > 100  # the event loop ran other work while the worker processes decoded
    assert engine.decoders_created == 0  # no decoder in this process: all in the workers
    assert (runner.pending, runner.live, runner.stats.decoded) == (0, 0, len(texts))


def test_only_pocketsphinx_decodes_in_worker_processes(tmp_path: Path) -> None:
    """A worker builds its engine from the spec it is sent; an engine it cannot build is a wiring
    mistake, refused by name rather than failing inside the process pool."""
    sphinx = PocketSphinxEngine("en")
    assert worker.spec_of(sphinx) == sphinx.spec
    with pytest.raises(TypeError, match="vosk cannot decode in a worker process"):
        worker.spec_of(VoskEngine("es-ES", tmp_path))
