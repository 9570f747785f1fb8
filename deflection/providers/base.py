"""The one interface every message provider implements."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import httpx

from deflection.errors import ProviderRejected, ProviderUnavailable
from ivr.ports import MessageChannel


class MessageStatus(enum.StrEnum):
    DEFERRED = "deferred"  # waiting for the end of quiet hours
    QUEUED = "queued"  # recorded in the outbox / accepted by the provider
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    RECEIVED = "received"  # inbound


@dataclass(frozen=True, slots=True)
class TemplateMessage:
    """A WhatsApp template: its approved name, language and body parameters in order."""

    name: str
    language: str
    parameters: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, str | list[str]]:
        return {"name": self.name, "language": self.language, "parameters": list(self.parameters)}


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    to: str  # E.164
    body: str  # the plain text (SMS body; the template's rendering for the records)
    template: TemplateMessage | None = None
    status_callback: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ProviderReceipt:
    provider_message_id: str
    status: MessageStatus


class MessageProvider(Protocol):
    name: str
    channel: MessageChannel

    async def send(self, message: OutboundMessage) -> ProviderReceipt:
        """Raise ProviderUnavailable (retryable) or ProviderRejected (not) on failure."""
        ...


async def post(client: httpx.AsyncClient, provider: str, url: str, *, json: object = None,
               data: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None,
               auth: httpx.Auth | None = None) -> dict[str, object]:
    """POST (a JSON body or a form) and map transport errors and error statuses to the precise
    exceptions; the reply's JSON object, as the provider sent it (``{}`` when it sent none)."""
    try:
        response = await client.post(url, json=json, data=data, headers=headers,
                                     auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT)
    except httpx.TimeoutException as exc:
        raise ProviderUnavailable(provider, f"timeout: {type(exc).__name__}") from exc
    except httpx.TransportError as exc:
        raise ProviderUnavailable(provider, f"transport error: {type(exc).__name__}: {exc}") from exc
    if response.status_code >= 500:
        raise ProviderUnavailable(provider, f"HTTP {response.status_code}")
    try:
        reply = response.json()
    except ValueError:
        reply = {}
    if not isinstance(reply, dict):
        reply = {}
    if response.status_code >= 400:
        code, detail = error_detail(reply)
        raise ProviderRejected(provider, f"HTTP {response.status_code}: {detail}",
                               status_code=response.status_code, code=code)
    return reply


def error_detail(data: Mapping[str, object]) -> tuple[str | None, str]:
    """Twilio: {"code": 21211, "message": ...}; Meta: {"error": {"code": 131030, "message": ...}}."""
    err = data.get("error")
    if isinstance(err, dict):
        return (str(err["code"]) if "code" in err else None), str(err.get("message", "error"))
    if "code" in data or "message" in data:
        return (str(data["code"]) if data.get("code") is not None else None), str(data.get("message", "error"))
    return None, "error"
