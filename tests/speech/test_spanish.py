"""Spanish words spelled into the English model's phones, with the telephone-band /s/ variant."""

from __future__ import annotations

from ivr.speech.spanish import phones, variants


def test_spelling_follows_spanish_rules() -> None:
    assert phones("nueve") == ["N", "W", "EH", "B", "EH"]
    assert phones("cero") == ["S", "EH", "R", "OW"]  # seseo: c before e is /s/
    assert phones("asesor") == ["AA", "S", "EH", "S", "OW", "R"]


def test_an_s_is_also_spelled_as_an_8_khz_line_leaves_it() -> None:
    assert variants("seis") == [["S", "EY", "S"], ["TH", "EY", "TH"]]
    assert variants("uno") == [["UW", "N", "OW"]]  # no /s/: one pronunciation
    assert variants("123") == []  # nothing to spell: not in the grammar's dictionary
