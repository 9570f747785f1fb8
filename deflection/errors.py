"""The deflection domain's exceptions (providers, links, webhooks)."""

from __future__ import annotations

from ivr import contact
from ivr.ports import DeflectionRefused


class DeflectionError(Exception):
    """Base of this domain's own errors."""


# The one invalid-number error (ivr/contact), named here too for this domain's callers.
InvalidNumber = contact.InvalidNumber


class ProviderError(DeflectionError):
    """A message provider did not take the message."""

    def __init__(self, provider: str, detail: str) -> None:
        super().__init__(f"{provider}: {detail}")
        self.provider = provider
        self.detail = detail


class ProviderUnavailable(ProviderError):
    """Network error, timeout or a 5xx: the provider may accept a retry later."""


class ProviderRejected(ProviderError):
    """A 4xx: the request itself was refused (bad credentials, bad number, template...)."""

    def __init__(self, provider: str, detail: str, *, status_code: int, code: str | None = None) -> None:
        super().__init__(provider, detail)
        self.status_code = status_code
        self.code = code


class ProviderNotConfigured(ProviderError):
    """Credentials or sender missing in settings."""


class LinkUnavailable(DeflectionError):
    """Unknown, expired or tampered token: callers see one friendly page for all three."""

    def __init__(self, why: str, *, expired: bool = False) -> None:
        super().__init__(why)
        self.expired = expired


class RateLimited(DeflectionError):
    """Too many openings of one link, or from one client, in the last minute."""


class CsrfRejected(DeflectionError):
    """A form came without the token tied to its link."""


class SignatureInvalid(DeflectionError):
    """A webhook's signature is missing or wrong."""


__all__ = [
    "CsrfRejected",
    "DeflectionError",
    "DeflectionRefused",
    "InvalidNumber",
    "LinkUnavailable",
    "ProviderError",
    "ProviderNotConfigured",
    "ProviderRejected",
    "ProviderUnavailable",
    "RateLimited",
    "SignatureInvalid",
]
