"""Human speech for tests and bench/speech.py: Asterisk's prompts as Debian packages them.

``asterisk-core-sounds-en-wav`` and ``-es-wav`` (installed by ``scripts/install-system-deps.sh
test``) hold one speaker's recordings at 8 kHz: digits, days and months are single words with a
known text, which makes them a small but honest set of real voices (US English, Mexican Spanish).
"""

from __future__ import annotations

import wave
from pathlib import Path

from ivr.channels.sip.g711 import Codec, decode, encode

SOUNDS = Path("/usr/share/asterisk/sounds")
# Debian installs Allison's voice under these names (Asterisk's own "en" / "es" when linked).
VOICE_DIRS = {"en": ("en_US_f_Allison", "en"), "es": ("es_MX_f_Allison", "es")}
PACKAGES = {"en": "asterisk-core-sounds-en-wav", "es": "asterisk-core-sounds-es-wav"}

DIGIT_WORDS = {
    "en": ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"),
    "es": ("cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve"),
}
MONTHS = {
    "en": ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december"),
    "es": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
           "noviembre", "diciembre"),
}
DAYS = {
    "en": ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"),
    "es": ("domingo", "lunes", "martes", "miércoles", "jueves", "viernes", "sábado"),
}
# Single words, known text, in no menu: what a caller might say instead of an option.
OUT_OF_MENU = {
    "en": {"hello": "hello", "goodbye": "goodbye", "sorry": "sorry", "transfer": "transfer",
           "extension": "extension", "number": "number", "minutes": "minutes", "seconds": "seconds",
           "hours": "hours", "invalid": "invalid", "cancelled": "cancelled", "calling": "calling",
           "today": "digits/today", "tomorrow": "digits/tomorrow", "yesterday": "digits/yesterday",
           "dollars": "digits/dollars", "thousand": "digits/thousand", "million": "digits/million",
           "hundred": "digits/hundred", "enabled": "enabled", "disabled": "disabled", "activated": "activated"},
    "es": {"hoy": "digits/today", "mañana": "digits/tomorrow", "ayer": "digits/yesterday",
           "dólares": "digits/dollars", "mil": "digits/thousand", "millón": "digits/million",
           "cien": "digits/hundred", "segundos": "seconds", "minutos": "minutes", "horas": "hours",
           "transferencia": "transfer", "inválido": "invalid"},
}


def voice_dir(language: str) -> Path | None:
    for name in VOICE_DIRS[language]:
        path = SOUNDS / name
        if (path / "digits" / "1.wav").exists():
            return path
    return None


def load(language: str, name: str) -> bytes:
    """A recording as 8 kHz signed 16-bit mono (``name`` like ``digits/5``)."""
    root = voice_dir(language)
    if root is None:
        raise FileNotFoundError(f"{PACKAGES[language]} is not installed")
    with wave.open(str(root / f"{name}.wav"), "rb") as wav:
        if (wav.getframerate(), wav.getsampwidth(), wav.getnchannels()) != (8000, 2, 1):
            raise ValueError(f"{name}: not 8 kHz 16-bit mono")
        return wav.readframes(wav.getnframes())


def digit(language: str, key: str) -> bytes:
    return load(language, f"digits/{key}")


def month(language: str, index: int) -> bytes:
    return load(language, f"digits/mon-{index}")


def day(language: str, index: int) -> bytes:
    return load(language, f"digits/day-{index}")


def mulaw(pcm: bytes) -> bytes:
    """Through a G.711 µ-law telephone leg and back."""
    return decode(encode(pcm, Codec.PCMU), Codec.PCMU)


# The shipped main menu (dialplan/flows/support.yaml), per language: what the
# tests and bench/speech_human.py put the out-of-menu words against.
MAIN_MENU = {
    "en": {"billing": "1", "bill": "1", "invoice": "1", "payments": "1", "technical support": "2", "support": "2",
           "tech support": "2", "technical problem": "2", "order status": "3", "order": "3", "my order": "3"},
    "es": {"facturación": "1", "factura": "1", "facturas": "1", "pagos": "1", "cobros": "1", "soporte técnico": "2",
           "soporte": "2", "avería": "2", "asistencia técnica": "2", "estado del pedido": "3", "pedido": "3",
           "mi pedido": "3"},
}
