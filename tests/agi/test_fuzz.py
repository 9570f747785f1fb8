"""Property tests: the AGI reader never crashes or hangs on random or truncated input."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ivr.channels.agi.connection import AgiConnection
from ivr.channels.agi.environment import AgiEnvironment, parse_environment_block
from ivr.channels.agi.errors import AgiError
from ivr.channels.agi.replies import AgiResponse, parse_reply, parse_reply_general
from tests.agi.helpers import PeerTransport, RecordingListener
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


async def _environment(data: bytes, chunk: int = 4096) -> AgiEnvironment | AgiError:
    """Feed ``data`` in chunks then end the stream: exactly one outcome, whatever the bytes."""
    listener = RecordingListener()
    connection = AgiConnection(command_timeout=1.0, max_line_bytes=LIMIT, header_timeout=1.0, listener=listener)
    transport = PeerTransport(connection, [])
    connection.connection_made(transport)
    for start in range(0, len(data), chunk):
        connection.data_received(data[start : start + chunk])
    transport.close()  # the peer is done (or we closed a bad one): the loss comes next turn
    while listener.ended == 0:
        await asyncio.sleep(0)  # let the loss be delivered (a bounded number of turns)
    assert listener.opened == 1 and len(listener.outcomes) == 1
    return listener.outcomes[0]


async def _commands(chunks: list[bytes], count: int) -> list[AgiResponse | AgiError]:
    connection = AgiConnection(command_timeout=1.0, max_line_bytes=LIMIT)
    transport = PeerTransport(connection, chunks)
    connection.connection_made(transport)
    connection.data_received(REAL_ENV)
    outcomes: list[AgiResponse | AgiError] = []
    for _ in range(count):
        try:
            outcomes.append(await connection.command("NOOP"))
        except AgiError as exc:
            outcomes.append(exc)
    if any(isinstance(o, AgiError) for o in outcomes):
        assert connection.failure is not None  # poisoned: no later command can desync
        assert transport.closed or connection.hung_up
    await connection.close()
    return outcomes


def _run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(asyncio.wait_for(coro, 5))  # a hang fails the example


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=3 * LIMIT), st.integers(min_value=1, max_value=2 * LIMIT))
def test_random_bytes_as_environment(data: bytes, chunk: int) -> None:
    result = _run(_environment(data, chunk))
    assert isinstance(result, AgiEnvironment | AgiError)


@FUZZ
@given(st.binary(max_size=2 * LIMIT))
def test_the_pure_block_parser_never_crashes(block: bytes) -> None:
    try:
        env = parse_environment_block(block, LIMIT)
    except AgiError:
        return
    assert env.request == env.raw["agi_request"]


@FUZZ
@given(st.integers(min_value=0, max_value=len(REAL_ENV)), st.integers(min_value=1, max_value=64))
def test_truncated_real_environment(cut: int, chunk: int) -> None:
    result = _run(_environment(REAL_ENV[:cut], chunk))
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


_REPLY_PIECES = st.lists(st.sampled_from(["200", "510", " ", "result=", "0", "-1", "49", "(", ")", "x", "endpos=",
                                          "12", "=", "()", "timeout", "²", "a b"]), max_size=8)


@FUZZ
@given(st.one_of(_REPLY_PIECES.map("".join), st.text(max_size=40).map(lambda t: "200 result=" + t)))
def test_the_reply_shortcuts_agree_with_the_general_parser(line: str) -> None:
    def outcome(parse: Callable[[str], AgiResponse]) -> AgiResponse | type[AgiError]:
        try:
            return parse(line)
        except AgiError as exc:
            return type(exc)

    assert outcome(parse_reply) == outcome(parse_reply_general)
