"""SMS through Twilio's Programmable Messaging REST API.

``POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json``, form-encoded ``To``, ``From``,
``Body`` (and ``StatusCallback``), HTTP basic auth with the account SID and auth token. The reply
is the Message resource (JSON) whose ``sid`` (``SM...``) identifies the message in later
status callbacks.
"""

from __future__ import annotations

import httpx

from deflection.errors import ProviderNotConfigured, ProviderRejected
from deflection.providers.base import MessageStatus, OutboundMessage, ProviderReceipt, post
from ivr.ports import MessageChannel

_STATUSES = {
    "accepted": MessageStatus.QUEUED,
    "scheduled": MessageStatus.QUEUED,
    "queued": MessageStatus.QUEUED,
    "sending": MessageStatus.QUEUED,
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.READ,
    "undelivered": MessageStatus.FAILED,
    "failed": MessageStatus.FAILED,
    "canceled": MessageStatus.FAILED,
}


def map_status(status: str) -> MessageStatus:
    return _STATUSES.get(status.lower(), MessageStatus.QUEUED)


class TwilioSms:
    name = "twilio"
    channel = MessageChannel.SMS

    def __init__(self, client: httpx.AsyncClient, *, base_url: str, account_sid: str, auth_token: str,
                 sender: str) -> None:
        if not (account_sid and auth_token and sender):
            raise ProviderNotConfigured(self.name, "twilio_account_sid, twilio_auth_token and twilio_from are needed")
        self._client = client
        self._url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self._auth = httpx.BasicAuth(account_sid, auth_token)
        self._from = sender

    async def send(self, message: OutboundMessage) -> ProviderReceipt:
        form = {"To": message.to, "From": self._from, "Body": message.body}
        if message.status_callback:
            form["StatusCallback"] = message.status_callback
        data = await post(self._client, self.name, self._url, data=form, auth=self._auth)
        sid = data.get("sid")
        if not isinstance(sid, str) or not sid:
            raise ProviderRejected(self.name, "reply without a message sid", status_code=200)
        return ProviderReceipt(sid, map_status(str(data.get("status", "queued"))))
