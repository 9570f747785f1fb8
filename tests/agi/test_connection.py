"""The connection protocol on its own (an in-memory peer): reads into a shared buffer, lines that
arrive with the environment, closing a socket whose peer stopped reading."""

from __future__ import annotations

import asyncio

import pytest

from ivr.channels.agi import connection as connection_module
from ivr.channels.agi.connection import AgiConnection, BufferedAgiConnection, connection_class
from ivr.channels.agi.environment import AgiEnvironment
from ivr.channels.agi.errors import AgiProtocolError
from tests.agi.helpers import PeerTransport, RecordingListener
from tests.support.agi_driver import env_block


def _receive(connection: AgiConnection, data: bytes) -> None:
    """What a transport does for one read (into the protocol's buffer when it has one)."""
    if isinstance(connection, BufferedAgiConnection):
        buffer = connection.get_buffer(len(data))
        buffer[: len(data)] = data
        connection.buffer_updated(len(data))
    else:
        connection.data_received(data)


KINDS = pytest.mark.parametrize("kind", [AgiConnection, BufferedAgiConnection], ids=["plain", "buffered"])


def test_the_standard_loop_reads_into_our_buffer_uvloop_into_its_own() -> None:
    loop = asyncio.new_event_loop()
    try:
        assert connection_class(loop) is BufferedAgiConnection
    finally:
        loop.close()
    uvloop = pytest.importorskip("uvloop", reason="uvloop is not installed (it is a dependency on Linux)")
    other = uvloop.new_event_loop()
    try:
        assert connection_class(other) is AgiConnection
    finally:
        other.close()


async def test_connections_sharing_one_read_buffer_keep_their_own_bytes() -> None:
    shared = memoryview(bytearray(1024))
    listeners = [RecordingListener(), RecordingListener()]
    connections = [BufferedAgiConnection(command_timeout=1.0, listener=listener, read_buffer=shared)
                   for listener in listeners]
    for connection in connections:
        connection.connection_made(PeerTransport(connection, []))
    first, second = env_block(uniqueid="1.1", channel="PJSIP/a"), env_block(uniqueid="2.2", channel="PJSIP/b")
    # interleaved partial reads: each one is copied out before the next read reuses the buffer
    _receive(connections[0], first[:100])
    _receive(connections[1], second[:250])
    _receive(connections[0], first[100:])
    _receive(connections[1], second[250:])
    envs = [listener.outcomes[0] for listener in listeners]
    assert all(isinstance(env, AgiEnvironment) for env in envs)
    assert [(e.uniqueid, e.channel) for e in envs if isinstance(e, AgiEnvironment)] == [
        ("1.1", "PJSIP/a"), ("2.2", "PJSIP/b")]


@KINDS
async def test_a_hangup_right_behind_the_environment_is_taken(kind: type[AgiConnection]) -> None:
    listener = RecordingListener()
    connection = kind(command_timeout=1.0, listener=listener)
    connection.connection_made(PeerTransport(connection, []))
    _receive(connection, env_block() + b"HANGUP\n")
    assert isinstance(listener.outcomes[0], AgiEnvironment)
    assert connection.hung_up and connection.failure is None


@KINDS
async def test_an_unsolicited_reply_behind_the_environment_fails_the_call(kind: type[AgiConnection]) -> None:
    listener = RecordingListener()
    connection = kind(command_timeout=1.0, listener=listener)
    transport = PeerTransport(connection, [])
    connection.connection_made(transport)
    _receive(connection, env_block() + b"200 result=0\n")
    assert isinstance(connection.failure, AgiProtocolError)
    assert transport.closed


class StuckTransport(PeerTransport):
    """A peer that stopped reading: closing never completes on its own, only an abort does."""

    def __init__(self, protocol: asyncio.Protocol) -> None:
        super().__init__(protocol, [])
        self.aborted = asyncio.Event()

    def get_write_buffer_size(self) -> int:
        return 4096  # our last writes are still waiting for the peer to read

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted.set()
        asyncio.get_running_loop().call_soon(self._lose)


