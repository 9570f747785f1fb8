"""Out-of-grammar rejection for grammar decoders: how well the grammar's words explain the speech.

A grammar decoder always answers with one of its phrases, whatever was said. Two numbers tell a
real answer from a forced one: how much of the speech (as the energy endpointer delimits it) the
matched words span (a caller saying "I want to cancel my subscription" gets "one" squeezed into a
fifth of it), and the words' acoustic score per frame (the margin). Both map to [0, 1]; the lower
one is the verdict.

PocketSphinx reports a word's acoustic score relative to the best-scoring state of each frame, so
the margin already says how far the grammar's path falls below the best any sound could do there.
A free phone loop over the same frames, subtracted as a reference until December 2026, scored about
-0.002 nats per frame (its search follows the best state and reports its scores 2^10 smaller):
setting it to zero left every figure of bench/speech_human.py unchanged, so it was dropped with
its decoder (half of each pooled pair's memory and a share of every decode's CPU).
The bounds were measured on espeak-ng voices, clean and at 10 dB SNR (bench/speech.py prints the
rejection rate of an out-of-grammar set next to accuracy) and on Asterisk's human recordings.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

# Coverage of the endpointed speech by the matched words. On Asterisk's human recordings
# (bench/speech_human.py) right answers cover 0.73-1.0 of it, clean or at 10 dB SNR (one 0.50),
# out-of-menu words forced onto an option 0.45-0.9, out-of-grammar sentences far less.
COVERAGE_LOW = 0.5
COVERAGE_HIGH = 0.85
# Natural-log acoustic score per frame of the words: in-grammar about -3.5 (median), out-of-grammar
# about -5.5.
MARGIN_LOW = -6.2
MARGIN_HIGH = -4.2
# The human-escape words ("agent", "asesor") cost an agent's time when heard wrongly, so they need
# a margin that ordinary options need not reach. On Asterisk's human recordings (bench/speech_human.py,
# each utterance decoded as by a fresh decoder) out-of-menu words forced onto an escape word scored
# -3.16 to -5.8 (two at -2.3 and -2.5), real options mostly -1.8 to -3.3: 0.5 sits just above that
# cluster, at -3.1.
STRICT_MARGIN_LOW = -3.6
STRICT_MARGIN_HIGH = -2.6


@dataclass(frozen=True, slots=True)
class Bounds:
    """Where coverage and margin map to 0 and 1 (see :func:`verification`): the rejection's tuning."""

    coverage_low: float = COVERAGE_LOW
    coverage_high: float = COVERAGE_HIGH
    margin_low: float = MARGIN_LOW
    margin_high: float = MARGIN_HIGH
    strict_margin_low: float = STRICT_MARGIN_LOW
    strict_margin_high: float = STRICT_MARGIN_HIGH


DEFAULT_BOUNDS = Bounds()  # fitted on English speech; a language spelled into its phones may set its own
NON_SPEECH = frozenset({"<s>", "</s>", "<sil>", "[noise]", "<unk>"})  # a decoder's fillers, not words
_TINY = 1e-300  # the bindings give linear probabilities; long noisy words underflow to zero


@dataclass(frozen=True, slots=True)
class Segment:
    label: str
    start: int  # frames (10 ms), inclusive
    end: int
    log_score: float  # natural log of the segment's acoustic probability

    @property
    def frames(self) -> int:
        return self.end - self.start + 1


class RawSegment(Protocol):
    """What PocketSphinx's ``Decoder.seg()`` yields."""

    word: str
    start_frame: int
    end_frame: int
    ascore: float


def segments(raw: Iterable[RawSegment]) -> list[Segment]:
    """Decoder segments -> speech segments (silence and fillers dropped)."""
    return [Segment(str(seg.word), int(seg.start_frame), int(seg.end_frame), math.log(max(float(seg.ascore), _TINY)))
            for seg in raw if str(seg.word) not in NON_SPEECH]


def _coverage(lo: int, hi: int, speech: tuple[int, int] | None, window: tuple[int, int]) -> float:
    """How much of the speech the words [lo, hi] span: against the endpointed speech when known (on
    a noisy line anything wider holds noise), else against the whole decoded window."""
    first, last = speech if speech is not None else window
    inside = max(0, min(hi, last) - max(lo, first) + 1)
    return inside / max(last - first + 1, 1)


def scale(value: float, low: float, high: float) -> float:
    """``value`` mapped to [0, 1]: 0 at ``low`` or below, 1 at ``high`` or above, linear between."""
    return max(0.0, min(1.0, (value - low) / (high - low)))


def verification(words: list[Segment], *, speech: tuple[int, int] | None, window: tuple[int, int],
                 strict: bool = False, bounds: Bounds = DEFAULT_BOUNDS) -> float:
    """Confidence in [0, 1] that the grammar words are what was said (0.0 with no words);
    ``speech``: the frames the energy endpointer holds for speech (first, last), or None if it heard
    none; ``window``: the decoded frames (first, last); ``strict`` for the escape words (see
    STRICT_MARGIN_LOW); ``bounds``: the language's."""
    if not words:
        return 0.0
    lo, hi = min(w.start for w in words), max(w.end for w in words)
    coverage = _coverage(lo, hi, speech, window)
    margin = sum(w.log_score for w in words) / (hi - lo + 1)
    low, high = ((bounds.strict_margin_low, bounds.strict_margin_high) if strict
                 else (bounds.margin_low, bounds.margin_high))
    return min(scale(coverage, bounds.coverage_low, bounds.coverage_high), scale(margin, low, high))
