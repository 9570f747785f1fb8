"""Hostile or broken peers: garbage, no environment, huge lines, slowloris, silence, bad replies.
Each one is cut off and counted, and never affects the other calls."""

from __future__ import annotations

import asyncio

import pytest

from ivr.channel import CallerHungUp, Channel
from ivr.channels.agi.channel import AgiChannel
from ivr.channels.agi.errors import AgiTimeout
from ivr.channels.agi.stats import AgiErrorKind
from ivr.ports import Disposition
from tests.agi.conftest import running_server
from tests.agi.helpers import Outcome, drive, script_of
from tests.support.agi_driver import CallerModel, env_block


class AnsweringEngine:
    async def run(self, channel: Channel) -> Disposition:
        await channel.answer()
        return Disposition.COMPLETED


# --------------------------------------------------------------------------- hostile peers


async def raw_client(port: int, payload: bytes, *, close: bool = False) -> bytes:
    """Send raw bytes; return what came back until the server closed the socket."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(payload)
    await writer.drain()
    if close:
        writer.write_eof()
    try:
        return await asyncio.wait_for(reader.read(), 5)
    finally:
        writer.close()


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        (b"hello\n\n", AgiErrorKind.NO_ENVIRONMENT),  # garbage
        (b"\n", AgiErrorKind.NO_ENVIRONMENT),  # empty environment
        (b"agi_channel: PJSIP/x\n\n", AgiErrorKind.NO_ENVIRONMENT),  # no agi_request
        (b"agi_request: agi://h/x\n" + b"a" * 20000, AgiErrorKind.NO_ENVIRONMENT),  # huge line
        (b"\xff\xfe\x00\x01" * 100 + b"\n\n", AgiErrorKind.NO_ENVIRONMENT),  # binary
        (b"agi_request: agi://h/x\nagi_chan", AgiErrorKind.NO_ENVIRONMENT),  # slowloris: never finishes
    ],
)
async def test_bad_connections_are_closed(payload: bytes, kind: AgiErrorKind) -> None:
    async with running_server(engine=AnsweringEngine(), header_timeout=0.3) as server:
        answer = await raw_client(server.port, payload)
        assert answer == b""  # nothing sent, socket closed
        assert server.stats.errors[kind] == 1
        assert server.stats.calls_completed == 0


async def test_truncated_environment_at_end_of_stream() -> None:
    async with running_server(engine=AnsweringEngine()) as server:
        assert await raw_client(server.port, b"agi_request: agi://h/x\nagi_chan", close=True) == b""
        assert server.stats.errors[AgiErrorKind.NO_ENVIRONMENT] == 1


@pytest.mark.parametrize(
    ("reply", "kind"),
    [
        (b"this is not agi\n", AgiErrorKind.PROTOCOL),
        (b"200 result=0\n200 result=0\n", AgiErrorKind.PROTOCOL),  # a reply nobody asked for
        (b"200 result=" + b"9" * 9000 + b"\n", AgiErrorKind.LINE_TOO_LONG),
        (b"", AgiErrorKind.TIMEOUT),  # Asterisk never answers
    ],
)
async def test_bad_replies_end_the_call_and_close(reply: bytes, kind: AgiErrorKind) -> None:
    outcome = Outcome()

    async def body(channel: AgiChannel) -> None:
        await channel.answer()
        await channel.answer()

    async with running_server({"t": script_of(body, outcome)}, command_timeout=0.3) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(env_block(script="t"))
        await reader.readuntil(b"\n")
        writer.write(reply)
        await writer.drain()
        rest = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        await asyncio.wait_for(outcome.done.wait(), 5)
    assert rest == b""  # closed, and no PUENTE_RESULT on a broken connection
    assert outcome.error is not None
    assert server.stats.errors[kind] == 1


async def test_truncated_reply_then_close() -> None:
    outcome = Outcome()
    async with running_server({"t": script_of(lambda c: c.answer(), outcome)}) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(env_block(script="t"))
        await reader.readuntil(b"\n")
        writer.write(b"200 res")
        writer.write_eof()
        await asyncio.wait_for(reader.read(), 5)
        writer.close()
        await asyncio.wait_for(outcome.done.wait(), 5)
    assert server.stats.errors[AgiErrorKind.PROTOCOL] == 1
    assert isinstance(outcome.error, Exception)


async def test_asterisk_closing_the_socket_is_a_hangup() -> None:
    outcome = Outcome()

    async def body(channel: AgiChannel) -> None:
        await channel.answer()
        await channel.answer()

    async with running_server({"t": script_of(body, outcome)}) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(env_block(script="t"))
        await reader.readuntil(b"\n")
        writer.close()
        await asyncio.wait_for(outcome.done.wait(), 5)
    assert isinstance(outcome.error, CallerHungUp)
    assert server.stats.errors_total == 0


async def test_broken_clients_beside_a_good_call() -> None:
    async def body(channel: AgiChannel) -> list[str | None]:
        await channel.answer()
        return [await channel.wait_for_digit(6.0) for _ in range(3)]

    outcome = Outcome()
    async with running_server({"dtmf": script_of(body, outcome)}, header_timeout=1.0) as server:
        slow_reader, slow_writer = await asyncio.open_connection("127.0.0.1", server.port)
        slow_writer.write(b"agi_request: agi://127.0.0.1/dtmf\n")  # and then nothing (slowloris)
        await slow_writer.drain()
        bad = [
            asyncio.create_task(raw_client(server.port, b"x" * 50000)),
            asyncio.create_task(raw_client(server.port, b"garbage\n\n")),
        ]
        result = await drive(server, CallerModel("123"), env=env_block(script="dtmf"))
        assert outcome.value == ["1", "2", "3"]
        assert result.closed_by_server
        await asyncio.gather(*bad)
        assert await asyncio.wait_for(slow_reader.read(), 5) == b""  # the slowloris got cut off
        slow_writer.close()
    assert server.stats.calls_completed == 1




async def test_each_command_gets_its_own_timeout() -> None:
    """A slow media command within its long bound is fine; a short command that hangs times out
    on its own (short) bound, whatever the command before it allowed."""
    outcome = Outcome()

    async def body(channel: AgiChannel) -> tuple[str, float]:
        await channel.connection.command("WAIT FOR DIGIT 5000", timeout=0.3)  # instant reply
        await channel.connection.command('STREAM FILE slow ""', timeout=1.5)  # answered after 0.4 s
        started = asyncio.get_running_loop().time()
        try:
            await channel.connection.command("NOOP", timeout=0.3)  # answered only after 1.3 s
        except AgiTimeout:
            return "timeout", asyncio.get_running_loop().time() - started
        return "no timeout", asyncio.get_running_loop().time() - started

    class Slow(CallerModel):
        async def _stream(self, command: str) -> list[str]:
            await asyncio.sleep(0.4)
            return ["200 result=0 endpos=3404"]

        async def _noop(self, command: str) -> list[str]:
            await asyncio.sleep(1.3)
            return ["200 result=0"]

    async with running_server({"t": script_of(body, outcome)}) as server:
        result = await drive(server, Slow(), env=env_block(script="t"))
    verdict, elapsed = outcome.value
    # its own 0.3 s, not what was left of the STREAM FILE's 1.5 s (that would be ~1.1 s)
    assert verdict == "timeout" and 0.25 <= elapsed < 0.9
    assert result.closed_by_server or result.reset
    assert server.stats.errors[AgiErrorKind.TIMEOUT] == 1
