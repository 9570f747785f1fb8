"""Spoken numbers, durations, positions and wait bands: the word sequences, in both languages."""

from __future__ import annotations

import pytest

from ivr.channel import PromptFile
from ivr.prompts.catalogue import PromptCatalogue
from ivr.prompts.speech_numbers import (
    NICE_MINUTES,
    WaitBand,
    WaitBandKind,
    digits_words,
    duration_words,
    number_words,
    position_words,
    say_digits,
    say_duration,
    say_number,
    say_position,
    say_wait_band,
    wait_band,
    wait_band_words,
    wait_quantiles,
)
from ivr.settings import PROJECT_ROOT


@pytest.fixture(scope="module")
def catalogue() -> PromptCatalogue:
    return PromptCatalogue.load(PROJECT_ROOT / "prompts")


def spoken(catalogue: PromptCatalogue, ids: list[str], lang: str) -> str:
    """The words as text, to read the tables below naturally."""
    return " ".join(catalogue.text(i, lang) for i in ids)


@pytest.mark.parametrize(
    ("n", "es", "en"),
    [
        (0, "cero", "zero"),
        (1, "uno", "one"),
        (15, "quince", "fifteen"),
        (16, "dieciséis", "sixteen"),
        (21, "veintiuno", "twenty-one"),
        (22, "veintidós", "twenty-two"),
        (30, "treinta", "thirty"),
        (31, "treinta y uno", "thirty one"),
        (45, "cuarenta y cinco", "forty five"),
        (99, "noventa y nueve", "ninety nine"),
        (100, "cien", "one hundred"),
        (101, "ciento uno", "one hundred one"),
        (115, "ciento quince", "one hundred fifteen"),
        (200, "doscientos", "two hundred"),
        (500, "quinientos", "five hundred"),
        (555, "quinientos cincuenta y cinco", "five hundred fifty five"),
        (700, "setecientos", "seven hundred"),
        (900, "novecientos", "nine hundred"),
        (1000, "mil", "one thousand"),
        (1001, "mil uno", "one thousand one"),
        (2000, "dos mil", "two thousand"),
        (2021, "dos mil veintiuno", "two thousand twenty-one"),
        (21000, "veintiún mil", "twenty-one thousand"),
        (31000, "treinta y un mil", "thirty one thousand"),
        (100000, "cien mil", "one hundred thousand"),
        (101000, "ciento un mil", "one hundred one thousand"),
        (500000, "quinientos mil", "five hundred thousand"),
        (999999, "novecientos noventa y nueve mil novecientos noventa y nueve",
         "nine hundred ninety nine thousand nine hundred ninety nine"),
    ],
)
def test_numbers(catalogue: PromptCatalogue, n: int, es: str, en: str) -> None:
    assert spoken(catalogue, number_words(n, "es"), "es") == es
    assert spoken(catalogue, number_words(n, "en"), "en") == en


def test_number_range() -> None:
    for bad in (-1, 1_000_000):
        with pytest.raises(ValueError, match="0 to 999,999"):
            number_words(bad, "es")


@pytest.mark.parametrize(
    ("seconds", "es", "en"),
    [
        (0, "cero segundos", "zero seconds"),
        (1, "un segundo", "one second"),
        (20, "veinte segundos", "twenty seconds"),
        (60, "un minuto", "one minute"),
        (61, "un minuto y un segundo", "one minute one second"),
        (200, "tres minutos y veinte segundos", "three minutes twenty seconds"),
        (1260, "veintiún minutos", "twenty-one minutes"),
        (1861, "treinta y un minutos y un segundo", "thirty one minutes one second"),
        (89.6, "un minuto y treinta segundos", "one minute thirty seconds"),
    ],
)
def test_durations(catalogue: PromptCatalogue, seconds: float, es: str, en: str) -> None:
    assert spoken(catalogue, duration_words(seconds, "es"), "es") == es
    assert spoken(catalogue, duration_words(seconds, "en"), "en") == en


def test_positions_and_digits(catalogue: PromptCatalogue) -> None:
    assert spoken(catalogue, position_words(3, "en"), "en") == "You are number three in line."
    assert spoken(catalogue, position_words(1, "es"), "es") == "Usted es el número uno en la cola."
    assert spoken(catalogue, position_words(21, "es"), "es") == "Usted es el número veintiuno en la cola."
    with pytest.raises(ValueError):
        position_words(0, "es")
    assert spoken(catalogue, digits_words("402*#"), "es") == "cuatro cero dos asterisco almohadilla"
    with pytest.raises(ValueError):
        digits_words("4a")