async def test_close_aborts_a_socket_that_never_finishes_closing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connection_module, "CLOSE_TIMEOUT", 0.05)
    listener = RecordingListener()
    connection = AgiConnection(command_timeout=1.0, listener=listener)
    transport = StuckTransport(connection)
    connection.connection_made(transport)
    _receive(connection, env_block())
    await connection.close()
    assert transport.closed and not transport.aborted.is_set()
    await asyncio.wait_for(transport.aborted.wait(), 5)
    await asyncio.wait_for(_ended(listener), 5)


async def test_close_of_a_socket_that_closes_normally_never_aborts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connection_module, "CLOSE_TIMEOUT", 0.05)
    listener = RecordingListener()
    connection = AgiConnection(command_timeout=1.0, listener=listener)
    aborted: list[bool] = []
    transport = PeerTransport(connection, [])
    monkeypatch.setattr(transport, "abort", lambda: aborted.append(True))
    connection.connection_made(transport)
    _receive(connection, env_block())
    await connection.close()
    await asyncio.wait_for(_ended(listener), 5)
    await asyncio.sleep(0.1)  # not a synchronisation: time past CLOSE_TIMEOUT, when no abort may come
    assert aborted == []


async def _ended(listener: RecordingListener) -> None:
    while listener.ended == 0:
        await asyncio.sleep(0.01)


class RecordingPeer(PeerTransport):
    """Answers each command with the next chunk and remembers the commands."""

    def __init__(self, protocol: asyncio.Protocol, chunks: list[bytes]) -> None:
        super().__init__(protocol, chunks)
        self.written: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written.append(bytes(data))
        super().write(data)


async def test_concurrent_commands_take_turns_in_order() -> None:
    connection = AgiConnection(command_timeout=1.0)
    peer = RecordingPeer(connection, [b"200 result=1\n", b"200 result=2\n", b"200 result=3\n", b"200 result=4\n"])
    connection.connection_made(peer)
    connection.data_received(env_block())
    tasks = [asyncio.create_task(connection.command(f"SAY NUMBER {n}")) for n in (1, 2, 3)]
    results = [(await task).result for task in tasks]
    assert results == ["1", "2", "3"]  # each reply went to the command it answered
    assert peer.written == [b"SAY NUMBER 1\n", b"SAY NUMBER 2\n", b"SAY NUMBER 3\n"]
    assert (await connection.command("NOOP")).result == "4"  # the turn is free again


async def test_a_command_cancelled_while_waiting_its_turn_is_skipped() -> None:
    connection = AgiConnection(command_timeout=1.0)
    peer = RecordingPeer(connection, [b"200 result=1\n", b"200 result=2\n", b"200 result=3\n"])
    connection.connection_made(peer)
    connection.data_received(env_block())
    first = asyncio.create_task(connection.command("ONE"))
    waiting = asyncio.create_task(connection.command("TWO"))
    third = asyncio.create_task(connection.command("THREE"))
    await asyncio.sleep(0)  # not a synchronisation: lets the three tasks start and queue up
    waiting.cancel()
    assert (await first).result == "1"
    assert (await third).result == "2"
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert peer.written == [b"ONE\n", b"THREE\n"]
    assert connection.failure is None  # a command that never went out spoils nothing


async def test_an_environment_dribbled_byte_by_byte_is_read_whole() -> None:
    listener = RecordingListener()
    connection = AgiConnection(command_timeout=1.0, listener=listener)
    connection.connection_made(PeerTransport(connection, []))
    block = env_block(arguments=["x" * 300] * 20)
    for i in range(len(block)):
        connection.data_received(block[i : i + 1])
    [env] = listener.outcomes
    assert isinstance(env, AgiEnvironment) and env.arguments == ("x" * 300,) * 20


async def test_an_environment_past_its_size_bound_is_refused_before_it_ends() -> None:
    listener = RecordingListener()
    connection = AgiConnection(command_timeout=1.0, listener=listener)
    transport = PeerTransport(connection, [])
    connection.connection_made(transport)
    line = b"agi_arg_1: " + b"x" * 8000 + b"\n"  # each line within the line limit
    for _ in range(connection_module.MAX_ENV_BYTES // len(line) + 1):
        connection.data_received(line)
    [error] = listener.outcomes
    assert isinstance(error, AgiProtocolError) and "too long" in str(error)
    assert transport.closed
