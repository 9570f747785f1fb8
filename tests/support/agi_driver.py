"""An Asterisk-side FastAGI driver for tests and the benchmark.

It connects to Puente's FastAGI server like Asterisk 22 does, sends an ``agi_*`` block shaped
exactly like the captured ones (``tests/captures/asterisk/agi-transcript-*.txt``) and answers every
command the way the real Asterisk answered in those transcripts: ``200 result=0 endpos=3404`` for
a prompt, ``200 result=49`` for the key 1, ``200 result=-1`` then ``HANGUP`` when the caller leaves
mid-command, ``511 Command Not Permitted on a dead channel or intercept routine`` afterwards (but
``GET VARIABLE`` still answers 200), ``510 Invalid or unknown command`` for anything unknown.

Responders: :class:`CallerModel` here, a small state machine (keys to press at the next command
that accepts them, when to hang up, how a Dial ends, channel variables);
``tests.support.agi_transcripts.TranscriptResponder`` replays one captured connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

# -- wire samples, copied from agi-transcript-ivr-call.txt (conn 1) -------------------------------
CAPTURED_ENV: tuple[tuple[str, str], ...] = (
    ("agi_network", "yes"),
    ("agi_network_script", "ivr?source=sipp"),
    ("agi_request", "agi://127.0.0.1:4573/ivr?source=sipp"),
    ("agi_channel", "PJSIP/sipp-00000001"),
    ("agi_language", "en"),
    ("agi_type", "PJSIP"),
    ("agi_uniqueid", "1795424844.1"),
    ("agi_version", "22.10.1"),
    ("agi_callerid", "sipp"),
    ("agi_calleridname", "sipp"),
    ("agi_callingpres", "0"),
    ("agi_callingani2", "0"),
    ("agi_callington", "0"),
    ("agi_callingtns", "0"),
    ("agi_dnid", "ivr"),
    ("agi_rdnis", "unknown"),
    ("agi_context", "ivr-in"),
    ("agi_extension", "ivr"),
    ("agi_priority", "3"),
    ("agi_enhanced", "0.0"),
    ("agi_accountcode", ""),
    ("agi_threadid", "140199928030912"),
)

R_OK0 = "200 result=0"
R_OK1 = "200 result=1"
R_STREAM_DONE = "200 result=0 endpos=3404"  # beep played to the end
R_STREAM_HUNGUP = "200 result=-1 endpos=196000"  # caller BYE mid STREAM FILE (builtin-uac)
R_DEAD = "511 Command Not Permitted on a dead channel or intercept routine"
R_UNKNOWN = "510 Invalid or unknown command"
R_HUNGUP = "200 result=-1"
HANGUP = "HANGUP"
# The real multi-line 520 shape (res_agi.c: "520-...", the usage text, "520 End of proper usage.").
R_USAGE = (
    "520-Invalid command syntax.  Proper usage follows:",
    " Usage: WAIT FOR DIGIT <timeout>",
    "520 End of proper usage.",
)

# Commands Asterisk still runs on a dead channel (res_agi's "dead" flag); the rest answer 511.
DEAD_OK = ("GET VARIABLE", "GET FULL VARIABLE", "SET VARIABLE", "VERBOSE", "NOOP", "EXEC", "DATABASE")


def env_block(
    *,
    script: str = "ivr?source=sipp",
    uniqueid: str = "1795424844.1",
    channel: str = "PJSIP/sipp-00000001",
    callerid: str = "sipp",
    dnid: str = "ivr",
    extension: str | None = None,
    arguments: Sequence[str] = (),
    overrides: dict[str, str] | None = None,
) -> bytes:
    """The captured block with this call's values; ``agi_arg_N`` lines after ``agi_threadid``."""
    values = dict(CAPTURED_ENV)
    values.update(
        agi_network_script=script,
        agi_request=f"agi://127.0.0.1:4573/{script}",
        agi_uniqueid=uniqueid,
        agi_channel=channel,
        agi_callerid=callerid,
        agi_dnid=dnid,
        agi_extension=extension if extension is not None else dnid,
    )
    values.update(overrides or {})
    lines = [f"{key}: {value}" for key, value in values.items()]
    lines += [f"agi_arg_{i}: {arg}" for i, arg in enumerate(arguments, start=1)]
    return ("\n".join(lines) + "\n\n").encode()


# -- responders ------------------------------------------------------------------------------------
Responder = Callable[[str], Awaitable[Sequence[str]]]


