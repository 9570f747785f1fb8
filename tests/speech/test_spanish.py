"""Spanish words spelled into the English model's phones, with the telephone-band /s/ variant."""

from __future__ import annotations

from ivr.speech.spanish import BOUNDS, phones, variants
from ivr.speech.verify import DEFAULT_BOUNDS, Segment, verification


def test_spelling_follows_spanish_rules() -> None:
    assert phones("nueve") == ["N", "W", "EY", "B", "EY"]
    assert phones("cero") == ["S", "EH", "D", "OW"]  # seseo: c before e is /s/
    assert phones("asesor") == ["AA", "S", "EY", "S", "OW", "R"]


def test_a_tap_is_a_flap_and_a_trill_an_r() -> None:
    assert phones("cuatro") == ["K", "W", "AA", "T", "D", "OW"]  # tap after a consonant
    assert phones("pedido")[-2:] == ["D", "OW"]
    assert phones("martes")[:3] == ["M", "AA", "R"]  # before a consonant
    assert phones("reloj")[0] == "R"  # word-initial: trilled
    assert phones("honra") == ["OW", "N", "R", "AA"]  # after n: trilled
    assert phones("perro") == ["P", "EH", "R", "OW"]


def test_e_is_close_except_before_r() -> None:
    assert phones("siete") == ["S", "Y", "EY", "T", "EY"]
    assert phones("pero") == ["P", "EH", "D", "OW"]


def test_an_s_is_also_spelled_as_an_8_khz_line_leaves_it() -> None:
    assert variants("seis") == [["S", "EY", "IY", "S"], ["TH", "EY", "IY", "TH"]]
    assert variants("tres") == [["T", "D", "EY", "S"], ["T", "D", "EY", "TH"]]
    assert variants("uno") == [["UW", "N", "OW"]]  # no /s/: one pronunciation
    assert variants("123") == []  # nothing to spell: not in the grammar's dictionary


def test_spanish_rejection_bounds_are_stricter_on_the_margin_than_englishs() -> None:
    """A word forced onto an option scores 4.8 nats/frame below the best state: English takes it at
    0.5 or more; spelled Spanish, whose out-of-menu words fit their options that well, does not."""
    frames = 40
    speech, window = (8, 10 + frames + 1), (0, 100)
    words = [Segment("pedido", 10, 10 + frames - 1, -4.8 * frames)]
    assert verification(words, speech=speech, window=window) >= 0.5
    assert verification(words, speech=speech, window=window, bounds=BOUNDS) < 0.5
    right = [Segment("pedido", 10, 10 + frames - 1, -3.5 * frames)]
    assert verification(right, speech=speech, window=window, bounds=BOUNDS) >= 0.5
    assert BOUNDS.coverage_low == DEFAULT_BOUNDS.coverage_low  # only the margin is Spanish
