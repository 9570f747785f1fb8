"""Webhook signatures, by each provider's documented algorithm (pure functions).

Twilio (``X-Twilio-Signature``): HMAC-SHA1, keyed with the auth token, of the full request URL
followed by every POST parameter sorted by name, each as name+value with no separator; base64.
Meta (``X-Hub-Signature-256``): ``sha256=`` + hex HMAC-SHA256 of the raw body, keyed with the app
secret. Both are compared in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit


def twilio_signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    data = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode("utf-8"), data.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _url_variants(url: str) -> list[str]:
    """Twilio may sign the URL with or without the default port: accept both forms."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    host = parts.hostname or ""
    if parts.port is not None:
        return [url, urlunsplit(parts._replace(netloc=host))] if parts.port == default else [url]
    if default is None:
        return [url]
    return [url, urlunsplit(parts._replace(netloc=f"{host}:{default}"))]


def verify_twilio(auth_token: str, url: str, params: list[tuple[str, str]], signature: str | None) -> bool:
    if not auth_token or not signature:
        return False
    ok = False
    for candidate in _url_variants(url):
        # No early exit: same work whichever variant matches.
        ok |= hmac.compare_digest(twilio_signature(auth_token, candidate, params), signature)
    return ok


def meta_signature(app_secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify_meta(app_secret: str, body: bytes, header: str | None) -> bool:
    if not app_secret or not header:
        return False
    return hmac.compare_digest(meta_signature(app_secret, body), header.strip())
