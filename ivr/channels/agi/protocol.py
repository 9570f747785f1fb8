"""FastAGI wire format, as pure functions: the ``agi_*`` environment block, reply lines, commands.

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
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import overload
from urllib.parse import parse_qsl, urlsplit

from ivr.channels.agi.errors import (
    AgiCommandError,
    AgiDeadChannel,
    AgiLineTooLong,
    AgiProtocolError,
    AgiUnexpectedCode,
    AgiUnknownCommand,
    AgiUsageError,
)

HANGUP_LINE = "HANGUP"
USAGE_START_PREFIX = "520-"
USAGE_END_PREFIX = "520 "
MAX_ENV_LINES = 256  # Asterisk sends ~25 plus the arguments; more is abuse
ALL_DIGITS = "0123456789*#"
_UNKNOWN = "unknown"  # what Asterisk writes for an empty caller id / DNID / RDNIS
_NO_EXTRAS: Mapping[str, str] = MappingProxyType({})  # shared: immutable
_SIMPLE_RESULT_PREFIX = "200 result="
_ENDPOS = "endpos="

_ENV_KEY_RE = re.compile(r"^agi_[a-z0-9_]+$")
_ENV_LINE_RE = re.compile(r"^(agi_[a-z0-9_]+): ?(.*)$", re.MULTILINE)
_CODE_RE = re.compile(r"^(\d{3})(?: (.*))?$")
_RESULT_RE = re.compile(r"^result=(\S*)(?: +(.*))?$")
_EXTRAS_RE = re.compile(r"^(?: *[A-Za-z_]+=\S*)* *$")
_EXTRA_RE = re.compile(r"([A-Za-z_]+)=(\S*)")


# --------------------------------------------------------------------------- lines


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


# Commands that last as long as their media or the caller (prompts, key waits, the bridge, the
# AudioSocket session): timed apart, so the quick commands' round trip is not drowned in them.
_LONG_VERBS = ("STREAM FILE", "CONTROL STREAM FILE", "WAIT FOR DIGIT", "GET DATA", "GET OPTION",
               "RECORD FILE", "SAY ", "SPEECH RECOGNIZE", "RECEIVE CHAR", "RECEIVE TEXT")
_LONG_HEADS = frozenset({verb[:4] for verb in _LONG_VERBS} | {"EXEC"})
_LONG_EXEC_APPS = frozenset({"dial", "audiosocket", "playback", "background", "queue", "wait", "read",
                             "record", "musiconhold", "waitexten"})


def long_command_kind(command: str) -> str | None:
    """The label of a long-running command (``wait_for_digit``, ``exec_dial``...), None for a quick
    one. The label set is fixed (an unknown EXEC application is ``exec_other``): metrics stay small."""
    if command[:4].upper() not in _LONG_HEADS:
        return None  # the usual case, one set lookup (this runs for every command)
    upper = command[:24].upper()
    for verb in _LONG_VERBS:
        if upper.startswith(verb):
            return verb.strip().lower().replace(" ", "_")
    if upper.startswith("EXEC "):
        app = command[5:].lstrip().split(" ", 1)[0].lower()
        return f"exec_{app}" if app in _LONG_EXEC_APPS else "exec_other"
    return None


def classify(line: str) -> LineKind:
    if line == HANGUP_LINE:
        return LineKind.HANGUP
    if line.startswith(USAGE_START_PREFIX):
        return LineKind.USAGE_START
    return LineKind.REPLY


# --------------------------------------------------------------------------- environment


@dataclass(frozen=True, slots=True)
class AgiRoute:
    """What ``agi://host:port/<script>?k=v`` asks for."""

    script: str
    params: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


class _EnvValue:
    """A typed accessor for one ``agi_*`` key ('' when Asterisk did not send it): the block's raw
    mapping stays the single source, so building an environment costs one dict."""

    def __init__(self, key: str) -> None:
        self.key = key

    @overload
    def __get__(self, instance: None, owner: type) -> _EnvValue: ...

    @overload
    def __get__(self, instance: AgiEnvironment, owner: type) -> str: ...

    def __get__(self, instance: AgiEnvironment | None, owner: type) -> str | _EnvValue:
        if instance is None:
            return self
        return instance.raw.get(self.key, "")


@dataclass(frozen=True, slots=True)
class AgiEnvironment:
    """The ``agi_*`` block Asterisk sends when a FastAGI connection opens.

    Built once per call on the hot path, so it keeps the block as is and reads fields on demand.
    """

    raw: Mapping[str, str]
    arguments: tuple[str, ...] = ()
    route: AgiRoute = field(default_factory=lambda: AgiRoute(script=""))

    request = _EnvValue("agi_request")
    channel = _EnvValue("agi_channel")
    language = _EnvValue("agi_language")
    channel_type = _EnvValue("agi_type")  # e.g. PJSIP
    uniqueid = _EnvValue("agi_uniqueid")
    version = _EnvValue("agi_version")
    callerid = _EnvValue("agi_callerid")
    calleridname = _EnvValue("agi_calleridname")
    callingpres = _EnvValue("agi_callingpres")
    callingani2 = _EnvValue("agi_callingani2")
    callington = _EnvValue("agi_callington")
    callingtns = _EnvValue("agi_callingtns")
    dnid = _EnvValue("agi_dnid")
    rdnis = _EnvValue("agi_rdnis")
    context = _EnvValue("agi_context")
    extension = _EnvValue("agi_extension")
    priority = _EnvValue("agi_priority")
    enhanced = _EnvValue("agi_enhanced")
    accountcode = _EnvValue("agi_accountcode")
    threadid = _EnvValue("agi_threadid")
    network_script = _EnvValue("agi_network_script")

    @property
    def network(self) -> bool:
        return self.raw.get("agi_network", "") == "yes"

    @property
    def caller(self) -> str:
        return "" if self.callerid == _UNKNOWN else self.callerid

    @property
    def caller_name(self) -> str | None:
        return None if self.calleridname in ("", _UNKNOWN) else self.calleridname

    @property
    def dialled(self) -> str:
        """The number dialled: the DNID when Asterisk knows it, else the dialplan extension."""
        if self.dnid and self.dnid != _UNKNOWN:
            return self.dnid
        return self.extension


