"""Link tokens, reference codes and CSRF tokens (pure functions, no storage)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Any

TOKEN_BYTES = 24  # 192 bits, above the 128-bit floor
# No 0/O, 1/I/L, U/V: readable aloud and typed on a phone without ambiguity.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"
REFERENCE_LENGTH = 6
REFERENCE_PREFIX = "PU-"


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """What the database keeps: a leak of it reveals no live link."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def looks_like_token(token: str) -> bool:
    """Cheap shape check before any lookup (urlsafe base64 of 24 bytes is 32 chars)."""
    return 20 <= len(token) <= 64 and all(c.isalnum() or c in "-_" for c in token)


# A landing-page link inside any text: ``/c/`` then a token (see :func:`looks_like_token`).
_LINK_TOKEN = re.compile(r"/c/([A-Za-z0-9_-]{20,64})")
MASK_KEEP = 4


def mask_tokens(text: str) -> str:
    """Each ``/c/<token>`` in the text shortened to its first characters and an ellipsis: enough to
    tell links apart, useless as a credential."""
    return _LINK_TOKEN.sub(lambda m: f"/c/{m.group(1)[:MASK_KEEP]}…", text)


def scrub_tokens(value: Any) -> Any:
    """:func:`mask_tokens` through a JSON-like value (dicts, lists, tuples, strings)."""
    if isinstance(value, str):
        return mask_tokens(value)
    if isinstance(value, dict):
        return {k: scrub_tokens(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_tokens(v) for v in value]
    return value


def new_reference() -> str:
    return REFERENCE_PREFIX + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


def find_reference(text: str) -> str | None:
    """The first reference code inside a free text ("Hola PU-7kq4x2 ..."), normalised, or None."""
    upper = text.upper()
    start = 0
    while (i := upper.find(REFERENCE_PREFIX, start)) >= 0:
        code = upper[i + len(REFERENCE_PREFIX): i + len(REFERENCE_PREFIX) + REFERENCE_LENGTH]
        end = i + len(REFERENCE_PREFIX) + REFERENCE_LENGTH
        boundary = end >= len(upper) or not upper[end].isalnum()
        if len(code) == REFERENCE_LENGTH and all(c in REFERENCE_ALPHABET for c in code) and boundary:
            return REFERENCE_PREFIX + code
        start = i + 1
    return None


def new_link_id() -> str:
    return "lnk_" + secrets.token_hex(8)


def csrf_token(token: str, link_id: str) -> str:
    """Tied to the link: derived from its secret token, which only the URL's holder knows."""
    return hmac.new(token.encode("utf-8"), f"csrf:{link_id}".encode(), hashlib.sha256).hexdigest()


def csrf_valid(token: str, link_id: str, given: str | None) -> bool:
    if not given:
        return False
    return hmac.compare_digest(csrf_token(token, link_id), given)
