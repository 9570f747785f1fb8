"""How a callback's first leg is placed: Asterisk AMI Originate, the built-in SIP endpoint, or a fake."""

from callbacks.origination.base import Leg, OriginateRequest, OriginateResult, Originator

__all__ = ["Leg", "OriginateRequest", "OriginateResult", "Originator"]
