"""Errors of the callbacks domain. Policy refusals are :class:`ivr.ports.CallbackRefused` (the
contract other domains catch); the rest are for the CLI and the API."""

from __future__ import annotations

from ivr import contact


class CallbackError(Exception):
    """Base of the callbacks domain's own errors."""


# The one invalid-number error (ivr/contact), named here too for this domain's callers.
InvalidNumber = contact.InvalidNumber


class CallbackNotFound(CallbackError):
    pass


class InvalidTransition(CallbackError):
    """The callback is in a state that does not allow this (e.g. cancelling a completed one)."""


class PolicyConfigError(CallbackError):
    """A queue's ``callback:`` mapping is not valid."""


class OriginateError(CallbackError):
    """An originator could not even try (e.g. AMI not connected); the attempt counts as failed."""
