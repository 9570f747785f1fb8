"""``AgiChannel``: the engine's :class:`ivr.channel.Channel` on top of one FastAGI connection.

Command choices follow what the captured Asterisk 22 does (``/work/shared/asterisk``):
- prompts are ``STREAM FILE <prefix>/<key> "<escape digits>"``; a key stops the whole sequence;
  ``result=-1`` means the caller left *or* the file is missing, so we ask ``CHANNEL STATUS``
  (``511`` = gone) instead of guessing;
- digits after the prompts are ``WAIT FOR DIGIT`` calls, so the first-digit and inter-digit
  timeouts, min/max digits and the terminator are ours (``GET DATA`` has one timeout for both and
  a fixed ``#``);
- hold is ``SET MUSIC on <class>`` and ``WAIT FOR DIGIT 1000`` polls, ``SET MUSIC off`` at the end;
- transfer is ``EXEC Dial <endpoint>,<secs>,gU(<hook>^<token>)``: without ``g`` the EXEC answers
  ``result=-1`` when the *agent* hangs up although the caller is still there; ``U()`` reports the
  agent's answer on a FastAGI connection of its own (:mod:`ivr.channels.agi.answer_hook`); the
  Dial and its outcome are :mod:`ivr.channels.agi.dial`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ivr.channel import (
    CallerHungUp,
    CallInfo,
    ConnectResult,
    InputMode,
    InputResult,
    InputSpec,
    PromptFile,
)
from ivr.channels.agi.answer_hook import AnswerHooks
from ivr.channels.agi.callinfo import call_info_from
from ivr.channels.agi.commands import ALL_DIGITS, quote
from ivr.channels.agi.commands import get_data as get_data_command
from ivr.channels.agi.commands import get_variable as get_variable_command
from ivr.channels.agi.commands import set_variable as set_variable_command
from ivr.channels.agi.commands import stream_file as stream_file_command
from ivr.channels.agi.commands import wait_for_digit as wait_for_digit_command
from ivr.channels.agi.connection import AgiConnection
from ivr.channels.agi.dial import dial
from ivr.channels.agi.environment import AgiEnvironment
from ivr.channels.agi.errors import AgiDeadChannel
from ivr.channels.agi.replies import AgiResponse, GetDataResult, check, digit_of, parse_get_data
from ivr.channels.agi.stats import AgiErrorKind
from ivr.settings import AgiSettings

if TYPE_CHECKING:
    from ivr.ami.client import AmiClient
    from ivr.callcontrol import LiveBridge
    from ivr.channels.agi.speech import AgiSpeech

log = logging.getLogger("ivr.agi")

HOLD_POLL_SECONDS = 1.0


class AgiChannel:
    """One caller reached through Asterisk FastAGI."""

    def __init__(
        self,
        connection: AgiConnection,
        env: AgiEnvironment,
        settings: AgiSettings,
        *,
        info: CallInfo | None = None,
        speech: AgiSpeech | None = None,
        hooks: AnswerHooks | None = None,
        ami: AmiClient | None = None,
    ) -> None:
        self._conn = connection
        self._speech = speech
        self._hooks = hooks
        self._ami = ami  # for the desk's hold/transfer of a bridge (ivr.channels.agi.bridge)
        self.env = env
        self._settings = settings
        self._info = info or call_info_from(env)
        self._hung_up_by_us = False

    # ------------------------------------------------------------------ state

    @property
    def info(self) -> CallInfo:
        return self._info

    @property
    def hung_up(self) -> bool:
        return self._conn.hung_up

    @property
    def connection(self) -> AgiConnection:
        return self._conn

    async def wait_hangup(self) -> None:
        await self._conn.wait_hangup()

    def _ensure_alive(self) -> None:
        if self._conn.failure is not None and not isinstance(self._conn.failure, CallerHungUp):
            raise self._conn.failure
        if self._conn.hung_up:
            raise CallerHungUp(f"call {self._info.call_id} has hung up")

    # ------------------------------------------------------------------ low level

    async def command(self, text: str, *, timeout: float | None = None) -> AgiResponse:
        """Send any AGI command; return its 200 reply or raise the matching ``AgiError``.

        A reply we did not expect (510, 520, another code) is the peer's fault, not a bug here: one
        WARNING line (with the call id, no traceback), counted as a protocol error, then it raises."""
        response = await self._conn.command(text, timeout=timeout)
        if response.code not in (200, 511):
            self._conn.stats.error(AgiErrorKind.PROTOCOL)
            verb = " ".join(text.split(" ", 2)[:2])
            log.warning("AGI %s answered %d %s", verb, response.code, response.text[:120],
                        extra={"call_id": self._info.call_id})
        return check(response, text)

    async def media_command(self, text: str, seconds: float) -> AgiResponse:
        """A command that lasts as long as its media: bound it by that plus a margin."""
        self._ensure_alive()
        return await self.command(text, timeout=seconds + self._settings.timeout_margin)

    async def get_variable(self, name: str) -> str | None:
        """``200 result=1 (value)``; ``200 result=0`` (unset) gives None. Works after a hangup."""
        response = await self.command(get_variable_command(name))
        return response.data if response.result == "1" else None

    async def probe(self) -> None:
        """``CHANNEL STATUS``: a ``511`` marks the channel hung up (the connection does that)."""
        with contextlib.suppress(AgiDeadChannel):
            await self.command("CHANNEL STATUS")

    async def _confirm_alive(self, after: str) -> None:
        """A channel command answered ``result=-1``: hung up, or (STREAM FILE) a missing file."""
        # A HANGUP that came with the reply is already taken (lines are read as they arrive).
        if self._conn.failure is not None and not isinstance(self._conn.failure, CallerHungUp):
            raise self._conn.failure
        if not self._conn.hung_up:
            await self.probe()
        if self._conn.hung_up:
            raise CallerHungUp(f"call {self._info.call_id} hung up during {after}")
        log.warning("AGI %s failed (result=-1) with the caller still there", after)

    # ------------------------------------------------------------------ Channel

    async def answer(self) -> None:
        self._ensure_alive()
        response = await self.command("ANSWER")
        if response.result == "-1":
            await self._confirm_alive("ANSWER")

    def sound(self, prompt: PromptFile) -> str:
        return f"{self._settings.sound_prefix}/{prompt.key}"

    async def play(self, prompts: Sequence[PromptFile], *, interrupt_digits: str = "") -> str | None:
        for prompt in prompts:
            command = stream_file_command(self.sound(prompt), interrupt_digits)
            response = await self.media_command(command, self._settings.max_prompt_seconds)
            result = response.result_int
            if result < 0:
                await self._confirm_alive(f"STREAM FILE {prompt.key}")  # missing file: go on
                continue
            digit = digit_of(result)
            if digit is not None:
                return digit
        return None

    async def wait_for_digit(self, seconds: float) -> str | None:
        """One ``WAIT FOR DIGIT``: the key pressed within ``seconds``, or None."""
        millis = max(1, int(seconds * 1000))
        response = await self.media_command(wait_for_digit_command(millis), seconds)
        result = response.result_int
        if result < 0:
            await self._confirm_alive("WAIT FOR DIGIT")
            return None
        return digit_of(result)

    async def get_data(self, prompt: PromptFile, *, timeout: float, max_digits: int) -> GetDataResult:
        """``GET DATA`` for scripts: one prompt, one timeout for every digit, ``#`` ends entry."""
        command = get_data_command(self.sound(prompt), int(timeout * 1000), max_digits)
        seconds = self._settings.max_prompt_seconds + timeout * max(1, max_digits)
        result = parse_get_data(await self.media_command(command, seconds))
        if result.hung_up:
            await self._confirm_alive("GET DATA")
        return result

    async def exec_application(self, app_and_args: str, *, seconds: float | None = None) -> AgiResponse:
        """``EXEC <app> <args>`` (e.g. ``AudioSocket <uuid>,<host:port>``); ``result=-1`` checks
        whether the caller left (then :class:`CallerHungUp`)."""
        limit = self._settings.max_prompt_seconds if seconds is None else seconds
        response = await self.media_command(f"EXEC {app_and_args}", limit)
        if response.result == "-1":
            await self._confirm_alive(f"EXEC {app_and_args.split(' ', 1)[0]}")
        return response

    async def collect(self, prompts: Sequence[PromptFile], spec: InputSpec) -> InputResult:
        """Keys (and speech over AudioSocket when there is a grammar and an engine for it).

        Entry ends at ``max_digits``, at the terminator (not included), or when no key comes
        within ``first_timeout`` (before the first key) / ``inter_digit_timeout`` (after it). A
        short entry (< ``min_digits``) is returned as typed: the flow judges it (and says why).
        """
        self._ensure_alive()
        if spec.grammar is not None and self._speech is not None:
            heard = await self._speech.listen(prompts, spec, self.exec_application)
            if heard is not None:
                return heard
        started = time.monotonic()
        first = await self.play(prompts, interrupt_digits=ALL_DIGITS if spec.barge_in else "")
        digits = ""
        pressed = first
        while True:
            if pressed is not None:
                if pressed == spec.terminator and (digits or spec.max_digits > 1):
                    break  # the terminator ends the entry (a lone key in a 1-key menu is a choice)
                digits += pressed
                if len(digits) >= spec.max_digits:
                    break
            timeout = spec.inter_digit_timeout if digits else spec.first_timeout
            pressed = await self.wait_for_digit(timeout)
            if pressed is None:
                break
        latency = (time.monotonic() - started) * 1000
        if not digits:
            return InputResult(mode=InputMode.NONE, latency_ms=latency)
        return InputResult(mode=InputMode.DTMF, digits=digits, engine="dtmf", latency_ms=latency)

    async def hold(
        self, seconds: float, *, interrupt_digits: str = "", wake: asyncio.Event | None = None
    ) -> str | None:
        self._ensure_alive()
        await self.command(f"SET MUSIC on {self._settings.moh_class}")
        deadline = time.monotonic() + seconds
        result: str | None = None
        while not (wake is not None and wake.is_set()):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            digit = await self.wait_for_digit(min(HOLD_POLL_SECONDS, remaining))
            if digit is not None and digit in interrupt_digits:
                result = digit
                break
        # Not in a finally: after a hangup there is no music to stop (and SET MUSIC would 511).
        await self.command("SET MUSIC off")
        return result

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
        """``EXEC Dial <endpoint>,<ring>,gU(<hook context>^<token>)`` at once.

        ``announce`` is not played: the AGI is blocked in Dial while the agent rings, and what the
        caller hears then is the agent's ringback (Dial passes it through); playing a prompt first
        would keep the agent reserved and idle for its length. ``on_answer`` runs when the answer
        hook reports the agent's answer (see :mod:`ivr.channels.agi.answer_hook`); ring and talk
        times are measured on the agent leg from that moment, not from Asterisk's ``ANSWEREDTIME``
        (which counts from the caller's channel, IVR included). With ``bridge`` the desk may hold and
        transfer the caller once the agent answered (:mod:`ivr.channels.agi.bridge`)."""
        self._ensure_alive()
        return await dial(
            self, endpoint, timeout=timeout, settings=self._settings, hooks=self._hooks, ami=self._ami,
            hold_poll_seconds=HOLD_POLL_SECONDS, caller_id=caller_id, on_answer=on_answer, bridge=bridge,
        )

    async def bridge_to(self, channel: str) -> None:
        """``EXEC Bridge <channel>,x``: back to a parked agent; returns when that bridge ends."""
        await self.media_command(f"EXEC Bridge {channel},x", self._settings.max_bridge_seconds)

    async def set_variable(self, name: str, value: str) -> None:
        self._ensure_alive()
        await self.command(set_variable_command(name, value))

    async def verbose(self, message: str, level: int = 1) -> None:
        await self.command(f"VERBOSE {quote(message)} {level}")

    async def hangup(self) -> None:
        """``HANGUP``, then close the socket (Asterisk keeps the channel until we do)."""
        if not self._hung_up_by_us:
            self._hung_up_by_us = True
            if not self._conn.hung_up and self._conn.failure is None:
                with contextlib.suppress(AgiDeadChannel):  # it hung up on its own meanwhile
                    await self.command("HANGUP")
            self._conn.mark_hung_up()
        await self._conn.close()