@dataclass
class DialOutcome:
    """How an ``EXEC Dial`` ends (values as captured in round2/agi-dial-*.txt)."""

    status: str = "ANSWER"
    result: str = "200 result=0"
    hangupcause: str = "16"
    dialedtime: str = "5"
    answeredtime: str = "5"
    peer: str = "PJSIP/agent1-00000009"
    caller_leaves: bool = False  # result=-1 then HANGUP (agi-dial-d / agi-dial-a-callerbye)
    # The agent leg (round3/dial-answer-hook-*.txt): it rings ``ring_seconds``, then (ANSWER, when
    # the Dial has U(ctx^token) and the model knows the server's port) the answer hook's FastAGI
    # connection runs on the agent's channel and the bridge waits until Puente closes it; then
    # the bridge lasts ``talk_seconds``. DIALEDTIME/ANSWEREDTIME above are the caller channel's.
    ring_seconds: float = 0.0
    talk_seconds: float = 0.0
    # Or the test steps the agent leg itself: it rings until ``answer_gate`` is set and talks
    # until ``hangup_gate`` is set (``ringing`` is set when the Dial arrives).
    ringing: asyncio.Event | None = None
    answer_gate: asyncio.Event | None = None
    hangup_gate: asyncio.Event | None = None


# The agent-side block of round3/dial-answer-hook-1b-cmds.txt (conn 4), with our context's name.
AGENT_HOOK_ENV: tuple[tuple[str, str], ...] = (
    ("agi_network", "yes"),
    ("agi_network_script", "agent-answered"),
    ("agi_request", "agi://127.0.0.1:24573/agent-answered"),
    ("agi_channel", "PJSIP/1001-00000009"),
    ("agi_language", "en"),
    ("agi_type", "PJSIP"),
    ("agi_uniqueid", "1796531258.9"),
    ("agi_version", "22.10.1"),
    ("agi_callerid", "1001"),
    ("agi_calleridname", "Agent One"),
    ("agi_callingpres", "0"),
    ("agi_callingani2", "0"),
    ("agi_callington", "0"),
    ("agi_callingtns", "0"),
    ("agi_dnid", "unknown"),
    ("agi_rdnis", "unknown"),
    ("agi_context", "puente-agent-answered"),
    ("agi_extension", "s"),
    ("agi_priority", "2"),
    ("agi_enhanced", "0.0"),
    ("agi_accountcode", ""),
    ("agi_threadid", "139855636534976"),
)


def agent_hook_block(token: str) -> bytes:
    lines = [f"{key}: {value}" for key, value in AGENT_HOOK_ENV] + [f"agi_arg_1: {token}"]
    return ("\n".join(lines) + "\n\n").encode()


@dataclass
class HookRun:
    """What the emulated answer hook saw: how long Puente kept the agent's script open, and
    whether it sent anything (it must close at once, without a command)."""

    held_seconds: float
    received: bytes


async def run_answer_hook(port: int, token: str, *, timeout: float = 5.0) -> HookRun:
    """Asterisk's side of ``U(ctx^token)``: connect, send the agent's block, wait for Puente to
    close (the bridge waits for it); after the script ends Asterisk writes ``HANGUP`` (1b)."""
    loop = asyncio.get_running_loop()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = loop.time()
    try:
        writer.write(agent_hook_block(token))
        await writer.drain()
        received = await asyncio.wait_for(reader.read(), timeout)  # until Puente closes
        held = loop.time() - started
        with contextlib.suppress(ConnectionError):
            writer.write(b"HANGUP\n")
    finally:
        writer.close()
    return HookRun(held, received)


_HOOK_RE = re.compile(r"U\(([^)^]+)\^([^)^]+)\)")


