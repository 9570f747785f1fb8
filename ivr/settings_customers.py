"""Settings of reaching customers beyond the call: their numbers and zones (``IVR_CONTACT__*``),
deflection to SMS / WhatsApp (``IVR_DEFLECTION__*``) and callbacks (``IVR_CALLBACKS__*``); sections
of :class:`ivr.settings.Settings`, with the contact settings' old names."""

from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import BaseModel, field_validator


class DeflectionSettings(BaseModel):
    provider_sms: Literal["outbox", "twilio"] = "outbox"
    provider_whatsapp: Literal["outbox", "meta", "none"] = "none"
    link_ttl_hours: float = 24.0
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_from: str = ""
    twilio_base_url: str = "https://api.twilio.com"
    meta_phone_number_id: str = ""
    meta_access_token: str = ""
    meta_app_secret: str = ""
    meta_verify_token: str = ""  # the webhook subscription handshake's hub.verify_token
    meta_base_url: str = "https://graph.facebook.com/v20.0"
    meta_template: str = "puente_link"
    # The approved WhatsApp template a reply to a case goes out with (parameters: reference, text).
    meta_reply_template: str = "puente_case_reply"
    whatsapp_business_number: str = ""
    case_response_target_hours: float = 24.0
    open_rate_limit_per_minute: int = 30  # views of one link (per token)
    miss_rate_limit_per_minute: int = 20  # unknown/expired tokens per client address
    # A link with a booked callback lives until the callback time plus this margin (change, cancel, rate).
    link_after_callback_hours: float = 48.0
    support_number: str = ""  # shown on the page's "too many requests" page ("call us on ...")
    # The schedule whose opening hours the page's "call me back at" slots follow.
    schedule: str = "support"
    callback_slot_minutes: int = 30
    callback_slot_days: int = 3
    callback_default_queue: str = "general"  # when the call never reached a queue
    # No message is sent in the customer's local night: deferred until quiet hours end.
    quiet_hours_start: str = "21:00"
    quiet_hours_end: str = "09:00"
    deferred_poll_seconds: float = 30.0
    # Post-call rating link when a queue's `deflection: {rating: ...}` does not say.
    rating_after_call: bool = False


class ContactSettings(BaseModel):
    """How customers' numbers are read and which zone they live in (ivr/contact), for callbacks and
    deflection alike."""

    default_region: str = "ES"  # numbers given without a country code are read in this country
    # The main zone of a country that spans several (Spain: Madrid, not the Canaries), unless the
    # caller chose another; also the zone of a number whose country is unknown.
    default_timezone: str = "Europe/Madrid"

    @field_validator("default_region")
    @classmethod
    def _region(cls, region: str) -> str:
        region = region.strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown region {region!r}: use a two-letter country code such as ES")
        return region

    @field_validator("default_timezone")
    @classmethod
    def _timezone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r}: use an IANA name such as Europe/Madrid") from None
        return name


# The names these settings had before contact policy was one module: still read, with a warning.
DEPRECATED_CONTACT_KEYS = {
    ("deflection", "default_region"): "default_region",
    ("callbacks", "default_region"): "default_region",
    ("deflection", "default_timezone"): "default_timezone",
    ("callbacks", "default_timezone"): "default_timezone",
}


class CallbackSettings(BaseModel):
    enabled: bool = True
    caller_id: str = "+34910000000"
    poll_interval: float = 1.0
    lease_seconds: float = 120.0
    dispatch: bool = True  # run a dispatcher in this process (false: API/CLI only; another node dials)
    batch_size: int = 50  # callbacks claimed per poll
    max_active: int = 200  # callbacks worked at once per dispatcher (each waits in its queue's line)
    wait_slice_seconds: float = 60.0  # re-check the policy this often while waiting for an agent
    script_pickup_seconds: float = 30.0  # an answered Asterisk leg must reach the callback AGI within this
    # How to reach a customer: the Asterisk dial string (agent-first: the agent's AGI dials it;
    # customer-first: the AMI Originate channel) and the built-in endpoint's request URI.
    customer_dial: str = "PJSIP/{number}@trunk"
    customer_originate: str = "Local/{number}@puente-dial-out"  # dialplan/asterisk/extensions.conf
    customer_sip_uri: str = "sip:{number}@gateway.invalid"  # CHANGE: your SIP trunk / gateway
    ami_context: str = "callback-agi"  # the dialplan context that runs AGI(agi://.../callback)
    originator: str = "auto"  # auto (AMI when enabled, else the built-in SIP endpoint), ami, sip
