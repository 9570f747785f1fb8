"""A fake origination side in another process, for crash tests and ``bench/callbacks.py --crash``.

:class:`FakePbx` stands where Asterisk stands: dispatchers send it originates over TCP (JSON
lines) and it keeps its own record of every one it *received*. That record is the honest count of
duplicates: it does not depend on the dispatchers' bookkeeping, and it survives a dispatcher that
is SIGKILLed mid-dial (the PBX keeps ringing the call, as Asterisk keeps a channel whose AMI client
went away). It answers probes with what it knows: ``live`` while a call rings, ``ended`` with the
outcome, ``never`` when it never received the attempt (a fuller answer than Asterisk's ``Status``
can give; see :mod:`callbacks.origination.ami`).

:class:`PbxOriginator` is the dispatcher's side: an answered call gets a scripted local channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from callbacks.models import AttemptOutcome
from callbacks.origination.base import OriginateRequest, OriginateResult
from callbacks.takeover import Probe, ProbeState
from tests.support.fake_origination import answering_channel

log = logging.getLogger(__name__)

MAX_LINE = 4096


@dataclass
class PbxCall:
    callback_id: str
    attempt: int
    target: str
    outcome: AttemptOutcome | None = None  # None while it rings


@dataclass
class FakePbx:
    """``hold`` (when set to an unset event) keeps every call ringing until it is set; ``ring_seconds``
    is how long each call rings before it is answered (the benchmark's calls in flight)."""

    outcome: AttemptOutcome = AttemptOutcome.ANSWERED
    ring_seconds: float = 0.0
    hold: asyncio.Event | None = None
    received: list[tuple[str, int]] = field(default_factory=list)  # every originate, in arrival order
    calls: dict[tuple[str, int], PbxCall] = field(default_factory=dict)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _server: asyncio.Server | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._server = await asyncio.start_server(self._serve, host, port, limit=MAX_LINE)
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def wait_received(self, count: int, timeout: float) -> None:
        async with asyncio.timeout(timeout):
            while len(self.received) < count:
                self._arrived.clear()
                await self._arrived.wait()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await reader.readline()
            if line:
                answer = await self._answer(json.loads(line))
                writer.write(json.dumps(answer).encode() + b"\n")
                await writer.drain()
        except (OSError, ValueError, asyncio.LimitOverrunError) as exc:  # a dispatcher killed mid-dial
            log.info("fake pbx: request dropped", extra={"error": repr(exc)})
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def _answer(self, request: dict[str, Any]) -> dict[str, Any]:
        key = (str(request["callback_id"]), int(request["attempt"]))
        if request.get("op") == "probe":
            call = self.calls.get(key)
            if call is None:
                return {"state": ProbeState.NEVER.value}
            if call.outcome is None:
                return {"state": ProbeState.LIVE.value}
            return {"state": ProbeState.ENDED.value, "outcome": call.outcome.value}
        call = PbxCall(key[0], key[1], str(request.get("target", "")))
        self.received.append(key)
        self.calls[key] = call
        self._arrived.set()
        if self.hold is not None:
            await self.hold.wait()
        if self.ring_seconds > 0:
            await asyncio.sleep(self.ring_seconds)  # the phone rings (simulated time, not synchronisation)
        call.outcome = self.outcome
        return {"outcome": call.outcome.value}


class PbxOriginator:
    def __init__(self, host: str, port: int, *, customer_template: str = "PJSIP/{number}@trunk",
                 margin: float = 10.0) -> None:
        self.host, self.port = host, port
        self.customer_template = customer_template
        self.margin = margin

    def customer_target(self, number: str) -> str:
        return self.customer_template.format(number=number)

    async def _ask(self, message: dict[str, Any], timeout: float) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(self.host, self.port, limit=MAX_LINE)
            try:
                writer.write(json.dumps(message).encode() + b"\n")
                await writer.drain()
                answer: dict[str, Any] = json.loads(await reader.readline())
                return answer
            finally:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()

    async def originate(self, request: OriginateRequest) -> OriginateResult:
        try:
            answer = await self._ask({"op": "originate", "callback_id": request.callback_id,
                                      "attempt": request.attempt, "target": request.target},
                                     request.timeout + self.margin)
        except (OSError, ValueError, TimeoutError) as exc:
            return OriginateResult(AttemptOutcome.FAILED, detail=f"fake pbx: {exc!r}")
        outcome = AttemptOutcome(answer["outcome"])
        uniqueid = f"pbx-{request.callback_id}-{request.attempt}"
        if outcome is AttemptOutcome.ANSWERED:
            return OriginateResult(outcome, channel=answering_channel(request), uniqueid=uniqueid)
        return OriginateResult(outcome, detail="fake pbx", uniqueid=uniqueid)

    async def probe(self, callback_id: str, attempt: int) -> Probe:
        try:
            answer = await self._ask({"op": "probe", "callback_id": callback_id, "attempt": attempt}, self.margin)
        except (OSError, ValueError, TimeoutError) as exc:
            return Probe(ProbeState.UNREACHABLE, detail=f"fake pbx: {exc!r}")
        outcome = answer.get("outcome")
        return Probe(ProbeState(answer["state"]), AttemptOutcome(outcome) if outcome else None)
