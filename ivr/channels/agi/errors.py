"""The AGI error hierarchy: one exception per way a FastAGI exchange can go wrong.

Reply codes map one to one: ``510`` -> :class:`AgiUnknownCommand`, ``511`` ->
:class:`AgiDeadChannel`, ``520`` -> :class:`AgiUsageError`. Transport problems (malformed lines,
over-long lines, timeouts, end of stream) have their own classes so the server can count them and
close the connection. Errors that mean "the caller is gone" are also :class:`CallerHungUp`, so the
flow engine ends the call the same way for every backend.
"""

from __future__ import annotations

from ivr.channel import CallerHungUp, ChannelError


class AgiError(ChannelError):
    """Anything that went wrong on a FastAGI connection."""


class AgiCommandError(AgiError):
    """Asterisk answered a command with an error code."""

    def __init__(self, code: int, text: str, command: str | None = None) -> None:
        self.code = code
        self.text = text
        self.command = command
        where = f" to {command!r}" if command else ""
        super().__init__(f"AGI {code}{where}: {text}")


class AgiUnknownCommand(AgiCommandError):
    """``510 Invalid or unknown command``."""


class AgiDeadChannel(AgiCommandError, CallerHungUp):
    """``511 Command Not Permitted on a dead channel or intercept routine``: the caller is gone."""


class AgiUsageError(AgiCommandError):
    """``520``: the command's syntax was wrong; ``usage`` carries Asterisk's usage text."""

    def __init__(self, code: int, text: str, usage: str, command: str | None = None) -> None:
        self.usage = usage
        super().__init__(code, text, command)


class AgiUnexpectedCode(AgiCommandError):
    """Any other reply code (e.g. ``503 result=-2 Memory allocation failure``)."""


class AgiProtocolError(AgiError):
    """The peer sent something that is not FastAGI (garbage, a broken environment block...)."""


class AgiLineTooLong(AgiProtocolError):
    """A line exceeded ``settings.agi.max_line_bytes``."""


class AgiTimeout(AgiError):
    """No complete answer within the allowed time (header deadline or per-command timeout)."""


class AgiConnectionClosed(AgiError, CallerHungUp):
    """Asterisk closed the socket: the AGI (and so the call, for us) is over."""