class CallerModel:
    """Answers like Asterisk for a caller who presses ``keys`` when asked, then maybe hangs up."""

    def __init__(
        self,
        keys: str | Sequence[str] = "",
        *,
        hangup_at_media: int | None = None,
        dial: DialOutcome | None = None,
        missing_sounds: Sequence[str] = (),
        media_delay: float | Callable[[], float] = 0.0,
        late_hangup: bool = False,
        get_data_entries: Sequence[str] = (),
    ) -> None:
        self.keys: deque[str] = deque(keys)
        self.hangup_at_media = hangup_at_media  # hang up during the Nth media command (1-based)
        self.dial = dial or DialOutcome()
        self.missing_sounds = set(missing_sounds)
        self.media_delay = media_delay
        # late_hangup: the HANGUP line comes after our next command, before its reply (as with
        # an AMI Redirect / Hangup in round2: "200 result=-1", then ">> GET VARIABLE", "HANGUP", "200 ...")
        self.late_hangup = late_hangup
        self._hangup_owed = False
        self.get_data_entries: deque[str] = deque(get_data_entries)  # what the caller keys per GET DATA
        self.media_count = 0
        self.dead = False
        self.variables: dict[str, str] = {"CHANNEL": "PJSIP/sipp-00000001"}
        self.played: list[str] = []
        self.music_on = False
        self.hook_port: int | None = None  # Puente's FastAGI port, for Dial's answer hook
        self.hooks: list[HookRun] = []

    def _key_for(self, accepted: str) -> str | None:
        if self.keys and self.keys[0] in accepted:
            return self.keys.popleft()
        return None

    async def __call__(self, command: str) -> Sequence[str]:
        replies = list(await self._reply(command))
        if self._hangup_owed:
            self._hangup_owed = False
            return [HANGUP, *replies]
        if self.late_hangup and HANGUP in replies[1:]:
            replies.remove(HANGUP)
            self._hangup_owed = True
        return replies

    async def _reply(self, command: str) -> Sequence[str]:
        if self.dead and not command.startswith(DEAD_OK):
            return [R_DEAD]
        words = command.split(" ")
        verb = " ".join(words[:3]) if command.startswith(("GET FULL VARIABLE", "WAIT FOR DIGIT")) else (
            " ".join(words[:2]))
        name = _HANDLERS.get(verb) or _HANDLERS.get(words[0])
        if name is None:
            return [R_UNKNOWN]
        handler: Callable[[str], Awaitable[Sequence[str]]] = getattr(self, name)
        return await handler(command)

    async def _media(self) -> bool:
        """Count a media command; True when the caller hangs up during this one."""
        self.media_count += 1
        delay = self.media_delay() if callable(self.media_delay) else self.media_delay
        if delay:
            await asyncio.sleep(delay)  # the prompt "plays"
        if self.hangup_at_media is not None and self.media_count >= self.hangup_at_media:
            self.dead = True
            return True
        return False

    async def _answer(self, command: str) -> Sequence[str]:
        return [R_OK0]

    async def _stream(self, command: str) -> Sequence[str]:
        match = re.match(r'^STREAM FILE (\S+) "(.*)"$', command)
        if not match:
            return list(R_USAGE)
        sound, escape = match.groups()
        if sound in self.missing_sounds:
            return ["200 result=-1 endpos=0"]
        self.played.append(sound)
        if await self._media():
            return [R_STREAM_HUNGUP, HANGUP]
        key = self._key_for(escape)
        if key is not None:
            return [f"200 result={ord(key)} endpos=960"]
        return [R_STREAM_DONE]

    async def _wait_digit(self, command: str) -> Sequence[str]:
        parts = command.split(" ")
        if len(parts) != 4 or not parts[3].lstrip("-").isdigit():
            return list(R_USAGE)
        if await self._media():
            return [R_HUNGUP, HANGUP]
        key = self._key_for("0123456789*#")
        return [f"200 result={ord(key)}"] if key is not None else [R_OK0]

    async def _get_data(self, command: str) -> Sequence[str]:
        if await self._media():
            return [R_HUNGUP, HANGUP]
        max_digits = int(command.split(" ")[4])
        digits = ""
        keys = deque(self.get_data_entries.popleft()) if self.get_data_entries else self.keys
        while keys and len(digits) < max_digits:
            key = keys.popleft()
            if key == "#":
                return [f"200 result={digits}"]
            digits += key
        return [f"200 result={digits}"] if len(digits) == max_digits else [f"200 result={digits} (timeout)"]

    async def _set_music(self, command: str) -> Sequence[str]:
        self.music_on = command.split(" ")[2] == "on"
        return [R_OK0]

    async def _set_variable(self, command: str) -> Sequence[str]:
        match = re.match(r'^SET VARIABLE (\S+) "?(.*?)"?$', command)
        if not match:
            return list(R_USAGE)
        self.variables[match.group(1)] = match.group(2).replace('\\"', '"').replace("\\\\", "\\")
        return [R_OK1]

    async def _get_variable(self, command: str) -> Sequence[str]:
        name = command.split(" ", 2)[2]
        if name not in self.variables:
            return [R_OK0]
        return [f"200 result=1 ({self.variables[name]})"]

    async def _exec(self, command: str) -> Sequence[str]:
        if command.startswith("EXEC Dial"):
            return await self._exec_dial(command)
        return [R_OK0]

    async def _exec_dial(self, command: str) -> Sequence[str]:
        dial = self.dial
        if dial.ringing is not None:
            dial.ringing.set()
        if dial.answer_gate is not None:
            await dial.answer_gate.wait()  # the agent's phone rings until the test picks it up
        elif dial.ring_seconds:
            await asyncio.sleep(dial.ring_seconds)  # the agent's phone rings
        hook = _HOOK_RE.search(command)
        if dial.status == "ANSWER" and hook is not None and self.hook_port is not None:
            self.hooks.append(await run_answer_hook(self.hook_port, hook.group(2)))
        if dial.status == "ANSWER" and dial.hangup_gate is not None:
            await dial.hangup_gate.wait()  # the bridge lasts until the test ends it
        elif dial.status == "ANSWER" and dial.talk_seconds:
            await asyncio.sleep(dial.talk_seconds)  # the bridge
        self.variables.update(
            DIALSTATUS=dial.status,
            HANGUPCAUSE=dial.hangupcause,
            DIALEDTIME=dial.dialedtime,
            ANSWEREDTIME=dial.answeredtime,
            DIALEDPEERNAME=dial.peer,
        )
        if self.dead:
            return [R_HUNGUP]
        if dial.caller_leaves:
            self.dead = True
            return [R_HUNGUP, HANGUP]
        return [dial.result]

    async def _channel_status(self, command: str) -> Sequence[str]:
        return ["200 result=6"]

    async def _hangup(self, command: str) -> Sequence[str]:
        self.dead = True
        return [R_OK1, HANGUP]

    async def _verbose(self, command: str) -> Sequence[str]:
        return [R_OK1]

    async def _noop(self, command: str) -> Sequence[str]:
        return [R_OK0]


