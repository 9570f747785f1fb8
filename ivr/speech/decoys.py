"""Decoy words: what a grammar decoder may answer instead of a menu phrase, mapped to no key.

A grammar decoder always answers with one of its phrases: an out-of-menu word ("junio", "lunes")
is forced onto whichever option sounds least unlike it ("uno"). Each grammar therefore also
holds a branch of decoys, ordinary words of the language that are not the menu's; when the best
path goes through one, the turn has no key and the flow re-asks.

The decoys are a general list of frequent words (function and everyday content words, as any
frequency list of the language begins), chosen with no look at the recordings the rejection is
measured on: none is one of bench/speech_human.py's out-of-menu words (tests/support/human_audio.py,
numbers, months, days, times of day, greetings), nor a number word. Per grammar, a decoy that
sounds like a phrase's word (:func:`near`) is left out so it cannot take a right answer. Only
words of at least ``MIN_PHONES`` phones: shorter ones fit a fragment of any word or a short
option outright (with three, English "six" and "five" went to "think" and "wrong" at 20 dB and
bench/speech_human.py's digits at 20 dB fell 82 -> 64 %; with five none was lost).
Decoy tokens start with ``MARK``, which :func:`ivr.speech.grammar.normalise` strips from every
menu phrase, so a decoy can never be mistaken for a phrase.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

MARK = "~"
MIN_PHONES = 5
# The decoy branch's prior against the menu's phrases' 1 in PocketSphinx's JSGF, per language: the
# trade-off between out-of-menu words rejected and menu words lost. The decoder raises it to the
# language weight, so it is an offset on a whole path's log score: only tiny values leave right
# answers alone. English, on Asterisk's recordings (bench/speech_human.py): 1 (decoys of three
# phones or more) rejected 93.9 % of out-of-menu words but lost digits at 20 and 10 dB (82 -> 55,
# 64 -> 36 %) and menu words at 10 dB (67 -> 42 %); 1e-25 loses no right answer and rejects 89.0 %
# (86.6 % without decoys); 1e-30 rejects no more than none. Spanish has none: its words, spelled
# into English phones, fit everyday words nearly as well as the options, and every weight that
# rejected more took right answers ("lunes" heard as "mundo", "abril" as "familia"): 1e-25
# rejected 85.5 % (74.2 % without) but digits fell 90 -> 80 % and menu words 92 -> 75 %; 1e-27
# rejected 80.6 % with menu words 92 -> 83 %; 1e-28 rejected no more than none.
WEIGHTS: dict[str, float] = {"en": 1e-25}

WORDS: dict[str, tuple[str, ...]] = {
    "en": (
        "about", "after", "again", "always", "another", "around", "because", "before", "between",
        "business", "children", "company", "country", "different", "every", "everything", "family",
        "father", "friend", "government", "great", "happy", "house", "important", "information",
        "interest", "little", "looking", "maybe", "message", "money", "mother", "nothing", "office",
        "other", "people", "picture", "place", "please", "question", "really", "school", "service",
        "something", "system", "thank", "there", "these", "thing", "think", "through", "under",
        "water", "weather", "where", "which", "without", "woman", "world", "would", "write", "wrong",
        "change", "address", "password", "internet", "welcome", "listen", "speak", "understand",
        "program", "email", "city", "street", "travel", "music", "doctor", "credit", "member",
    ),
    "es": (
        "ahora", "algo", "antes", "aquí", "bien", "bueno", "casa", "cosa", "como", "cuando",
        "después", "donde", "entonces", "esto", "gracias", "gente", "grande", "hablar", "hacer",
        "hasta", "mucho", "nada", "nunca", "otro", "pero", "porque", "puede", "quiero", "favor",
        "señor", "señora", "siempre", "también", "tengo", "tiempo", "todo", "trabajo", "verdad",
        "vida", "mundo", "país", "ciudad", "familia", "dinero", "cuenta", "correo", "pregunta",
        "información", "servicio", "oficina", "teléfono", "mensaje", "gusto", "claro", "necesito",
        "ayuda", "cambiar", "nuevo", "mejor", "mismo", "luego", "alguien", "nadie", "cliente",
        "empresa", "dirección", "contraseña", "escuela", "música", "calle", "médico",
        "crédito", "programa", "entender", "escuchar", "hablo", "gobierno", "historia",
    ),
}


def candidates(language: str) -> tuple[str, ...]:
    return WORDS.get(language, ())


def token(word: str) -> str:
    return MARK + word


def is_decoy(word: str) -> bool:
    return word.startswith(MARK)


def _distance(a: Sequence[str], b: Sequence[str]) -> int:
    """Edit distance between two phone sequences."""
    row = list(range(len(b) + 1))
    for i, pa in enumerate(a, start=1):
        prev, row[0] = row[0], i
        for j, pb in enumerate(b, start=1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (pa != pb))
    return row[-1]


def _inside(short: Sequence[str], long: Sequence[str]) -> bool:
    n = len(short)
    return any(list(long[i:i + n]) == list(short) for i in range(len(long) - n + 1))


def near(a: Sequence[str], b: Sequence[str]) -> bool:
    """Two pronunciations a caller's word could pass between: at most one phone in four apart
    (at least one), or one inside the other ("bill" in "billing")."""
    if _distance(a, b) <= max(1, min(len(a), len(b)) // 4):
        return True
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    return len(short) >= MIN_PHONES and _inside(short, long)


def select(decoys: dict[str, list[list[str]]], menu: Iterable[Sequence[str]]) -> list[str]:
    """The decoy words (of ``decoys``: word -> pronunciations) near none of ``menu``'s pronunciations."""
    spoken = [list(p) for p in menu]
    kept = []
    for word, pronunciations in decoys.items():
        long_enough = [p for p in pronunciations if len(p) >= MIN_PHONES]
        if long_enough and not any(near(p, m) for p in long_enough for m in spoken):
            kept.append(word)
    return sorted(kept)


def jsgf(name: str, phrases: Iterable[str], decoys: Sequence[str], weight: float) -> str:
    """The grammar: the phrases, or (at ``weight`` against the phrases' 1) one decoy."""
    body = " | ".join(sorted(phrases))
    if not decoys:
        return f"#JSGF V1.0;\ngrammar {name};\npublic <menu> = ( {body} );\n"
    branch = " | ".join(token(d) for d in decoys)
    return (f"#JSGF V1.0;\ngrammar {name};\npublic <menu> = /1/ ( {body} ) | /{weight:g}/ <decoy>;\n"
            f"<decoy> = ( {branch} );\n")
