"""``SipChannel``: the engine's :class:`~ivr.channel.Channel` over one leg of the built-in endpoint.

Digits are buffered from the moment they arrive (type-ahead): a key pressed during a prompt that
does not listen for it, or between two nodes, waits for the next prompt or input that takes it, so
a caller who answers before the menu has started loses nothing. A prompt stops on an
``interrupt_digits`` key (at once when one is already buffered); ``collect`` keeps the key that
interrupted its prompt as the first of the input.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Sequence

from ivr.callcontrol import LiveBridge
from ivr.channel import (
    Backend,
    CallerHungUp,
    CallInfo,
    ConnectResult,
    DialStatus,
    InputMode,
    InputResult,
    InputSpec,
    PromptFile,
)
from ivr.channels.sip.audio import AudioError
from ivr.channels.sip.bridge import SipBridgeOps, run_bridge
from ivr.channels.sip.dialer import dial
from ivr.channels.sip.errors import OriginateCancelled, OriginateFailed, OriginateReason
from ivr.channels.sip.leg import Direction, EndedBy, Leg, LegState
from ivr.channels.sip.message import SipParseError, address_uri, parse_uri
from ivr.channels.sip.speech import listen
from ivr.channels.sip.transport import SipTransport
from ivr.db import utcnow

log = logging.getLogger("ivr.sip.channel")

MAX_PENDING_DIGITS = 32  # type-ahead kept for the next input (bounded)

_DIAL_STATUS = {
    OriginateReason.BUSY: DialStatus.BUSY,
    OriginateReason.NO_ANSWER: DialStatus.NOANSWER,
    OriginateReason.UNAVAILABLE: DialStatus.CHANUNAVAIL,
    OriginateReason.FAILED: DialStatus.CONGESTION,
}


def _user_of(header: str) -> tuple[str, str | None]:
    name = header.split("<", maxsplit=1)[0].strip().strip('"') if "<" in header else ""
    try:
        user = parse_uri(address_uri(header)).user
    except SipParseError:  # a From we cannot read still gets a call
        user = ""
    return user, name or None


class SipChannel:
    def __init__(self, endpoint: SipTransport, leg: Leg) -> None:
        self._endpoint = endpoint
        self._leg = leg
        self._pending: list[str] = []
        self._digit_arrived = asyncio.Event()
        self._interrupt = ""
        self._stop = False
        # When the caller's last key or recognised answer came in: the next prompt's start is timed
        # from it (the pacer's prompt-start statistics), else from the moment it is asked for.
        self._input_at: float | None = None  # time.monotonic(): the media thread times the prompt against it
        leg.on_digit = self._on_digit
        leg.end_listeners.append(self._digit_arrived.set)
        self._info = self._call_info(leg)

    @staticmethod
    def _call_info(leg: Leg) -> CallInfo:
        if leg.direction is Direction.INBOUND and leg.invite is not None:
            caller, name = _user_of(leg.invite.headers.get("From") or "")
            try:
                dialled = parse_uri(leg.invite.uri).user
            except SipParseError:  # tel: URIs: the call still goes on
                dialled = leg.invite.uri.partition(":")[2]
        else:
            caller, name = _user_of(leg.local_header)
            dialled, _ = _user_of(leg.remote_header)
        return CallInfo(
            # The record's own id: a peer may reuse a Call-ID (RFC 3261 only asks it to be unique
            # per dialog), and a second record under the first one's id would be lost. The SIP
            # Call-ID links the record to the wire (``linked_id``, indexed).
            call_id=f"sip-{uuid.uuid4()}",
            linked_id=leg.call_id[:128],
            caller=caller,
            dialled=dialled,
            backend=Backend.SIP,
            started_at=utcnow(),
            caller_name=name,
            channel_name=f"SIP/{leg.call_id[:24]}",
        )

    # ------------------------------------------------------------------ state
    @property
    def info(self) -> CallInfo:
        return self._info

    @property
    def leg(self) -> Leg:
        return self._leg

    @property
    def hung_up(self) -> bool:
        return self._leg.state is LegState.ENDED

    async def wait_hangup(self) -> None:
        await self._leg.ended.wait()

    def _check(self) -> None:
        if self.hung_up:
            raise CallerHungUp(self._leg.call_id)

    def _on_digit(self, digit: str) -> None:
        self._pending.append(digit)
        if len(self._pending) > MAX_PENDING_DIGITS:
            del self._pending[0]  # a caller drumming on the keypad: keep the newest
        self._digit_arrived.set()
        if digit in self._interrupt:
            self._stop = True

    def _should_stop(self) -> bool:
        return self._stop or self.hung_up

    # ------------------------------------------------------------------ Channel
    async def answer(self) -> None:
        self._check()
        if self._leg.direction is Direction.INBOUND and self._leg.state is LegState.PROCEEDING:
            self._endpoint.answer(self._leg)

    async def play(self, prompts: Sequence[PromptFile], *, interrupt_digits: str = "") -> str | None:
        await self.answer()
        digit = await self._play(prompts, interrupt_digits)
        self._check()
        return digit

    async def _play(
        self, prompts: Sequence[PromptFile], interrupt_digits: str, extra_stop: Callable[[], bool] | None = None
    ) -> str | None:
        # A key typed ahead (during the last prompt, between nodes) interrupts at once.
        self._interrupt = interrupt_digits
        self._stop = any(digit in interrupt_digits for digit in self._pending)
        since: float | None = self._input_at if self._input_at is not None else time.monotonic()
        self._input_at = None
        try:
            for prompt in prompts:
                try:
                    audio = self._endpoint.audio.prompt(prompt, self._leg.rtp.codec)
                except AudioError as exc:  # fail open: the caller hears the rest
                    log.error("prompt audio missing", extra={"prompt": prompt.key, "error": str(exc)})
                    continue
                stop = self._should_stop if extra_stop is None else (lambda: self._should_stop() or extra_stop())
                started, since = since, None  # only a turn's first prompt is timed
                if not await self._leg.rtp.stream(audio, stop, since=started):
                    break
        finally:
            self._interrupt = ""
        for index, digit in enumerate(self._pending):
            if digit in interrupt_digits:
                del self._pending[: index + 1]
                return digit
        return None

    def wake(self) -> None:
        """Make a digit wait re-check its stop condition (speech started)."""
        self._stop = True
        self._digit_arrived.set()

    async def _next_digit(self, timeout: float, extra_stop: Callable[[], bool] | None = None) -> str | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self._pending:
            self._check()
            if extra_stop is not None and extra_stop():
                return None
            self._digit_arrived.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            try:
                await asyncio.wait_for(self._digit_arrived.wait(), remaining)
            except TimeoutError:
                return None
        return self._pending.pop(0)

    async def collect(self, prompts: Sequence[PromptFile], spec: InputSpec) -> InputResult:
        await self.answer()
        if spec.grammar is not None and self._endpoint.speech is not None:
            result = await listen(self, self._endpoint.speech, prompts, spec)
        else:
            result = await self.collect_digits(prompts, spec)
        if result.mode is not InputMode.NONE:
            self._input_at = time.monotonic()
        return result

    async def collect_digits(
        self, prompts: Sequence[PromptFile], spec: InputSpec, extra_stop: Callable[[], bool] | None = None
    ) -> InputResult:
        keys = "0123456789*#ABCD" if spec.barge_in else ""
        first = await self._play(prompts, keys, extra_stop)
        self._check()
        digits = ""
        next_digit = first
        if next_digit is None and not (extra_stop is not None and extra_stop()):
            next_digit = await self._next_digit(spec.first_timeout, extra_stop)
        while next_digit is not None:
            if next_digit == spec.terminator and spec.terminator:
                break
            digits += next_digit
            if len(digits) >= spec.max_digits:
                break
            next_digit = await self._next_digit(spec.inter_digit_timeout)
        if not digits:
            return InputResult(InputMode.NONE)
        return InputResult(InputMode.DTMF, digits=digits)

    async def hold(
        self, seconds: float, *, interrupt_digits: str = "", wake: asyncio.Event | None = None
    ) -> str | None:
        await self.answer()
        deadline = time.monotonic() + seconds
        music = self._endpoint.audio.music(self._leg.rtp.codec)
        self._interrupt = interrupt_digits
        self._stop = any(digit in interrupt_digits for digit in self._pending)

        def stop() -> bool:  # called on the media thread: reads only (and the thread-safe clock)
            return self._should_stop() or (wake is not None and wake.is_set()) or time.monotonic() >= deadline

        try:
            while not stop():
                frames_left = int((deadline - time.monotonic()) / 0.02) * 160
                await self._leg.rtp.stream(music[: max(160, frames_left)], stop)
        finally:
            self._interrupt = ""
        self._check()
        for index, digit in enumerate(self._pending):
            if digit in interrupt_digits:
                del self._pending[: index + 1]
                return digit
        return None

    async def connect(
        self,
        endpoint: str,
        *,
        timeout: float,
        caller_id: str | None = None,
        on_answer: Callable[[], None] | None = None,
        announce: Sequence[PromptFile] = (),
        bridge: LiveBridge | None = None,
    ) -> ConnectResult:
        await self.answer()
        loop = asyncio.get_running_loop()
        started = loop.time()
        ringing = asyncio.Event()  # set once the dial is over: the announcement stops there
        announcer = asyncio.create_task(self._play(announce, "", ringing.is_set)) if announce else None
        try:
            agent = await dial(
                self._endpoint,
                endpoint,
                caller_id=caller_id or self._info.caller,
                timeout=timeout,
                codecs=(self._leg.rtp.codec,),
                cancel_on=self._leg,
            )
        except OriginateCancelled:
            return ConnectResult(DialStatus.CANCEL, ring_seconds=loop.time() - started, peer=endpoint)
        except OriginateFailed as exc:
            return ConnectResult(
                _DIAL_STATUS[exc.reason], ring_seconds=loop.time() - started, hangup_cause=exc.status, peer=endpoint
            )
        finally:
            ringing.set()
            if announcer is not None:
                await announcer  # stops within one 20 ms frame
        answered = loop.time()
        if bridge is not None:
            bridge.attach(SipBridgeOps(self._endpoint, self._leg, agent))  # the desk may hold and transfer now
        if on_answer is not None:
            on_answer()
        await self._bridge(agent, bridge)
        return ConnectResult(
            DialStatus.ANSWER,
            ring_seconds=answered - started,
            talk_seconds=loop.time() - answered,
            hangup_cause=16,
            peer=endpoint,
        )

    async def _bridge(self, agent: Leg, bridge: LiveBridge | None = None) -> None:
        try:
            await run_bridge(self._endpoint, self._leg, agent, bridge, lambda: self.hung_up)
        finally:
            self._endpoint.hangup_leg(agent)  # no-op when the agent hung up first
            self._pending.clear()  # no-op when the agent hung up first
            self._pending.clear()

    async def send_digits(self, digits: str) -> None:
        """Send DTMF to the peer (RFC 4733 events), e.g. to drive an auto-attendant."""
        for digit in digits:
            self._check()
            await self._leg.rtp.send_dtmf(digit)

    async def set_variable(self, name: str, value: str) -> None:
        self._check()  # nothing on the wire carries channel variables

    async def hangup(self) -> None:
        self._endpoint.hangup_leg(self._leg)

    @property
    def ended_by_caller(self) -> bool:
        return self._leg.ended_by is EndedBy.REMOTE
