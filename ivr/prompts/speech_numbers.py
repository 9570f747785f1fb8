"""Speaking numbers, digits, durations, queue positions and wait bands from per-word audio.

Each function returns the word ids (``num/7``, ``word/minutes``...) as :class:`PromptFile` values of
the catalogue, in order. The pure ``*_words`` functions return the bare ids so the wording is
tested without audio.

Spanish forms: "veintiuno" but "veintiún minutos", "un minuto"; "cien" but "ciento uno";
"quinientos"; "mil", "dos mil", "veintiún mil", "cien mil".
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from ivr.channel import PromptFile
from ivr.prompts.catalogue import PromptCatalogue

MAX_NUMBER = 999_999
SPANISH = "es"


def number_words(n: int, lang: str, *, before_noun: bool = False) -> list[str]:
    """Word ids for ``n`` (0..999,999). ``before_noun``: Spanish apocope (un / veintiún minuto(s))."""
    if not 0 <= n <= MAX_NUMBER:
        raise ValueError(f"can only speak numbers from 0 to {MAX_NUMBER:,}, not {n}")
    if n == 0:
        return ["num/0"]
    thousands, rest = divmod(n, 1000)
    words: list[str] = []
    if thousands:
        if lang == SPANISH:
            # "mil", never "uno mil"; "veintiún mil", "treinta y un mil", "ciento un mil"
            words += [] if thousands == 1 else _below_1000(thousands, lang, apocope=True)
        else:
            words += _below_1000(thousands, lang, apocope=False)
        words.append("num/thousand")
    if rest:
        words += _below_1000(rest, lang, apocope=before_noun and lang == SPANISH)
    return words


def _below_1000(n: int, lang: str, *, apocope: bool) -> list[str]:
    hundreds, rest = divmod(n, 100)
    words: list[str] = []
    if hundreds:
        if lang == SPANISH and hundreds == 1:
            words.append("num/100" if rest == 0 else "num/hundred")  # cien / ciento ...
        else:
            words.append(f"num/{hundreds}00")  # doscientos, quinientos / two hundred
    if rest:
        words += _below_100(rest, lang, apocope=apocope)
    return words


def _below_100(n: int, lang: str, *, apocope: bool) -> list[str]:
    if n < 30:  # single words: veintiuno / twenty-one
        if apocope and n in (1, 21):
            return [f"num/{n}_short"]
        return [f"num/{n}"]
    tens, units = divmod(n, 10)
    if units == 0:
        return [f"num/{tens}0"]
    unit = "num/1_short" if apocope and units == 1 else f"num/{units}"
    if lang == SPANISH:
        return [f"num/{tens}0", "word/and", unit]  # treinta y uno
    return [f"num/{tens}0", unit]  # forty five


def digits_words(digits: str) -> list[str]:
    table = {"*": "word/star", "#": "word/pound"}
    out: list[str] = []
    for ch in digits:
        if ch.isdigit():
            out.append(f"num/{ch}")
        elif ch in table:
            out.append(table[ch])
        else:
            raise ValueError(f"cannot speak the character {ch!r} as a digit")
    return out


def counted_words(n: int, singular: str, plural: str, lang: str) -> list[str]:
    """"1 minute" / "un minuto", "21 minutos" -> "veintiún minutos"."""
    return [*number_words(n, lang, before_noun=True), singular if n == 1 else plural]


def duration_words(seconds: float, lang: str) -> list[str]:
    """"3 minutes 20 seconds" / "3 minutos y 20 segundos"; whole seconds, rounded."""
    total = round(seconds)
    if total < 0:
        raise ValueError("a duration cannot be negative")
    minutes, secs = divmod(total, 60)
    words: list[str] = []
    if minutes:
        words += counted_words(minutes, "word/minute", "word/minutes", lang)
    if secs or not minutes:
        if minutes and lang == SPANISH:
            words.append("word/and")
        words += counted_words(secs, "word/second", "word/seconds", lang)
    return words


def position_words(n: int, lang: str) -> list[str]:
    """"You are number 3 in line" / "Usted es el número tres en la cola"."""
    if n < 1:
        raise ValueError("queue positions start at 1")
    return ["queue/position_is", *number_words(n, lang), "queue/in_line"]


class WaitBandKind(enum.StrEnum):
    LESS_THAN = "less_than"
    ABOUT = "about"
    BETWEEN = "between"
    MORE_THAN = "more_than"


# "about N" promises the wait is within a third of N either way
ABOUT_LOW, ABOUT_HIGH = 2 / 3, 4 / 3
# the values a person says: minutes up to an hour, then whole hours (2..12)
NICE_MINUTES = (1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 45, 60, *(60 * h for h in range(2, 13)))
ABOUT_MINUTES = tuple(m for m in NICE_MINUTES if m >= 3)
# the central share of the predicted wait distribution a band must hold (z of its 10% and 90% quantiles)
BAND_Z = 1.2816


@dataclass(frozen=True, slots=True)
class WaitBand:
    """What we announce for an estimated wait: never a false precision. ``minutes`` is the value
    said ("less than 5", "about 10", "more than 60" = "more than an hour"); ``low_minutes`` the
    start of a "20 to 30 minutes" band. Values of an hour and more are whole hours."""

    kind: WaitBandKind
    minutes: int
    low_minutes: int = 0

    def label(self) -> str:
        def amount(m: int) -> str:
            return f"{m // 60} h" if m >= 60 and m % 60 == 0 else f"{m} min"

        if self.kind is WaitBandKind.BETWEEN:
            return f"{self.low_minutes if self.minutes < 120 else self.low_minutes // 60} to {amount(self.minutes)}"
        return f"{self.kind.value.replace('_', ' ')} {amount(self.minutes)}"

    def bounds(self) -> tuple[float, float]:
        """The waits (seconds) this band says are possible: what its coverage is measured on."""
        m = self.minutes * 60.0
        return {
            WaitBandKind.LESS_THAN: (0.0, m),
            WaitBandKind.ABOUT: (m * ABOUT_LOW, m * ABOUT_HIGH),
            WaitBandKind.BETWEEN: (self.low_minutes * 60.0, m),
            WaitBandKind.MORE_THAN: (m, math.inf),
        }[self.kind]

    def contains(self, seconds: float) -> bool:
        low, high = self.bounds()
        return low <= seconds <= high

    def width(self) -> float:
        low, high = self.bounds()
        return high - low


def wait_quantiles(seconds: float, spread: float) -> tuple[float, float]:
    """10% and 90% quantiles of a wait with this mean and standard deviation (a gamma
    distribution, Wilson-Hilferty's approximation): the range a band must cover."""
    if spread <= 0 or seconds <= 0:
        return seconds, seconds
    shape = (seconds / spread) ** 2
    scale = seconds / shape

    def quantile(z: float) -> float:
        cube = 1.0 - 1.0 / (9.0 * shape) + z / (3.0 * math.sqrt(shape))
        return shape * scale * max(cube, 0.0) ** 3

    return quantile(-BAND_Z), quantile(BAND_Z)


def wait_band(seconds: float, spread: float | None = None) -> WaitBand:
    """The narrowest band a person would say that holds the likely waits.

    ``spread`` is the standard deviation of the wait (from the estimator); without it the
    estimate is treated as exponential-like (spread = mean), the cautious choice. Under a minute:
    "less than a minute"; otherwise the narrowest of "less than B", "about N" and "A to B minutes"
    that covers the 10%..90% range; a wait likely beyond an hour is "more than A" or "about N
    hours". Never a number of minutes above 60: those are hours."""
    if seconds < 0 or math.isnan(seconds) or (spread is not None and (spread < 0 or math.isnan(spread))):
        raise ValueError(f"invalid wait estimate {seconds!r} ± {spread!r}")
    low, high = wait_quantiles(seconds, seconds if spread is None else spread)
    if high <= 60:
        return WaitBand(WaitBandKind.LESS_THAN, 1)
    low_m, high_m = low / 60.0, high / 60.0
    if high_m > NICE_MINUTES[-1] or (low_m >= 30 and high_m > 60):
        about = _about(low_m, high_m, hours_only=True)
        if about is not None:
            return about
        floor = max((m for m in NICE_MINUTES if m <= low_m), default=NICE_MINUTES[0])
        return WaitBand(WaitBandKind.MORE_THAN, floor)
    ceiling = min(m for m in NICE_MINUTES if m >= high_m)
    candidates = [WaitBand(WaitBandKind.LESS_THAN, ceiling)]
    about = _about(low_m, high_m, hours_only=False)
    if about is not None:
        candidates.append(about)
    floor = max((m for m in NICE_MINUTES if m <= low_m), default=0)
    if floor >= 2 and floor < ceiling and (ceiling <= 60 or (floor >= 120 and floor % 60 == 0)):
        candidates.append(WaitBand(WaitBandKind.BETWEEN, ceiling, floor))
    return min(candidates, key=lambda b: (b.width(), b.kind is not WaitBandKind.LESS_THAN))


def _about(low_m: float, high_m: float, *, hours_only: bool) -> WaitBand | None:
    for n in ABOUT_MINUTES:
        if hours_only and n < 60:
            continue
        if n * ABOUT_LOW <= low_m and high_m <= n * ABOUT_HIGH:
            return WaitBand(WaitBandKind.ABOUT, n)
    return None


def _amount_words(minutes: int, lang: str) -> list[str]:
    if minutes >= 60 and minutes % 60 == 0:
        return counted_words(minutes // 60, "word/hour", "word/hours", lang)
    return counted_words(minutes, "word/minute", "word/minutes", lang)


def wait_band_words(band: WaitBand, lang: str) -> list[str]:
    m = band.minutes
    if band.kind is WaitBandKind.LESS_THAN and m == 1:
        return ["queue/wait_less_than_a_minute"]
    if m == 60 and band.kind is not WaitBandKind.BETWEEN:
        return [f"queue/wait_{band.kind.value}_an_hour"]
    if band.kind is WaitBandKind.BETWEEN:
        low = band.low_minutes // 60 if m >= 120 else band.low_minutes
        return ["queue/wait_is", *number_words(low, lang), "word/to", *_amount_words(m, lang)]
    lead = {
        WaitBandKind.LESS_THAN: "queue/wait_less_than",
        WaitBandKind.ABOUT: "queue/wait_about_hours" if m >= 120 else "queue/wait_about",
        WaitBandKind.MORE_THAN: "queue/wait_more_than",
    }[band.kind]
    return [lead, *_amount_words(m, lang)]


# ---------------------------------------------------------------------- PromptFile sequences


def _files(catalogue: PromptCatalogue, ids: list[str], lang: str) -> list[PromptFile]:
    return [catalogue.file(i, lang) for i in ids]  # raises UnknownPrompt for a missing word


def say_number(catalogue: PromptCatalogue, n: int, lang: str) -> list[PromptFile]:
    return _files(catalogue, number_words(n, lang), lang)


def say_digits(catalogue: PromptCatalogue, digits: str, lang: str) -> list[PromptFile]:
    return _files(catalogue, digits_words(digits), lang)


def say_duration(catalogue: PromptCatalogue, seconds: float, lang: str) -> list[PromptFile]:
    return _files(catalogue, duration_words(seconds, lang), lang)


def say_position(catalogue: PromptCatalogue, n: int, lang: str) -> list[PromptFile]:
    return _files(catalogue, position_words(n, lang), lang)


def say_wait_band(catalogue: PromptCatalogue, seconds: float, lang: str, spread: float | None = None
                  ) -> list[PromptFile]:
    return _files(catalogue, wait_band_words(wait_band(seconds, spread), lang), lang)


def all_word_ids() -> set[str]:
    """Every id these functions may produce (the build renders them; a test checks the catalogue)."""
    ids = {f"num/{n}" for n in range(30)} | {f"num/{t}0" for t in range(3, 10)}
    ids |= {f"num/{h}00" for h in range(1, 10)} | {"num/hundred", "num/thousand", "num/1_short", "num/21_short"}
    ids |= {"word/and", "word/to", "word/hour", "word/hours", "word/minute", "word/minutes", "word/second",
            "word/seconds", "word/star", "word/pound"}
    ids |= {"queue/position_is", "queue/in_line", "queue/wait_less_than_a_minute", "queue/wait_less_than",
            "queue/wait_about", "queue/wait_more_than", "queue/wait_is", "queue/wait_about_hours",
            "queue/wait_less_than_an_hour", "queue/wait_about_an_hour", "queue/wait_more_than_an_hour"}
    return ids
