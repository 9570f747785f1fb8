"""FastAGI replies: one reply line (or a multi-line 520) to an :class:`AgiResponse`, reply codes to
the :class:`AgiCommandError` hierarchy, and what the results of the digit commands mean.

Shapes::

    200 result=0 endpos=3404        200 result=1 (PJSIP/sipp-00000001)      200 result= (timeout)
    510 Invalid or unknown command
    511 Command Not Permitted on a dead channel or intercept routine
    520-Invalid command syntax.  Proper usage follows:      (usage lines ...)      520 End of proper usage.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from ivr.channels.agi.errors import (
    AgiCommandError,
    AgiDeadChannel,
    AgiProtocolError,
    AgiUnexpectedCode,
    AgiUnknownCommand,
    AgiUsageError,
)
from ivr.channels.agi.protocol import USAGE_END_PREFIX, USAGE_START_PREFIX

_NO_EXTRAS: Mapping[str, str] = MappingProxyType({})  # shared: immutable
_SIMPLE_RESULT_PREFIX = "200 result="
_ENDPOS = "endpos="

_CODE_RE = re.compile(r"^(\d{3})(?: (.*))?$")
_RESULT_RE = re.compile(r"^result=(\S*)(?: +(.*))?$")
_EXTRAS_RE = re.compile(r"^(?: *[A-Za-z_]+=\S*)* *$")
_EXTRA_RE = re.compile(r"([A-Za-z_]+)=(\S*)")


@dataclass(frozen=True, slots=True)
class AgiResponse:
    """One reply: ``200 result=1 (PJSIP/sipp-00000001)`` -> code 200, result "1", data "PJSIP/..."."""

    code: int
    result: str = ""
    data: str | None = None
    extras: Mapping[str, str] = field(default_factory=lambda: _NO_EXTRAS)
    text: str = ""  # the text after the code for non-200 replies
    usage: str = ""  # 520: the usage text

    @property
    def ok(self) -> bool:
        return self.code == 200

    @property
    def result_int(self) -> int:
        try:
            return int(self.result)
        except ValueError as exc:
            raise AgiProtocolError(f"AGI result is not a number: {self.result!r}") from exc

    @property
    def endpos(self) -> int | None:
        value = self.extras.get("endpos")
        return int(value) if value is not None and _is_int(value) else None


def _is_int(value: str) -> bool:
    return value.lstrip("-").isdigit()


def _split_data(rest: str) -> tuple[str | None, str]:
    """``(PJSIP/x) endpos=3`` -> (``PJSIP/x``, ``endpos=3``). Values may hold ``)`` themselves, so
    the data ends at the last ``)`` after which only ``key=value`` tokens follow."""
    if not rest.startswith("("):
        return None, rest
    end = len(rest)
    while (close := rest.rfind(")", 0, end)) > 0:
        tail = rest[close + 1 :]
        if _EXTRAS_RE.match(tail):
            return rest[1:close], tail.strip()
        end = close
    first = rest.find(")")
    if first < 0:
        raise AgiProtocolError(f"unbalanced parenthesis in AGI reply: {rest[:80]!r}")
    # e.g. "(speech) endpos=1234 results=2 foo bar": free text after the extras
    return rest[1:first], rest[first + 1 :].strip()


def parse_reply(line: str) -> AgiResponse:
    """Parse one single-line reply (not ``HANGUP``, not a multi-line 520)."""
    if line.startswith(_SIMPLE_RESULT_PREFIX):
        # The shapes nearly every command gets, without a regex (each gives exactly what the
        # general parser below would): "200 result=49", "200 result=1 (value)", "... endpos=N".
        value, space, rest = line[len(_SIMPLE_RESULT_PREFIX) :].partition(" ")
        if not _is_int(value) and (value or not space):
            return parse_reply_general(line)  # not a number: let the general parser judge it
        if not space:
            return AgiResponse(code=200, result=value)
        if rest.startswith("(") and rest.endswith(")"):
            return AgiResponse(code=200, result=value, data=rest[1:-1])
        if rest.startswith(_ENDPOS) and rest[len(_ENDPOS) :].isdigit():
            return AgiResponse(code=200, result=value, extras=MappingProxyType({"endpos": rest[len(_ENDPOS) :]}))
    return parse_reply_general(line)


def parse_reply_general(line: str) -> AgiResponse:
    """Any single-line reply, every shape Asterisk writes (the fast paths above are shortcuts)."""
    match = _CODE_RE.match(line)
    if not match:
        raise AgiProtocolError(f"not an AGI reply: {line[:80]!r}")
    code, text = int(match.group(1)), match.group(2) or ""
    if code != 200:
        return AgiResponse(code=code, text=text)
    result = _RESULT_RE.match(text)
    if not result:
        raise AgiProtocolError(f"200 reply without result=: {line[:80]!r}")
    data, tail = _split_data(result.group(2) or "")
    extras = MappingProxyType(dict(_EXTRA_RE.findall(tail))) if tail else _NO_EXTRAS
    return AgiResponse(code=200, result=result.group(1), data=data, extras=extras)


# The replies most commands get ("200 result=0", a key's ASCII code, -1), parsed once: a response
# is immutable, so every call can share them. Fixed at import: a peer cannot grow it.
_CACHED_REPLIES: Mapping[bytes, AgiResponse] = MappingProxyType(
    {f"200 result={n}".encode(): AgiResponse(code=200, result=str(n)) for n in range(-1, 128)}
)


def cached_reply(raw: bytes) -> AgiResponse | None:
    """The shared response for a common one-line reply as read (without ``\\n``), else None."""
    return _CACHED_REPLIES.get(raw)


def parse_usage_reply(first: str, body: Sequence[str], last: str) -> AgiResponse:
    """A multi-line 520: ``520-Invalid command syntax...``, usage lines, ``520 End of proper usage.``"""
    if not first.startswith(USAGE_START_PREFIX) or not last.startswith(USAGE_END_PREFIX):
        raise AgiProtocolError("malformed multi-line 520 reply")
    return AgiResponse(code=520, text=first[len(USAGE_START_PREFIX) :], usage="\n".join(body))


def check(response: AgiResponse, command: str | None = None) -> AgiResponse:
    """Return a 200 reply; raise the matching :class:`AgiCommandError` for any other code."""
    if response.code == 200:
        return response
    error: AgiCommandError
    if response.code == 510:
        error = AgiUnknownCommand(510, response.text, command)
    elif response.code == 511:
        error = AgiDeadChannel(511, response.text, command)
    elif response.code == 520:
        error = AgiUsageError(520, response.text, response.usage, command)
    else:
        error = AgiUnexpectedCode(response.code, response.text, command)
    raise error


# --------------------------------------------------------------------------- results


def digit_of(result: int) -> str | None:
    """``STREAM FILE``/``WAIT FOR DIGIT`` result: 0 = none, else the ASCII code of the key."""
    if result <= 0:
        return None
    if result > 0x7F:
        raise AgiProtocolError(f"digit result out of range: {result}")
    return chr(result)


@dataclass(frozen=True, slots=True)
class GetDataResult:
    digits: str
    timed_out: bool
    hung_up: bool = False


def parse_get_data(response: AgiResponse) -> GetDataResult:
    """``200 result=12`` / ``200 result=3 (timeout)`` / ``200 result= (timeout)`` / ``200 result=-1``."""
    if response.result == "-1":
        return GetDataResult(digits="", timed_out=False, hung_up=True)
    return GetDataResult(digits=response.result, timed_out=response.data == "timeout")
