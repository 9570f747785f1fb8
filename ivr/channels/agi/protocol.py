"""FastAGI wire format, the lines: what one line read off the socket is (a reply, the start of a
multi-line 520, or the unsolicited HANGUP). The ``agi_*`` block is in :mod:`environment`, replies
in :mod:`replies`, commands in :mod:`commands`; all are pure functions at the edge.

Shapes follow what Asterisk 22 really sends (see ``/work/shared/asterisk``)::

    agi_request: agi://127.0.0.1:4573/ivr?source=sipp      (one "key: value" line each, then "")
    200 result=0 endpos=3404        200 result=1 (PJSIP/sipp-00000001)      200 result= (timeout)
    510 Invalid or unknown command
    511 Command Not Permitted on a dead channel or intercept routine
    520-Invalid command syntax.  Proper usage follows:      (usage lines ...)      520 End of proper usage.
    HANGUP                                                  (unsolicited, at any time)
"""

from __future__ import annotations

import enum

HANGUP_LINE = "HANGUP"
USAGE_START_PREFIX = "520-"
USAGE_END_PREFIX = "520 "


def decode_line(raw: bytes) -> str:
    """One line as read (with or without its ``\\n``) to text without its line ending.

    Asterisk writes variable values byte for byte, so invalid UTF-8 is replaced rather than fatal.
    """
    return raw.rstrip(b"\n").rstrip(b"\r").decode("utf-8", errors="replace")


class LineKind(enum.Enum):
    HANGUP = "hangup"  # the unsolicited HANGUP notice
    USAGE_START = "usage_start"  # first line of a multi-line 520
    REPLY = "reply"  # a one-line reply to the command in flight


def is_reply_start(line: str) -> bool:
    """A line that begins a reply of its own (``200 result=0``, ``511 ...``, ``HANGUP``): never a
    line of a 520 usage text (Asterisk indents those or starts them with a word)."""
    return line == HANGUP_LINE or (len(line) >= 4 and line[:3].isdigit() and line[3] in " -")


def classify(line: str) -> LineKind:
    if line == HANGUP_LINE:
        return LineKind.HANGUP
    if line.startswith(USAGE_START_PREFIX):
        return LineKind.USAGE_START
    return LineKind.REPLY
