"""The default provider: nothing leaves the server; the message row is the outbox entry.

The CLI (``ivr deflections outbox``) and the admin UI list these rows. The receipt's id is local.
"""

from __future__ import annotations

import secrets

from deflection.providers.base import MessageStatus, OutboundMessage, ProviderReceipt
from ivr.ports import MessageChannel


class OutboxProvider:
    name = "outbox"

    def __init__(self, channel: MessageChannel) -> None:
        self.channel = channel

    async def send(self, message: OutboundMessage) -> ProviderReceipt:
        return ProviderReceipt("outbox-" + secrets.token_hex(8), MessageStatus.QUEUED)
