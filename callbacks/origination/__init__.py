"""How a callback's first leg is placed: Asterisk AMI Originate or the built-in SIP endpoint
(test doubles: tests/support/fake_origination.py, tests/support/fake_pbx.py)."""

from callbacks.origination.base import Leg, OriginateRequest, OriginateResult, Originator

__all__ = ["Leg", "OriginateRequest", "OriginateResult", "Originator"]
