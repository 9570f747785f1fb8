"""Speech at scale: one model per engine and language, a bounded decoder pool reused across calls and
grammars, per-call state released at hang-up, and shedding to keys when the pool is saturated."""

from __future__ import annotations

import asyncio
import threading

import pytest
from prometheus_client import CollectorRegistry

from ivr.channel import Grammar
from ivr.speech.base import EndpointConfig, SpeechShed
from ivr.speech.engines.pocketsphinx import DecoderPool, PocketSphinxEngine
from ivr.speech.grammar import CompiledGrammar
from ivr.speech.metrics import SpeechCollector
from ivr.speech.runner import HEAVY_PER_WORKER, SpeechRunner
from ivr.speech.session import MAX_BYTES, Decoded, DecodingSession
from tests.support.speech_audio import chunks, padded, render, silence

MENU = Grammar("en", {"billing": "1", "technical support": "2", "order status": "3"})
OTHER_MENU = Grammar("en", {"repeat": "1", "goodbye": "9"})


def feed(session: DecodingSession, pcm: bytes) -> None:
    for chunk in chunks(pcm):
        session.accept(chunk)
        if session.is_endpoint:
            break


@pytest.mark.speech
@pytest.mark.usefixtures("espeak")
def test_sessions_hold_no_decoder_and_one_pooled_decoder_serves_every_menu() -> None:
    engine = PocketSphinxEngine("en", pool_size=2)
    sessions = [engine.new_session(MENU if i % 2 else OTHER_MENU) for i in range(40)]
    for session in sessions:
        feed(session, padded(render("billing")))
    assert engine.decoders_created == 0  # 40 callers listening: no decoder, only buffers
    assert all(0 < s.buffered_bytes <= MAX_BYTES for s in sessions)
    results = [s.finish() for s in sessions[:4]]
    # One decoder pair switched between the two menus' grammars (activate_search), reused.
    assert engine.decoders_created == 1 and engine.pool.idle == 1
    assert [r.key for r in results[1::2]] == ["1", "1"]
    for session in sessions[4:]:
        session.close()
    assert all(s.buffered_bytes == 0 for s in sessions)


def test_the_decoder_pool_is_bounded_and_reused() -> None:
    built: list[object] = []

    def build() -> object:
        built.append(object())
        return type("Pair", (), {"decoder": None, "searches": {}})()

    pool = DecoderPool(2, build)
    inside = threading.Barrier(3)  # the two holders and this test
    leaving = threading.Event()
    peak = 0
    held = 0
    lock = threading.Lock()

    def hold() -> None:
        nonlocal peak, held
        with pool.lease():
            with lock:
                held += 1
                peak = max(peak, held)
            inside.wait(5)
            leaving.wait(5)
            with lock:
                held -= 1

    threads = [threading.Thread(target=hold) for _ in range(2)]
    for t in threads:
        t.start()
    inside.wait(5)  # both leases held at once
    leaving.set()
    for t in threads:
        t.join(5)
    for _ in range(20):  # later utterances reuse them
        with pool.lease():
            pass
    assert (peak, len(built), pool.idle) == (2, 2, 2)


class BlockingEngine:
    """Decodes only when the test lets it: a saturated pool on demand."""

    name = "blocking"
    language = "en"
    isolated = False
    under_load = None
    ready = True
    spec = ("blocking",)

    def __init__(self) -> None:
        self.release = threading.Event()

    def load(self) -> None:
        return None

    def new_session(self, grammar: Grammar) -> DecodingSession:
        return DecodingSession(self, CompiledGrammar("en", {"billing": "1"}), EndpointConfig(), min_match_score=0.6)

    def decode(self, grammar: CompiledGrammar, pcm: bytes, span: tuple[int, int] | None = None) -> Decoded:
        self.release.wait(10)
        return Decoded("billing", 0.9)


