from __future__ import annotations


class AmiError(Exception):
    """Base of AMI failures."""


class AmiNotConnected(AmiError):
    """No logged-in AMI session right now (or it was lost while the action was pending)."""


class AmiTimeout(AmiError):
    """Asterisk did not answer an action in time."""


class AmiLoginFailed(AmiError):
    """Asterisk refused the credentials (``Response: Error`` to ``Login``)."""


class AmiProtocolError(AmiError):
    """Asterisk said something we cannot make sense of."""