_HANDLERS: dict[str, str] = {
    "ANSWER": "_answer",
    "STREAM FILE": "_stream",
    "WAIT FOR DIGIT": "_wait_digit",
    "GET DATA": "_get_data",
    "SET MUSIC": "_set_music",
    "SET VARIABLE": "_set_variable",
    "GET VARIABLE": "_get_variable",
    "GET FULL VARIABLE": "_get_variable",
    "EXEC": "_exec",
    "CHANNEL STATUS": "_channel_status",
    "HANGUP": "_hangup",
    "VERBOSE": "_verbose",
    "NOOP": "_noop",
}


# -- the driver ------------------------------------------------------------------------------------
@dataclass
class DriverResult:
    commands: list[str] = field(default_factory=list)
    closed_by_server: bool = False  # we saw EOF: Puente closed the socket
    reset: bool = False


class AsteriskDriver:
    """One emulated Asterisk FastAGI connection to ``127.0.0.1:port``."""

    def __init__(self, port: int, respond: Responder, *, env: bytes | None = None, read_timeout: float = 10.0):
        self.port = port
        self.respond = respond
        self.env = env if env is not None else env_block()
        self.read_timeout = read_timeout
        self.result = DriverResult()
        self._writer: asyncio.StreamWriter | None = None
        self.first_command = asyncio.Event()

    async def push(self, *lines: str) -> None:
        """Send lines unprompted (e.g. ``HANGUP`` while no command is in flight)."""
        assert self._writer is not None
        self._writer.write("".join(f"{line}\n" for line in lines).encode())
        await self._writer.drain()

    async def run(self) -> DriverResult:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        self._writer = writer
        try:
            writer.write(self.env)
            await writer.drain()
            while True:
                try:
                    line = await asyncio.wait_for(reader.readuntil(b"\n"), self.read_timeout)
                except asyncio.IncompleteReadError:
                    self.result.closed_by_server = True
                    break
                except ConnectionResetError:
                    self.result.reset = True
                    break
                command = line.decode().rstrip("\n")
                self.result.commands.append(command)
                self.first_command.set()
                replies = await self.respond(command)
                try:
                    await self.push(*replies)
                except (ConnectionResetError, BrokenPipeError):
                    self.result.reset = True
                    break
        finally:
            writer.close()
        return self.result