async def test_a_saturated_pool_sheds_turns_to_keys_and_counts_them() -> None:
    engine = BlockingEngine()
    runner = SpeechRunner(1, max_pending=1, processes=False)
    registry = CollectorRegistry()
    registry.register(SpeechCollector(runner))
    try:
        first = await runner.open(engine, MENU)
        await first.accept(silence(100))
        decoding = asyncio.create_task(first.finish())
        async with asyncio.timeout(5):
            while runner.pending < 1:
                await asyncio.sleep(0.01)
        assert runner.saturated
        with pytest.raises(SpeechShed):  # a new menu turn: keys only
            await runner.open(engine, MENU)
        assert registry.get_sample_value("puente_speech_shed_total", {"stage": "open"}) == 1
        engine.release.set()
        assert (await decoding).key == "1"
        assert registry.get_sample_value("puente_speech_decoded_total") == 1
        assert (runner.pending, runner.live) == (0, 0)
    finally:
        engine.release.set()
        runner.shutdown()


class CountingEngine(BlockingEngine):
    def __init__(self) -> None:
        super().__init__()
        self.decoded = 0

    def decode(self, grammar: CompiledGrammar, pcm: bytes, span: tuple[int, int] | None = None) -> Decoded:
        self.decoded += 1
        return super().decode(grammar, pcm, span)


class HeavyEngine(CountingEngine):
    """A slow engine with a cheaper stand-in for busy times (as Whisper has PocketSphinx)."""

    name = "heavy"

    def __init__(self, cheaper: BlockingEngine) -> None:
        super().__init__()
        self.under_load = cheaper  # type: ignore[assignment]


async def test_a_long_queue_for_a_heavy_engine_goes_to_its_cheaper_stand_in() -> None:
    cheaper = CountingEngine()
    cheaper.release.set()
    engine = HeavyEngine(cheaper)
    runner = SpeechRunner(1, processes=False)
    registry = CollectorRegistry()
    registry.register(SpeechCollector(runner))
    try:
        turns = []
        for _ in range(HEAVY_PER_WORKER):  # the heavy engine's share of the queue, held busy
            recognizer = await runner.open(engine, MENU)
            await recognizer.accept(silence(100))
            turns.append(asyncio.create_task(recognizer.finish()))
        async with asyncio.timeout(5):
            while runner.heavy_pending < HEAVY_PER_WORKER:
                await asyncio.sleep(0.01)
        extra = await runner.open(engine, MENU)
        await extra.accept(silence(100))
        turns.append(asyncio.create_task(extra.finish()))
        async with asyncio.timeout(5):
            while runner.pending < HEAVY_PER_WORKER + 1:
                await asyncio.sleep(0.01)
        assert (runner.heavy_pending, runner.stats.fell_back) == (HEAVY_PER_WORKER, 1)  # queued for the stand-in
        engine.release.set()
        assert [(await turn).key for turn in turns] == ["1"] * (HEAVY_PER_WORKER + 1)
        assert (engine.decoded, cheaper.decoded) == (HEAVY_PER_WORKER, 1)
        assert registry.get_sample_value("puente_speech_fallback_total") == 1
        assert (runner.pending, runner.heavy_pending) == (0, 0)
    finally:
        engine.release.set()
        runner.shutdown()


async def test_an_utterance_past_its_deadline_is_not_decoded() -> None:
    engine = BlockingEngine()
    engine.release.set()
    runner = SpeechRunner(1, deadline=-1.0, processes=False)  # every job is already late
    try:
        recognizer = await runner.open(engine, MENU)
        await recognizer.accept(silence(100))
        with pytest.raises(SpeechShed):
            await recognizer.finish()
        assert (runner.stats.shed_late, runner.stats.decoded, runner.pending, runner.live) == (1, 0, 0, 0)
    finally:
        runner.shutdown()


async def test_hang_up_mid_utterance_releases_the_call_state() -> None:
    engine = BlockingEngine()
    runner = SpeechRunner(1, processes=False)
    try:
        recognizers = [await runner.open(engine, MENU) for _ in range(5)]
        for recognizer in recognizers:
            await recognizer.accept(silence(2000))
        assert runner.live == 5
        for recognizer in recognizers:  # the callers hang up: turns end without a decode
            await recognizer.close()
        assert (runner.live, runner.pending, runner.stats.decoded) == (0, 0, 0)
    finally:
        runner.shutdown()
