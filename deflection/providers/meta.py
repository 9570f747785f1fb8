"""WhatsApp through Meta's WhatsApp Cloud API: a template message.

``POST {base}/{phone_number_id}/messages`` with a bearer token and the JSON body
``{"messaging_product": "whatsapp", "to": ..., "type": "template", "template": {"name": ...,
"language": {"code": ...}, "components": [{"type": "body", "parameters": [{"type": "text",
"text": ...}]}]}}``. The reply's ``messages[0].id`` (``wamid...``) comes back in status webhooks.
"""

from __future__ import annotations

from typing import Any

import httpx

from deflection.errors import ProviderNotConfigured, ProviderRejected
from deflection.numbers import wa_digits
from deflection.providers.base import MessageStatus, OutboundMessage, ProviderReceipt, post
from ivr.ports import MessageChannel

_STATUSES = {
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.READ,
    "failed": MessageStatus.FAILED,
}


def map_status(status: str) -> MessageStatus:
    return _STATUSES.get(status.lower(), MessageStatus.QUEUED)


def template_payload(to: str, name: str, language: str, parameters: tuple[str, ...]) -> dict[str, Any]:
    template: dict[str, Any] = {"name": name, "language": {"code": language}}
    if parameters:
        template["components"] = [
            {"type": "body", "parameters": [{"type": "text", "text": p} for p in parameters]}
        ]
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": wa_digits(to),
            "type": "template", "template": template}


class MetaWhatsApp:
    name = "meta"
    channel = MessageChannel.WHATSAPP

    def __init__(self, client: httpx.AsyncClient, *, base_url: str, phone_number_id: str,
                 access_token: str) -> None:
        if not (phone_number_id and access_token):
            raise ProviderNotConfigured(self.name, "meta_phone_number_id and meta_access_token are needed")
        self._client = client
        self._url = f"{base_url.rstrip('/')}/{phone_number_id}/messages"
        self._headers = {"Authorization": f"Bearer {access_token}"}

    async def send(self, message: OutboundMessage) -> ProviderReceipt:
        if message.template is None:
            # Business-initiated WhatsApp conversations must open with an approved template.
            raise ProviderRejected(self.name, "WhatsApp needs a template message", status_code=0)
        t = message.template
        payload = template_payload(message.to, t.name, t.language, t.parameters)
        data = await post(self._client, self.name, self._url, json=payload, headers=self._headers)
        messages = data.get("messages")
        if not isinstance(messages, list) or not messages or not isinstance(messages[0], dict):
            raise ProviderRejected(self.name, "reply without messages[0].id", status_code=200)
        wamid = messages[0].get("id")
        if not isinstance(wamid, str) or not wamid:
            raise ProviderRejected(self.name, "reply without messages[0].id", status_code=200)
        return ProviderReceipt(wamid, MessageStatus.QUEUED)
