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
    MORE_THAN = "more_than"


@dataclass(frozen=True, slots=True)
class WaitBand:
    """What we announce for an estimated wait: never a false precision."""

    kind: WaitBandKind
    minutes: int

    def label(self) -> str:
        return f"{self.kind.value.replace('_', ' ')} {self.minutes} min"


LONG_WAIT_MINUTES = 30
ROUND_TO_MINUTES = 5


def wait_band(seconds: float) -> WaitBand:
    """< 1 min: "less than a minute"; < 2 min: "less than 2 minutes"; < 5 min: "less than 5
    minutes"; up to 30 min: "about N minutes" with N rounded to the nearest 5; beyond: "more than
    30 minutes". Bands never promise a precision the estimate does not have, and never say "about
    5" to a caller likely to be answered in 2."""
    if seconds < 0 or math.isnan(seconds):
        raise ValueError(f"invalid wait estimate {seconds!r}")
    if seconds < 60:
        return WaitBand(WaitBandKind.LESS_THAN, 1)
    if seconds < 120:
        return WaitBand(WaitBandKind.LESS_THAN, 2)
    if seconds < 300:
        return WaitBand(WaitBandKind.LESS_THAN, 5)
    minutes = seconds / 60
    if minutes > LONG_WAIT_MINUTES:
        return WaitBand(WaitBandKind.MORE_THAN, LONG_WAIT_MINUTES)
    rounded = ROUND_TO_MINUTES * math.floor(minutes / ROUND_TO_MINUTES + 0.5)
    return WaitBand(WaitBandKind.ABOUT, max(ROUND_TO_MINUTES, rounded))


def wait_band_words(band: WaitBand, lang: str) -> list[str]:
    if band.kind is WaitBandKind.LESS_THAN and band.minutes == 1:
        return ["queue/wait_less_than_a_minute"]
    lead = {
        WaitBandKind.LESS_THAN: "queue/wait_less_than",
        WaitBandKind.ABOUT: "queue/wait_about",
        WaitBandKind.MORE_THAN: "queue/wait_more_than",
    }[band.kind]
    return [lead, *counted_words(band.minutes, "word/minute", "word/minutes", lang)]


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


def say_wait_band(catalogue: PromptCatalogue, seconds: float, lang: str) -> list[PromptFile]:
    return _files(catalogue, wait_band_words(wait_band(seconds), lang), lang)


def all_word_ids() -> set[str]:
    """Every id these functions may produce (the build renders them; a test checks the catalogue)."""
    ids = {f"num/{n}" for n in range(30)} | {f"num/{t}0" for t in range(3, 10)}
    ids |= {f"num/{h}00" for h in range(1, 10)} | {"num/hundred", "num/thousand", "num/1_short", "num/21_short"}
    ids |= {"word/and", "word/minute", "word/minutes", "word/second", "word/seconds", "word/star", "word/pound"}
    ids |= {"queue/position_is", "queue/in_line", "queue/wait_less_than_a_minute", "queue/wait_less_than",
            "queue/wait_about", "queue/wait_more_than"}
    return ids
