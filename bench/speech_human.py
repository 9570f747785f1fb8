"""Human voices: Asterisk's recorded prompts (Debian asterisk-core-sounds-{en,es}-wav) through the engines.

    .venv/bin/python bench/speech_human.py [--languages en,es] [--engines pocketsphinx,whisper] [--noise-seeds N]

Sets per language: the ten digits (English also "oh") on a digits grammar; two six-option menus
(months, days) on menus of those words; "agent" / "agente" (spy-agent.wav) on the shipped main
menu, which must reach an agent; out-of-menu words (hello, sorry, months, days, ...) on the
shipped main menu's grammar, which must give no key or a confidence below 0.5. Conditions: clean,
G.711 µ-law, white noise at 20 dB and 10 dB SNR. Each recording is first set on a line (0.3 s before
it, 1 s after: tests.support.speech_audio.padded), then the condition applies to the whole line:
noise on a real line does not start with the word (until 2026-12-06 it did here, which left the
denoiser and the endpointer no noise to measure: noisy figures before then are not comparable).
"false agent" = out-of-menu utterances accepted as the human escape (an agent's time spent on
nothing). ``whisper`` is the engine as shipped (English: Whisper on clean lines, Moonshine on noisy
ones); ``moonshine`` is Moonshine alone, on every line. ``--noise-seeds N`` puts every noisy line's word on N
noise sequences (each counted; the first is the one the figures before it used): one sequence per
word says as much about that sequence as about the engine (Moonshine's English digits at 10 dB: 90.9 %
on the first, 78 % over five). Imported by bench/speech.py.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ivr.channel import Grammar  # noqa: E402
from ivr.speech.base import SpeechEngine  # noqa: E402
from ivr.speech.digits import ESCAPE_KEY  # noqa: E402
from ivr.speech.engines.moonshine import MoonshineEngine  # noqa: E402
from tests.support import human_audio as human  # noqa: E402
from tests.support.speech_audio import chunks, padded, with_noise  # noqa: E402

CONFIDENCE_THRESHOLD = 0.5
ESCAPE_SAID = {"en": "agent", "es": "agente"}  # what Allison says in spy-agent.wav
CONDITIONS: dict[str, Callable[[bytes, int], bytes]] = {
    "clean": lambda pcm, seed: pcm,
    "µ-law": lambda pcm, seed: human.mulaw(pcm),
    "20 dB": lambda pcm, seed: with_noise(pcm, 20, seed),
    "10 dB": lambda pcm, seed: with_noise(pcm, 10, seed),
}


@dataclass
class Tally:
    right: dict[str, list[bool]] = field(default_factory=dict)
    misses: list[str] = field(default_factory=list)

    def add(self, condition: str, ok: bool, note: str) -> None:
        self.right.setdefault(condition, []).append(ok)
        if not ok:
            self.misses.append(note)

    def rate(self, condition: str) -> float:
        oks = self.right.get(condition, [])
        return sum(oks) / len(oks) if oks else 0.0

    def n(self, condition: str) -> int:
        return len(self.right.get(condition, []))


def on_line(pcm: bytes, condition: str, seed: int) -> bytes:
    """The recording on a telephone line under ``condition`` (see the module's docstring)."""
    return CONDITIONS[condition](padded(pcm), seed)


def recognise(engine: SpeechEngine, grammar: Grammar, line: bytes) -> tuple[str | None, float]:
    session = engine.new_session(grammar)
    for chunk in chunks(line):
        session.accept(chunk)
        if session.is_endpoint:
            break
    result = session.finish()
    return result.key, result.confidence


def in_menu_sets(language: str) -> list[tuple[str, Grammar, list[tuple[str, bytes, str]]]]:
    digits = human.DIGIT_WORDS[language]
    digit_items = [(digits[i], human.digit(language, str(i)), str(i)) for i in range(10)]
    if language == "en":
        digit_items.append(("oh", human.load("en", "digits/oh"), "0"))
    months = human.MONTHS[language][:6]
    days = human.DAYS[language][1:7]
    return [
        ("digits", Grammar(language, {w: str(i) for i, w in enumerate(digits)}), digit_items),
        ("menu words", Grammar(language, {w: str(i + 1) for i, w in enumerate(months)}),
         [(w, human.month(language, i), str(i + 1)) for i, w in enumerate(months)]),
        ("menu words", Grammar(language, {w: str(i + 1) for i, w in enumerate(days)}),
         [(w, human.day(language, i + 1), str(i + 1)) for i, w in enumerate(days)]),
    ]


def out_of_menu(language: str) -> list[tuple[str, bytes]]:
    words = [(text, human.load(language, name)) for text, name in human.OUT_OF_MENU[language].items()]
    words += [(w, human.month(language, i)) for i, w in enumerate(human.MONTHS[language])]
    words += [(w, human.day(language, i)) for i, w in enumerate(human.DAYS[language])]
    return words


NOISY = ("20 dB", "10 dB")
SEED_STRIDE = 100_000  # noise sequence r of an item uses its seed + r * SEED_STRIDE


def lines(pcm: bytes, condition: str, seed: int, noise_seeds: int) -> list[bytes]:
    """The recording on the line under ``condition``: once if clean or µ-law (always the same audio),
    else once per noise sequence (the first is the bench's historical seed)."""
    repeats = noise_seeds if condition in NOISY else 1
    return [on_line(pcm, condition, seed + r * SEED_STRIDE) for r in range(repeats)]


def run(engine: SpeechEngine, language: str, noise_seeds: int = 1) -> dict[str, object]:
    tallies: dict[str, Tally] = {"digits": Tally(), "menu words": Tally(), "escape word": Tally()}
    seed = 0
    for name, grammar, items in in_menu_sets(language):
        for text, pcm, key in items:
            for condition in CONDITIONS:
                seed += 1
                for line in lines(pcm, condition, seed, noise_seeds):
                    got, confidence = recognise(engine, grammar, line)
                    ok = got == key and confidence >= CONFIDENCE_THRESHOLD
                    tallies[name].add(condition, ok, f"{text}/{condition}->{got}@{confidence:.2f}")
    rejected = total = false_agent = 0
    accepted: list[str] = []
    menu = Grammar(language, human.MAIN_MENU[language])
    for text, pcm in out_of_menu(language):
        for condition in ("clean", "10 dB"):
            seed += 1
            for line in lines(pcm, condition, seed, noise_seeds):
                got, confidence = recognise(engine, menu, line)
                total += 1
                if got is None or confidence < CONFIDENCE_THRESHOLD:
                    rejected += 1
                else:
                    false_agent += got in {ESCAPE_KEY, "0"}
                    accepted.append(f"{text}/{condition}->{got}@{confidence:.2f}")
    # A caller asking for a person on the main menu: the escape's stricter evidence must still let it
    # through. Its own seeds, so adding it left the other sets' noise (and figures) as they were.
    said = ESCAPE_SAID[language]
    for i, condition in enumerate(CONDITIONS):
        for line in lines(human.load(language, "spy-agent"), condition, 10_000 + i, noise_seeds):
            got, confidence = recognise(engine, menu, line)
            tallies["escape word"].add(condition, got == ESCAPE_KEY and confidence >= CONFIDENCE_THRESHOLD,
                                       f"{said}/{condition}->{got}@{confidence:.2f}")
    return {"tallies": tallies, "oog": rejected / total, "oog_n": total, "false_agent": false_agent / total,
            "accepted": accepted}


def engine_for(language: str, name: str = "pocketsphinx") -> SpeechEngine:
    """The engine as the server builds it by default (decoding here, in this process)."""
    engine: SpeechEngine
    if name == "whisper":
        from ivr.settings_speech import SpeechSettings
        from ivr.speech.engines.whisper import WhisperEngine

        # English as shipped: Moonshine on noisy lines (Whisper's PocketSphinx if not installed).
        shipped = SpeechSettings().languages.get(language)
        noisy = moonshine(language) if shipped and shipped.noisy_engine == "moonshine" else None
        engine = WhisperEngine(language, ROOT / "var" / "models" / "whisper-base",
                               min_snr_db=shipped.whisper_min_snr_db if shipped else None, noisy=noisy,
                               window_seconds=shipped.whisper_window_seconds if shipped else 4.0)
    elif name == "moonshine":  # English only: what English's noisy lines go to, here on every line
        engine = moonshine(language)
    else:
        from ivr.speech.engines.pocketsphinx import PocketSphinxEngine

        engine = PocketSphinxEngine(language)
    engine.load()
    return engine


def moonshine(language: str) -> MoonshineEngine:
    from ivr.speech.engines import moonshine_weights

    folder = moonshine_weights.model_dir()
    if folder is None:
        raise SystemExit(f"Moonshine's weights are not installed: {moonshine_weights.INSTALL}")
    return MoonshineEngine(language, folder)


def report(languages: list[str], engines: tuple[str, ...] = ("pocketsphinx",), noise_seeds: int = 1) -> None:
    print(f"{'human set':<22} {'n':>3} " + " ".join(f"{c:>7}" for c in CONDITIONS))
    extra: list[str] = []
    for engine_name in engines:
        for language in languages:
            if engine_name == "moonshine" and language != "en":
                continue  # Moonshine base hears English only
            if human.voice_dir(language) is None:
                print(f"{language}: {human.PACKAGES[language]} is not installed (scripts/install-system-deps.sh test)")
                continue
            label = f"{engine_name}-{language}"
            result = run(engine_for(language, engine_name), language, noise_seeds)
            tallies = result["tallies"]
            assert isinstance(tallies, dict)
            for name, tally in tallies.items():
                print(f"{label + ' ' + name:<22} {tally.n('clean'):>3} "
                      + " ".join(f"{tally.rate(c):>7.1%}" for c in CONDITIONS))
                if tally.misses:
                    extra.append(f"{label} {name} misses: " + ", ".join(tally.misses))
            print(f"{label + ' out-of-menu':<22} {result['oog_n']:>3} rejected "
                  f"{result['oog']:.1%}, false agent {result['false_agent']:.1%}")
            accepted = result["accepted"]
            assert isinstance(accepted, list)
            if accepted:
                extra.append(f"{label} out-of-menu accepted: " + ", ".join(accepted))
    for line in extra:
        print("\n" + line)
    print("\nright = the option's key at confidence >= 0.5; out-of-menu on the shipped main menu (clean + 10 dB); "
          "goals: >= 95% clean/µ-law, >= 85% at 10 dB, rejection >= 85% (es: 90% right, 80% rejected), "
          "false agent <= 2%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--languages", default="en,es")
    parser.add_argument("--engines", default="pocketsphinx",
                        help="pocketsphinx, whisper (as shipped), moonshine (English only); comma-separated")
    parser.add_argument("--noise-seeds", type=int, default=1,
                        help="noise sequences per noisy line (20 dB, 10 dB); 1 = the historical figures")
    args = parser.parse_args()
    report(args.languages.split(","), tuple(args.engines.split(",")), max(1, args.noise_seeds))


if __name__ == "__main__":
    main()
