"""Out-of-grammar rejection for grammar decoders: how well the grammar's words explain the speech.

A grammar decoder always answers with one of its phrases, whatever was said. Two numbers tell a
real answer from a forced one: how much of the speech (as the energy endpointer delimits it) the
matched words span (a caller saying "I want to cancel my subscription" gets "one" squeezed into a
fifth of it), and how much worse the words' acoustic score is per frame than that of a phone loop
(any phone may follow any) decoding the same frames. Both map to [0, 1]; the lower one is the verdict.
The bounds were measured on espeak-ng voices, clean and at 10 dB SNR (bench/speech.py prints the
rejection rate of an out-of-grammar set next to accuracy).
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
# Natural-log acoustic score per frame, words minus free phones: in-grammar about -3.5 (median),
# out-of-grammar about -5.5.
MARGIN_LOW = -6.2
MARGIN_HIGH = -4.2
# The human-escape words ("agent", "asesor") cost an agent's time when heard wrongly, so they need
# a margin that ordinary options need not reach. On Asterisk's human recordings (bench/speech_human.py)
# out-of-menu words forced onto an escape word scored -3.25 to -5.8 (one at -2.6), real options
# mostly -1.8 to -3.3, espeak-ng's "agent" about -3.1: at -3.2 the escape is worth 0.5.
STRICT_MARGIN_LOW = -3.7
STRICT_MARGIN_HIGH = -2.7


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
NON_SPEECH = frozenset({"<s>", "</s>", "<sil>", "[noise]", "<unk>", "SIL", "+NSN+", "+SPN+", "+BREATH+"})
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


def _coverage(lo: int, hi: int, phones: list[Segment], speech: tuple[int, int] | None) -> float:
    """How much of the speech the words [lo, hi] span. Against the endpointed speech when known: on a
    noisy line the phone loop hears noise as fricatives from end to end, so the phones' span is the
    whole window and a right word looked squeezed (10 dB: coverage 0.35 for a clean "one")."""
    if speech is None:
        span = max(p.end for p in phones) - min(p.start for p in phones) + 1
        return (hi - lo + 1) / max(span, 1)
    first, last = speech
    inside = max(0, min(hi, last) - max(lo, first) + 1)
    return inside / max(last - first + 1, 1)


def _scale(value: float, low: float, high: float) -> float:
    return max(0.0, min(1.0, (value - low) / (high - low)))


def verification(words: list[Segment], phones: list[Segment], *, speech: tuple[int, int] | None = None,
                 strict: bool = False, bounds: Bounds = DEFAULT_BOUNDS) -> float:
    """Confidence in [0, 1] that the grammar words are what was said (1.0 when there is nothing to compare);
    ``speech``: the frames the energy endpointer holds for speech (first, last), else the phones' span;
    ``strict`` for the escape words (see STRICT_MARGIN_LOW); ``bounds``: the language's."""
    if not words or not phones:
        return 1.0 if words else 0.0
    lo, hi = min(w.start for w in words), max(w.end for w in words)
    coverage = _coverage(lo, hi, phones, speech)
    # The phones' score over the words' frames, pro rata for phones straddling an edge.
    free = sum(p.log_score * max(0, min(p.end, hi) - max(p.start, lo) + 1) / p.frames for p in phones)
    margin = (sum(w.log_score for w in words) - free) / (hi - lo + 1)
    low, high = ((bounds.strict_margin_low, bounds.strict_margin_high) if strict
                 else (bounds.margin_low, bounds.margin_high))
    return min(_scale(coverage, bounds.coverage_low, bounds.coverage_high), _scale(margin, low, high))