@pytest.mark.parametrize(
    ("seconds", "spread", "band"),
    [
        (0, None, WaitBand(WaitBandKind.LESS_THAN, 1)),
        (20, None, WaitBand(WaitBandKind.LESS_THAN, 1)),  # exponential-like: 90% within 46 s
        (50, 10, WaitBand(WaitBandKind.LESS_THAN, 2)),
        (100, None, WaitBand(WaitBandKind.LESS_THAN, 4)),
        (300, 60, WaitBand(WaitBandKind.ABOUT, 5)),
        (600, 100, WaitBand(WaitBandKind.ABOUT, 10)),
        (600, 200, WaitBand(WaitBandKind.BETWEEN, 15, 6)),
        (1500, 600, WaitBand(WaitBandKind.BETWEEN, 40, 12)),
        (1500, 250, WaitBand(WaitBandKind.ABOUT, 25)),
        (3000, 500, WaitBand(WaitBandKind.MORE_THAN, 30)),
        (5000, 800, WaitBand(WaitBandKind.MORE_THAN, 60)),
        (19316, 3000, WaitBand(WaitBandKind.ABOUT, 300)),  # "321 minutes 56 seconds" is "about 5 hours"
        (7200, None, WaitBand(WaitBandKind.LESS_THAN, 300)),
        (400_000, 10_000, WaitBand(WaitBandKind.MORE_THAN, 720)),
    ],
)
def test_wait_band(seconds: float, spread: float | None, band: WaitBand) -> None:
    chosen = wait_band(seconds, spread)
    assert chosen == band
    low, high = wait_quantiles(seconds, seconds if spread is None else spread)
    assert chosen.contains(low) and chosen.contains(high)  # the band holds the likely waits


def test_wait_band_is_the_narrowest_that_holds_the_likely_waits() -> None:
    for seconds in (45.0, 130.0, 400.0, 900.0, 2000.0, 2700.0):
        for spread in (seconds * 0.1, seconds * 0.3, seconds):
            band = wait_band(seconds, spread)
            low, high = wait_quantiles(seconds, spread)
            assert band.contains(low) and band.contains(high)
            assert band.minutes <= 720
            less_than = min(m for m in NICE_MINUTES if m * 60 >= high)
            assert band.width() <= less_than * 60 or band.kind is WaitBandKind.MORE_THAN


def test_wait_band_rejects_nonsense() -> None:
    for bad in (-1.0, float("nan")):
        with pytest.raises(ValueError):
            wait_band(bad)
    with pytest.raises(ValueError):
        wait_band(60.0, -1.0)


@pytest.mark.parametrize(
    ("seconds", "spread", "es", "en"),
    [
        (20, None, "El tiempo de espera estimado es de menos de un minuto.",
         "Your estimated wait is less than a minute."),
        (50, 10, "El tiempo de espera estimado es de menos de dos minutos",
         "Your estimated wait is less than two minutes"),
        (600, 100, "El tiempo de espera estimado es de unos diez minutos", "Your estimated wait is about ten minutes"),
        (1500, 600, "El tiempo de espera estimado es de doce a cuarenta minutos",
         "Your estimated wait is twelve to forty minutes"),
        (3000, 500, "El tiempo de espera estimado es de más de treinta minutos",
         "Your estimated wait is more than thirty minutes"),
        (5000, 800, "El tiempo de espera estimado es de más de una hora.",
         "Your estimated wait is more than an hour."),
        (3300, 300, "El tiempo de espera estimado es de alrededor de una hora.",
         "Your estimated wait is about an hour."),
        (19316, 3000, "El tiempo de espera estimado es de unas cinco horas",
         "Your estimated wait is about five hours"),
        (7200, None, "El tiempo de espera estimado es de menos de cinco horas",
         "Your estimated wait is less than five hours"),
        (30000, 12000, "El tiempo de espera estimado es de más de cuatro horas",
         "Your estimated wait is more than four hours"),
    ],
)
def test_wait_band_wording(catalogue: PromptCatalogue, seconds: float, spread: float | None, es: str,
                           en: str) -> None:
    band = wait_band(seconds, spread)
    assert spoken(catalogue, wait_band_words(band, "es"), "es") == es
    assert spoken(catalogue, wait_band_words(band, "en"), "en") == en
    assert "minutos" not in es or band.minutes < 60  # never "321 minutos"


def test_say_functions_return_prompt_files(catalogue: PromptCatalogue) -> None:
    assert say_number(catalogue, 31, "es") == [PromptFile("es/num/30"), PromptFile("es/word/and"),
                                                PromptFile("es/num/1")]
    assert say_digits(catalogue, "12", "en") == [PromptFile("en/num/1"), PromptFile("en/num/2")]
    assert say_duration(catalogue, 60, "es") == [PromptFile("es/num/1_short"), PromptFile("es/word/minute")]
    assert say_position(catalogue, 2, "en")[1] == PromptFile("en/num/2")
    assert say_wait_band(catalogue, 600, "es", 100) == [PromptFile("es/queue/wait_about"), PromptFile("es/num/10"),
                                                    PromptFile("es/word/minutes")]
