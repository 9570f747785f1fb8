"""Evaluation of an 8 kHz digits model for English digits: TIDIGITS (Debian pocketsphinx-testdata).

    .venv/bin/python bench/digits_tidigits.py

The wheel's en-us model is 16 kHz: telephone audio reaches it upsampled, and on Asterisk's human
voice (bench/speech_human.py) "five" goes to "nine" and "six" is never heard (even a grammar of the
one word "six" decodes that recording to nothing). ``pocketsphinx-testdata`` ships a connected-digits
model trained at 8 kHz bandwidth (whole-word phones). This prints, on the human set's lines (same
padding, noise, endpointing and denoising as the engine):

1. the digits model alone over the eleven digit words, per condition;
2. the combination tried: when the en-us pass answers a digit word below ``ACCEPT``, the digits
   model (over all eleven words: the ones the menu does not offer act as decoys) replaces it with a
   different digit the menu offers, at the confidence of its coverage of the speech. Digits right,
   and out-of-menu words rejected on the shipped main menu (three digit keys) and on a ten-digit
   menu, next to the en-us pass alone;
3. with ``--garbage W``, the digits model's search also holds a branch of any sequence of its own
   phones at prior ``W`` (``--lattice`` keeps PocketSphinx's lattice pass, which that branch makes slow).

Measured 2026-12-06 (en-us alone: digits 81.8 / 81.8 / 81.8 / 63.6 %, clean / µ-law / 20 / 10 dB):
the digits model alone gets 90.9 / 90.9 / 81.8 / 45.5 % ("five" and "six" right, but at 10 dB it
takes the noise for "five" and "six"); combined as in 2., digits 90.9 / 90.9 / 90.9 / 63.6 % and the
main menu's rejection unchanged (89.0 %), but on a ten-digit menu out-of-menu rejection falls from
85.4 to 63.4 % (six keys: 89.0 -> 86.6 %): the model knows no other word and fits any speech to
some digit, and nothing tells those answers from a real "six", which the en-us pass cannot verify
(its grammar pass on that recording gives nothing even for a grammar of the one word "six", and
its phone loop hears no /s/). A garbage branch did not separate them either: without the lattice
pass, at 1e-25 it took the digits the combination gains (alone: 72.7 / 72.7 / 18.2 / 0 %) yet let
out-of-menu words through (ten-digit menu 80.5 %), and from 1e-28 on it never won; with the
lattice pass, 1e-15 kept both rejections and gained "six" clean and µ-law, but cost 0.6 s median
and 4.5 s at worst per utterance (the lattice over the phone loop), against 7 ms without.
"seven" decoding to nothing on the bare recording: the file is cut at the word's edges and the
search reaches no final state; with any 0.3 s of silence before or after it (every line has some;
the engine decodes 0.5 s either side) it is "seven".
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.speech_human import CONDITIONS, CONFIDENCE_THRESHOLD, on_line, out_of_menu  # noqa: E402
from ivr.channel import Grammar  # noqa: E402
from ivr.speech.audio import add_noise_floor, as_samples  # noqa: E402
from ivr.speech.base import Decoded  # noqa: E402
from ivr.speech.engines.pocketsphinx import PocketSphinxEngine, speech_frames  # noqa: E402
from ivr.speech.session import DecodingSession, prepared  # noqa: E402
from ivr.speech.verify import COVERAGE_HIGH, COVERAGE_LOW, segments  # noqa: E402
from tests.support import human_audio as human  # noqa: E402
from tests.support.speech_audio import chunks  # noqa: E402

MODEL = Path("/usr/share/pocketsphinx/test/data/tidigits")
WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "oh")
ACCEPT = 0.5  # an en-us digit at or above this is the flow's to act on: not second-guessed
# Dither (feat.params) draws from a random state that runs on across utterances, so it is off and
# this floor (a few LSB) keeps digital silence's log energy finite, the same for every utterance.
NOISE_FLOOR = 5.0


def digits_decoder(garbage: float | None, lattice: bool) -> Any:
    from pocketsphinx import Decoder

    decoder = Decoder(hmm=str(MODEL / "hmm"), dict=str(MODEL / "lm" / "tidigits.dic"), lm=None, samprate=8000,
                      bestpath=lattice, loglevel="FATAL")
    decoder.config["dither"] = False
    decoder.reinit_feat()
    rule = f"( {' | '.join(WORDS)} )"
    if garbage is not None:
        with (MODEL / "lm" / "tidigits.dic").open(encoding="utf-8") as fh:
            phones = sorted({p for line in fh for p in line.split()[1:]})
        for phone in phones:
            decoder.add_word("~" + phone.lower(), phone, False)
        rule = f"/1/ {rule} | /{garbage:g}/ ( {' | '.join('~' + p.lower() for p in phones)} )+"
    decoder.add_jsgf_string("digits", f"#JSGF V1.0;\ngrammar digits;\npublic <d> = {rule};\n")
    decoder.activate_search("digits")
    return decoder


def hear(decoder: Any, audio: bytes) -> tuple[str, float]:
    """The digit word heard (or "": nothing, or the garbage branch) and its coverage of the speech."""
    floored = add_noise_floor(as_samples(audio), NOISE_FLOOR, np.random.default_rng(0))
    decoder.start_utt()
    decoder.process_raw(floored.tobytes(), False, True)
    decoder.end_utt()
    # Without the lattice pass the segments also hold the grammar's null transitions.
    words = [w for w in segments(decoder.seg()) if w.label != "(NULL)"] if decoder.hyp() is not None else []
    speech = speech_frames(audio)
    if len(words) != 1 or words[0].label.startswith("~") or speech is None:
        return "", 0.0
    word = words[0]
    inside = max(0, min(word.end, speech[1]) - max(word.start, speech[0]) + 1)
    coverage = inside / (speech[1] - speech[0] + 1)
    return word.label, max(0.0, min(1.0, (coverage - COVERAGE_LOW) / (COVERAGE_HIGH - COVERAGE_LOW)))


class Trial:
    """One line through the en-us engine, the digits model, and the combination."""

    def __init__(self, engine: PocketSphinxEngine, decoder: Any, grammar: Grammar, line: bytes) -> None:
        session = engine.new_session(grammar)
        for chunk in chunks(line):
            session.accept(chunk)
            if session.is_endpoint:
                break
        pcm, span = session.take_audio()
        decoded = engine.decode(session.grammar, pcm, span)
        started = time.perf_counter()
        self.heard, coverage = hear(decoder, prepared(pcm, span, denoise=True))
        self.ms = (time.perf_counter() - started) * 1000
        menu = set(session.grammar.phrases) & set(WORDS)
        combined = decoded
        if decoded.transcript in WORDS and decoded.confidence < ACCEPT and self.heard in menu - {decoded.transcript}:
            combined = Decoded(self.heard, coverage)
        self.alone = _key(session, decoded)
        self.combined = _key(session, combined)


def _key(session: DecodingSession, decoded: Decoded) -> str | None:
    result = session.conclude(decoded, latency_ms=0.0)
    return result.key if result.confidence >= CONFIDENCE_THRESHOLD else None


def report(garbage: float | None, lattice: bool) -> None:
    if human.voice_dir("en") is None or not (MODEL / "hmm" / "mdef").exists():
        print("needs asterisk-core-sounds-en-wav and pocketsphinx-testdata "
              "(sh scripts/install-system-deps.sh speech-adapt)")
        return
    engine = PocketSphinxEngine("en")
    engine.load()
    decoder = digits_decoder(garbage, lattice)
    digits = Grammar("en", {w: str(i) for i, w in enumerate(human.DIGIT_WORDS["en"])})
    items = [(w, human.digit("en", str(i)), str(i)) for i, w in enumerate(human.DIGIT_WORDS["en"])]
    items.append(("oh", human.load("en", "digits/oh"), "0"))
    alone: dict[str, list[bool]] = {}
    model: dict[str, list[bool]] = {}
    combined: dict[str, list[bool]] = {}
    times: list[float] = []
    seed = 0
    for word, pcm, key in items:
        for condition in CONDITIONS:
            seed += 1
            trial = Trial(engine, decoder, digits, on_line(pcm, condition, seed))
            model.setdefault(condition, []).append(trial.heard == word)
            alone.setdefault(condition, []).append(trial.alone == key)
            combined.setdefault(condition, []).append(trial.combined == key)
            times.append(trial.ms)
    print(f"{'human digits (11)':<28} " + " ".join(f"{c:>7}" for c in CONDITIONS))
    for name, rows in (("digits model alone", model), ("en-us alone", alone), ("en-us + digits model", combined)):
        print(f"{name:<28} " + " ".join(f"{sum(rows[c]) / len(rows[c]):>7.1%}" for c in CONDITIONS))
    # The main menu's lines get the seeds bench/speech_human.py gives them (after its 92 in-menu lines).
    for name, menu, first in (("main menu (3 digit keys)", Grammar("en", human.MAIN_MENU["en"]), 92),
                              ("ten-digit menu", digits, 1000)):
        seed = first
        rejected = {"en-us alone": 0, "en-us + digits model": 0}
        total = 0
        for _text, pcm in out_of_menu("en"):
            for condition in ("clean", "10 dB"):
                seed += 1
                trial = Trial(engine, decoder, menu, on_line(pcm, condition, seed))
                total += 1
                rejected["en-us alone"] += trial.alone is None
                rejected["en-us + digits model"] += trial.combined is None
                times.append(trial.ms)
        print(f"out-of-menu on the {name} ({total}): " + ", ".join(f"{k} {v / total:.1%} rejected"
                                                                   for k, v in rejected.items()))
    print(f"digits model: {statistics.median(times):.1f} ms median, {max(times):.1f} ms max per utterance")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--garbage", type=float, default=None, help="prior of a garbage branch (e.g. 1e-15)")
    parser.add_argument("--lattice", action="store_true", help="keep the lattice (bestpath) pass")
    args = parser.parse_args()
    report(args.garbage, args.lattice)


if __name__ == "__main__":
    main()
