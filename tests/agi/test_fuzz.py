"""Property tests: the AGI reader never crashes or hangs on random or truncated input."""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ivr.channels.agi.connection import AgiConnection, read_environment
from ivr.channels.agi.errors import AgiError
from ivr.channels.agi.protocol import AgiEnvironment, AgiResponse
from tests.support.agi_driver import env_block

LIMIT = 8192
REAL_ENV = env_block(arguments=["first", "second arg", "third=3"])
# One chunk per command: what Asterisk sends after it (captured lines).
REPLY_CHUNKS = (
    b"200 result=0\n",
    b"200 result=1 (PJSIP/sipp-00000001)\n",
    b"HANGUP\n200 result=-1 endpos=196000\n",
    b"511 Command Not Permitted on a dead channel or intercept routine\n",
    b"510 Invalid or unknown command\n",
    b"520-Invalid command syntax.  Proper usage follows:\n Usage: WAIT FOR DIGIT <timeout>\n"
    b"520 End of proper usage.\n",
    b"200 result= (timeout)\n",
)
REAL_REPLIES = b"".join(REPLY_CHUNKS)


def _cut(chunks: tuple[bytes, ...], at: int) -> list[bytes]:
    out: list[bytes] = []
    for chunk in chunks:
        if at <= 0:
            break
        out.append(chunk[:at])
        at -= len(chunk)
    return out


class _FakeWriter:
    """Just enough of a StreamWriter for AgiConnection: each command releases the next chunk of
    Asterisk's side into the reader (then end of stream), like a peer that answers in turn."""

    def __init__(self, reader: asyncio.StreamReader, chunks: list[bytes]) -> None:
        self.closed = False
        self._reader = reader
        self._chunks = chunks

    def write(self, data: bytes) -> None:
        if self._chunks:
            self._reader.feed_data(self._chunks.pop(0))
        if not self._chunks and not self._reader.at_eof():
            self._reader.feed_eof()

    async def drain(self) -> None:
        return None

    def close(self) -> None:
        self.closed = True

    async def wait_closed(self) -> None:
        return None


def _reader(data: bytes) -> asyncio.StreamReader:
    reader = asyncio.StreamReader(limit=LIMIT)
    reader.feed_data(data)
    reader.feed_eof()
    return reader


async def _environment(data: bytes) -> AgiEnvironment | AgiError:
    try:
        return await read_environment(_reader(data), deadline=1.0)
    except AgiError as exc:
        return exc


async def _commands(chunks: list[bytes], count: int) -> list[AgiResponse | AgiError]:
    reader = asyncio.StreamReader(limit=LIMIT)
    writer = _FakeWriter(reader, chunks)
    connection = AgiConnection(reader, writer, command_timeout=1.0)  # type: ignore[arg-type]
    outcomes: list[AgiResponse | AgiError] = []
    for _ in range(count):
        try:
            outcomes.append(await connection.command("NOOP"))
        except AgiError as exc:
            outcomes.append(exc)
    if any(isinstance(o, AgiError) for o in outcomes):
        assert connection.failure is not None  # poisoned: no later command can desync
        assert writer.closed
    return outcomes


def _run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(asyncio.wait_for(coro, 5))  # a hang fails the example


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=3 * LIMIT))
def test_random_bytes_as_environment(data: bytes) -> None:
    result = _run(_environment(data))
    assert isinstance(result, AgiEnvironment | AgiError)


@FUZZ
@given(st.integers(min_value=0, max_value=len(REAL_ENV)))
def test_truncated_real_environment(cut: int) -> None:
    result = _run(_environment(REAL_ENV[:cut]))
    if cut == len(REAL_ENV):
        assert isinstance(result, AgiEnvironment)
        assert result.arguments == ("first", "second arg", "third=3")
    else:
        assert isinstance(result, AgiError)  # a clear error, never a half environment


@FUZZ
@given(st.lists(st.sampled_from(REAL_ENV.split(b"\n")[:-2]) | st.binary(max_size=200), max_size=40))
def test_mixed_environment_lines(lines: list[bytes]) -> None:
    result = _run(_environment(b"\n".join(lines) + b"\n\n"))
    assert isinstance(result, AgiEnvironment | AgiError)


@FUZZ
@given(st.binary(max_size=2 * LIMIT), st.integers(min_value=1, max_value=5))
def test_random_bytes_as_replies(data: bytes, count: int) -> None:
    outcomes = _run(_commands([data], count))
    assert len(outcomes) == count
    assert all(isinstance(o, AgiResponse | AgiError) for o in outcomes)


@FUZZ
@given(st.integers(min_value=0, max_value=len(REAL_REPLIES)))
def test_truncated_real_replies(cut: int) -> None:
    outcomes = _run(_commands(_cut(REPLY_CHUNKS, cut), 8))
    # replies before the cut parse exactly; after it, every command fails with an AgiError
    first_error = next((i for i, o in enumerate(outcomes) if isinstance(o, AgiError)), len(outcomes))
    assert all(isinstance(o, AgiError) for o in outcomes[first_error:])
    if cut == len(REAL_REPLIES):
        assert [o.code for o in outcomes if isinstance(o, AgiResponse)] == [200, 200, 200, 511, 510, 520, 200]
        assert isinstance(outcomes[-1], AgiError)  # the 8th command meets the end of stream