def parse_env_line(line: str) -> tuple[str, str]:
    """``agi_channel: PJSIP/sipp-00000001`` -> (``agi_channel``, ``PJSIP/sipp-00000001``)."""
    key, sep, value = line.partition(":")
    if not sep or not _ENV_KEY_RE.match(key):
        raise AgiProtocolError(f"not an AGI environment line: {line[:80]!r}")
    # Asterisk writes "key: value"; an empty value is "key: " (agi_accountcode).
    return key, value[1:] if value.startswith(" ") else value


def parse_route(request: str, network_script: str = "") -> AgiRoute:
    """``agi://127.0.0.1:4573/ivr?source=sipp`` (or ``agi_network_script: ivr?source=sipp``)."""
    path_and_query = network_script
    if not path_and_query and request:
        parts = urlsplit(request)
        path_and_query = parts.path.lstrip("/") + (f"?{parts.query}" if parts.query else "")
    script, _, query = path_and_query.partition("?")
    params = MappingProxyType(dict(parse_qsl(query, keep_blank_values=True))) if query else _NO_EXTRAS
    return AgiRoute(script=script.strip("/"), params=params)


def build_environment(raw: dict[str, str], *, has_arguments: bool = True) -> AgiEnvironment:
    """The parsed lines of one block to an :class:`AgiEnvironment` (``agi_request`` is required)."""
    request = raw.get("agi_request")
    if request is None:
        raise AgiProtocolError("the AGI environment has no agi_request")
    args: list[tuple[int, str]] = []
    for key, value in raw.items() if has_arguments else ():
        if key.startswith("agi_arg_"):
            index = key[len("agi_arg_") :]
            if not index.isdigit():
                raise AgiProtocolError(f"bad AGI argument key {key!r}")
            args.append((int(index), value))
    args.sort()
    return AgiEnvironment(
        raw=MappingProxyType(raw),
        arguments=tuple(value for _, value in args),
        route=parse_route(request, raw.get("agi_network_script", "")),
    )


def parse_environment(lines: Sequence[str]) -> AgiEnvironment:
    """A whole block (without its terminating empty line)."""
    if len(lines) > MAX_ENV_LINES:
        raise AgiProtocolError(f"AGI environment too long ({len(lines)} lines)")
    return build_environment(dict(parse_env_line(line) for line in lines))


def parse_environment_block(block: bytes, max_line_bytes: int) -> AgiEnvironment:
    """The bytes of a block up to (not including) its empty line, as read off the socket."""
    if not block:
        raise AgiProtocolError("empty AGI environment")
    if len(block) > max_line_bytes and any(len(line) > max_line_bytes for line in block.split(b"\n")):
        raise AgiLineTooLong("line longer than the configured maximum")
    # One decode for the block: a line break never falls inside a UTF-8 sequence.
    text = block.decode("utf-8", errors="replace")
    if "\r" in text:
        text = "\n".join(line.rstrip("\r") for line in text.split("\n"))
    count = text.count("\n") + 1
    if count > MAX_ENV_LINES:
        raise AgiProtocolError(f"AGI environment too long ({count} lines)")
    # One regex pass over the whole block; a line it does not take is found and named below.
    pairs = _ENV_LINE_RE.findall(text)
    if len(pairs) != count:
        return parse_environment(text.split("\n"))  # raises on the first bad line
    return build_environment(dict(pairs), has_arguments="agi_arg_" in text)


# --------------------------------------------------------------------------- replies


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


# --------------------------------------------------------------------------- commands


def quote(value: str) -> str:
    """One argument for Asterisk's AGI argument parser: double quotes, backslash escapes."""
    if "\n" in value or "\r" in value:
        raise ValueError("AGI arguments cannot contain line breaks")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def encode_command(command: str) -> bytes:
    if "\n" in command or "\r" in command:
        raise ValueError("an AGI command is one line")
    return command.encode("utf-8") + b"\n"


def stream_file(sound: str, escape_digits: str = "") -> str:
    return f"STREAM FILE {sound} {quote(escape_digits)}"


def wait_for_digit(timeout_ms: int) -> str:
    return f"WAIT FOR DIGIT {timeout_ms}"


def get_data(sound: str, timeout_ms: int, max_digits: int) -> str:
    return f"GET DATA {sound} {timeout_ms} {max_digits}"


def set_variable(name: str, value: str) -> str:
    if not name or any(c in name for c in ' "\n\r'):
        raise ValueError(f"bad channel variable name {name!r}")
    return f"SET VARIABLE {name} {quote(value)}"


def get_variable(name: str) -> str:
    return f"GET VARIABLE {name}"


def exec_app(application: str, options: str = "") -> str:
    return f"EXEC {application} {quote(options)}" if options else f"EXEC {application}"
