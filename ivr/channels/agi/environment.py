"""The ``agi_*`` environment block Asterisk sends when a FastAGI connection opens, parsed.

Shape (one "key: value" line each, then an empty line)::

    agi_request: agi://127.0.0.1:4573/ivr?source=sipp
    agi_channel: PJSIP/sipp-00000001
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import overload
from urllib.parse import parse_qsl, urlsplit

from ivr.channels.agi.errors import AgiLineTooLong, AgiProtocolError

MAX_ENV_LINES = 256  # Asterisk sends ~25 plus the arguments; more is abuse
_UNKNOWN = "unknown"  # what Asterisk writes for an empty caller id / DNID / RDNIS
_NO_PARAMS: Mapping[str, str] = MappingProxyType({})  # shared: immutable

_ENV_KEY_RE = re.compile(r"^agi_[a-z0-9_]+$")
_ENV_LINE_RE = re.compile(r"^(agi_[a-z0-9_]+): ?(.*)$", re.MULTILINE)


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
    params = MappingProxyType(dict(parse_qsl(query, keep_blank_values=True))) if query else _NO_PARAMS
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
