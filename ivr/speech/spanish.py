"""Spanish words spelled in the CMU phone set of PocketSphinx's English acoustic model.

Spanish is heard by Whisper (ivr.speech.engines.whisper); this spelling serves PocketSphinx where it
stands in: when Whisper's weights are missing, while Whisper's lane is busy, and to confirm a
Spanish escape word.

Spanish spelling is close to phonemic, so a few rules give a pronunciation for any menu word; the
English model's nearest phones stand in for the Spanish ones (a grammar of a dozen words leaves
the decoder few look-alikes to confuse). Latin American Spanish: "c"/"z" before e/i are /s/.
Where Spanish sounds differ from the English phone that spells them, the spelling follows the
recordings (Asterisk's Mexican Spanish, bench/speech_human.py): the tap r is D, /e/ is EY (EH
before r), "ei" is EY IY. Tried and left out, as they lost right answers or let more out-of-menu
words in: /a/ as AE (menu words 100 % but digits and rejection down, a false escape), /d/ after
a vowel as DH, /b/ after a vowel as V, and allophones as extra alternatives (they split the
decoder's word posterior).
"""

from __future__ import annotations

import unicodedata

from ivr.speech.verify import Bounds

# Rejection bounds for Spanish spelled into English phones. Menu words outside the menu, spelled
# with the same approximate phones as the options, fit them nearly as well as a right answer
# does: on Asterisk's recordings (bench/speech_human.py) right answers scored -1.8 to -4.3 per
# frame (ivr.speech.verify's margin), out-of-menu words forced onto an option mostly -3.3 to -5.0. The
# English bounds put 0.5 at -5.2 and took most of those; here 0.5 sits at -4.4.
BOUNDS = Bounds(margin_low=-5.4, margin_high=-3.4)

_VOWELS = {"a": "AA", "e": "EH", "i": "IY", "o": "OW", "u": "UW"}
# Falling diphthongs: a vowel then unstressed i/y or u inside the syllable. "ei" as EY IY: the
# model's EY glides only to a lax end, and it took "seis" so spelled for "cinco"; with the glide's
# full IY "seis" wins (digits 80 -> 90 % right, bench/speech_human.py; EH IY won too but took
# "abril"'s posterior below 0.5 where EY IY does not).
_DIPHTHONGS = {"ai": ("AY",), "ay": ("AY",), "ei": ("EY", "IY"), "ey": ("EY", "IY"), "oi": ("OY",),
               "oy": ("OY",), "au": ("AW",)}
_SIMPLE = {"b": "B", "v": "B", "d": "D", "f": "F", "j": "HH", "k": "K", "l": "L", "m": "M", "n": "N",
           "p": "P", "r": "R", "s": "S", "t": "T", "w": "W", "z": "S"}


def _fold(word: str) -> str:
    """Accents off (á -> a), but keep ñ and ü apart."""
    out = []
    for ch in unicodedata.normalize("NFC", word.lower()):
        if ch in "ñü":
            out.append(ch)
            continue
        out.append(unicodedata.normalize("NFD", ch)[0])
    return "".join(out)


def variants(word: str) -> list[list[str]]:
    """The word's pronunciations for telephone audio: :func:`phones`, and /s/ heard as TH.

    The English model is wideband; an /s/ is mostly energy above 4 kHz, which an 8 kHz line cuts
    off, so on Asterisk's Mexican Spanish recordings a free phone decoder heard every /s/ as TH ("seis"
    -> TH .. IY HH). With the TH spelling as an alternative, digits went from 50 % to 80 % right
    and menu words from 75 % to 83 % (bench/speech_human.py, clean). The same variant did nothing
    for English digits and let more out-of-menu words in, so English keeps its dictionary.
    Each further alternative splits the decoder's word posterior (a bound on the confidence), so
    the allophones below replace the plain spelling rather than being added to it.
    """
    base = phones(word)
    if not base:
        return []  # nothing Spanish to spell: the word is not in the grammar's dictionary
    muffled = ["TH" if p == "S" else p for p in base]
    return [base, muffled] if muffled != base else [base]


def phones(word: str) -> list[str]:
    """CMU phones for a Spanish word ("nueve" -> N W EY B EY); letters outside Spanish are skipped."""
    w = _fold(word)
    out: list[str] = []
    i = 0
    while i < len(w):
        ch, nxt = w[i], w[i + 1] if i + 1 < len(w) else ""
        after = w[i + 2] if i + 2 < len(w) else ""
        pair = ch + nxt
        if pair in _DIPHTHONGS and not (after and after in "aeiou"):
            out.extend(_DIPHTHONGS[pair])
            i += 2
        elif ch in "iu" and nxt in _VOWELS:
            # A rising diphthong: i/u before another vowel is a glide (siete, cuatro, nueve).
            out.append("Y" if ch == "i" else "W")
            i += 1
        elif ch == "e":
            # Spanish /e/ is close-mid, nearer the onset of EY than EH (a lax vowel), except before
            # an r, which opens it: forced against the recordings, "martes", "jueves", "nueve" and
            # "siete" fit far better with EY, "cero" and "enero" with EH.
            out.append("EH" if nxt == "r" else "EY")
            i += 1
        elif ch in _VOWELS:
            out.append(_VOWELS[ch])
            i += 1
        elif ch == "ü":
            out.append("W")
            i += 1
        elif pair == "ch":
            out.append("CH")
            i += 2
        elif pair == "ll":
            out.append("Y")
            i += 2
        elif pair == "rr":
            out.append("R")
            i += 2
        elif pair == "qu" or (pair == "gu" and after in ("e", "i")):
            out.append("K" if ch == "q" else "G")
            i += 2
        elif ch == "c":
            out.append("S" if nxt in ("e", "i") else "K")
            i += 1
        elif ch == "g":
            out.append("HH" if nxt in ("e", "i") else "G")
            i += 1
        elif ch == "h":
            i += 1  # silent
        elif ch == "r":
            # A single r before a vowel is a tap, one brief closure: an English R (a long retroflex
            # glide) fits it badly, a D (the model's flapped "butter" d) well, in "febrero" or
            # "cuatro" as between vowels. At the start, after n/l/s or before a consonant it is
            # trilled or long enough for R.
            out.append("D" if i and w[i - 1] not in "nls" and nxt in _VOWELS else "R")
            i += 1
        elif ch == "ñ":
            out.extend(["N", "Y"])
            i += 1
        elif ch == "x":
            out.extend(["K", "S"])
            i += 1
        elif ch == "y":
            out.append("IY" if not nxt or nxt not in _VOWELS else "Y")
            i += 1
        elif ch in _SIMPLE:
            out.append(_SIMPLE[ch])
            i += 1
        else:
            i += 1
    return out
