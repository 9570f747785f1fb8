"""Pure pieces: signatures (documented vectors), tokens, opt-out words, slots
(numbers and quiet hours: tests/contact)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from deflection.optout import is_start, is_stop
from deflection.ratelimit import SlidingWindowLimiter
from deflection.signatures import meta_signature, twilio_signature, verify_meta, verify_twilio
from deflection.slots import callback_slots
from deflection.tokens import (
    REFERENCE_ALPHABET,
    csrf_token,
    csrf_valid,
    find_reference,
    hash_token,
    looks_like_token,
    new_reference,
    new_token,
)
from deflection.view import called, chose, whatsapp_href, why
from tests.support.deflection_env import snapshot

# Twilio's documented example (docs "Secure webhooks" / validation guide): auth token 12345.
TWILIO_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
TWILIO_PARAMS = [("CallSid", "CA1234567890ABCDE"), ("Caller", "+12349013030"), ("Digits", "1234"),
                 ("From", "+12349013030"), ("To", "+18005551212")]
TWILIO_EXPECTED = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
# Computed independently with `openssl dgst -sha256 -hmac app-secret-123`.
META_BODY = b'{"object":"whatsapp_business_account"}'
META_EXPECTED = "sha256=dbc74863d4cd49044ec08695c8e2eb2b18119ff8d1e681226a93be56fc391aac"


def test_twilio_documented_vector() -> None:
    assert twilio_signature("12345", TWILIO_URL, TWILIO_PARAMS) == TWILIO_EXPECTED
    assert verify_twilio("12345", TWILIO_URL, TWILIO_PARAMS, TWILIO_EXPECTED)


def test_twilio_rejects_changes() -> None:
    assert not verify_twilio("12345", TWILIO_URL, TWILIO_PARAMS[:-1], TWILIO_EXPECTED)
    assert not verify_twilio("12346", TWILIO_URL, TWILIO_PARAMS, TWILIO_EXPECTED)
    assert not verify_twilio("12345", TWILIO_URL + "&x=1", TWILIO_PARAMS, TWILIO_EXPECTED)
    assert not verify_twilio("12345", TWILIO_URL, TWILIO_PARAMS, None)
    assert not verify_twilio("", TWILIO_URL, TWILIO_PARAMS, TWILIO_EXPECTED)


def test_twilio_port_variants() -> None:
    sig = twilio_signature("12345", "https://mycompany.com:443/myapp.php?foo=1&bar=2", TWILIO_PARAMS)
    assert verify_twilio("12345", TWILIO_URL, TWILIO_PARAMS, sig)


def test_meta_vector() -> None:
    assert meta_signature("app-secret-123", META_BODY) == META_EXPECTED
    assert verify_meta("app-secret-123", META_BODY, META_EXPECTED)
    assert not verify_meta("app-secret-123", META_BODY + b" ", META_EXPECTED)
    assert not verify_meta("app-secret-123", META_BODY, META_EXPECTED.replace("sha256=", "sha1="))
    assert not verify_meta("", META_BODY, META_EXPECTED)
    assert not verify_meta("app-secret-123", META_BODY, None)


def test_tokens() -> None:
    a, b = new_token(), new_token()
    assert a != b and len(a) >= 32 and looks_like_token(a)
    assert len(hash_token(a)) == 64 and a not in hash_token(a)
    assert not looks_like_token("../etc/passwd") and not looks_like_token("short")
    assert csrf_valid(a, "lnk_1", csrf_token(a, "lnk_1"))
    assert not csrf_valid(a, "lnk_2", csrf_token(a, "lnk_1"))
    assert not csrf_valid(b, "lnk_1", csrf_token(a, "lnk_1"))
    assert not csrf_valid(a, "lnk_1", None)


def test_reference_codes() -> None:
    ref = new_reference()
    assert ref.startswith("PU-") and len(ref) == 9 and all(c in REFERENCE_ALPHABET for c in ref[3:])
    assert not set("01OIL") & set(REFERENCE_ALPHABET)
    assert find_reference(f"Hola, mi referencia es {ref.lower()}.") == ref
    assert find_reference("PU-7KQ4X2") == "PU-7KQ4X2"
    assert find_reference("PU-7KQ4X2X") is None  # longer word: not a code
    assert find_reference("PU-0OOOOO") is None
    assert find_reference("nothing here") is None


@pytest.mark.parametrize("text", ["STOP", "stop", " Baja ", "BAJA.", "cancelar", "CANCELAR", "Unsubscribe",
                                  "NO MAS", "no más", "No Más!", "darse de baja", "Stop All", "STOPALL"])
def test_stop_words(text: str) -> None:
    assert is_stop(text)


@pytest.mark.parametrize("text", ["no me cancelen la cita", "stop por favor llamadme", "hola", "", "PU-7KQ4X2"])
def test_not_stop_words(text: str) -> None:
    assert not is_stop(text)


def test_start_words() -> None:
    assert is_start("ALTA") and is_start("start") and not is_start("si")


def test_rate_limiter() -> None:
    now = [0.0]
    limiter = SlidingWindowLimiter(3, 60.0, clock=lambda: now[0])
    assert all(limiter.allow("ip:a", "tok:x") for _ in range(3))
    assert not limiter.allow("ip:a", "tok:y")  # the IP is over
    assert limiter.allow("ip:b", "tok:y")
    now[0] = 20.0
    assert limiter.retry_after("ip:a") == 40  # the oldest hit leaves the window at 60 s
    assert limiter.retry_after("ip:c") == 1
    now[0] = 61.0
    assert limiter.allow("ip:a", "tok:x")


def test_page_says_when_why_and_what_in_the_callers_zone() -> None:
    ctx = snapshot().to_dict()  # started 09:42 UTC, queue billing, waited 185 s, reason queue_wait
    madrid, canary = ZoneInfo("Europe/Madrid"), ZoneInfo("Atlantic/Canary")
    assert called(ctx, "es", madrid) == "Llamó el lunes 23 de noviembre, a las 10:42, hora de Madrid (CET)."
    assert called(ctx, "es", canary) == "Llamó el lunes 23 de noviembre, a las 09:42, hora de Canarias (WET)."
    assert called(ctx, "en", madrid) == "You called on Monday 23 November, at 10:42, Madrid time (CET)."
    assert why(ctx, "es", rating=False) == ("Le enviamos este enlace mientras esperaba en la cola de facturación "
                                           "(esperó 3 minutos).")
    assert why(ctx, "en", rating=False) == ("We sent you this link while you were waiting in the billing queue "
                                           "(you waited 3 minutes).")
    assert chose(ctx, "es") == "Eligió: facturación." and chose(ctx, "en") == "You chose: billing."
    holiday = {**ctx, "reason": "after_hours", "queue": None,
               "variables": {"schedule_state": "holiday", "schedule_reason": "Navidad"}}
    assert why(holiday, "es", rating=False) == ("Le enviamos este enlace porque llamó en un día festivo (Navidad) "
                                               "y estábamos cerrados.")
    closed = {**holiday, "variables": {"schedule_state": "closed", "schedule_reason": "closed"}}
    assert why(closed, "en", rating=False) == "We sent you this link because you called outside our opening hours."
    assert why(ctx, "es", rating=True) == "Le enviamos este enlace para que valore la atención que recibió."
    assert called({}, "es", madrid) is None and chose({}, "es") is None


def test_whatsapp_href() -> None:
    href = whatsapp_href("+34 910 000 000", "PU-7KQ4X2", "es")
    assert href == "https://wa.me/34910000000?text=Hola%2C%20mi%20referencia%20es%20PU-7KQ4X2"
    assert whatsapp_href("", "PU-7KQ4X2", "es") is None


@dataclass(frozen=True)
class _Open:
    is_open: bool


class _Hours:
    """Open 09:00-11:00 UTC only."""

    async def status(self, name: str, at: datetime | None = None) -> _Open:
        assert at is not None
        return _Open(9 <= at.hour < 11)


async def test_callback_slots_follow_the_schedule() -> None:
    now = datetime(2026, 11, 23, 8, 50, tzinfo=UTC)
    slots = await callback_slots(_Hours(), "x", now, step_minutes=30, days=1)
    assert [s.strftime("%H:%M") for s in slots] == ["09:30", "10:00", "10:30"]
