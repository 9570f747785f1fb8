"""Spoken digits and human-escape words per language.

A menu's grammar keys are the digits of its options, so a caller saying "two" / "dos" selects the
option on key 2. Only digits the menu actually offers are added, which keeps grammars small (and
recognition sharper).
"""

from __future__ import annotations

SPOKEN_DIGITS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "0": ("zero", "oh"), "1": ("one",), "2": ("two",), "3": ("three",), "4": ("four",),
        "5": ("five",), "6": ("six",), "7": ("seven",), "8": ("eight",), "9": ("nine",),
    },
    "es": {
        "0": ("cero",), "1": ("uno", "una"), "2": ("dos",), "3": ("tres",), "4": ("cuatro",),
        "5": ("cinco",), "6": ("seis",), "7": ("siete",), "8": ("ocho",), "9": ("nueve",),
    },
    # Korean menus say both the native and the Sino-Korean numbers; only the native ones up to
    # four are distinct enough for short-utterance recognition, the rest use Sino-Korean.
    "ko": {
        "0": ("영", "공"), "1": ("하나", "일"), "2": ("둘",), "3": ("셋", "삼"), "4": ("넷",),
        "5": ("다섯", "오"), "6": ("여섯", "육"), "7": ("일곱", "칠"), "8": ("여덟", "팔"), "9": ("아홉", "구"),
    },
}

# Words that always reach a human, in every menu ("0 / agent in every menu").
ESCAPE_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("agent", "operator", "representative", "human", "person"),
    "es": ("agente", "asesor", "asesora", "operador", "operadora", "persona"),
    "ko": ("상담원", "상담사"),
}

ESCAPE_KEY = "agent"


def base_language(language: str) -> str:
    """``es-MX`` -> ``es``."""
    return language.split("-", 1)[0].split("_", 1)[0].lower()


def spoken_digits(language: str, keys: set[str]) -> dict[str, str]:
    """Phrase -> digit key for every digit in ``keys`` this language has words for."""
    table = SPOKEN_DIGITS.get(base_language(language), {})
    return {word: digit for digit, words in table.items() if digit in keys for word in words}


def numerals_spelled(text: str, language: str) -> str:
    """Single-digit numerals written as the language's word ("6" -> "six"): an open-vocabulary
    recognizer (Whisper) writes numbers as digits, the grammars say them as words."""
    table = SPOKEN_DIGITS.get(base_language(language), {})
    return " ".join(table[w][0] if w in table else w for w in text.split())


def escape_words(language: str) -> tuple[str, ...]:
    return ESCAPE_WORDS.get(base_language(language), ())
