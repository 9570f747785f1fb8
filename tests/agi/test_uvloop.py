"""The FastAGI server on uvloop (what ``ivr serve`` runs on by default): the same scenarios as on
the standard loop (captured sessions, hostile peers, shutdown, the support flow end to end).

uvloop's transports are not ``asyncio.Transport`` subclasses and its timers have millisecond
resolution, so the connection protocol is exercised on it explicitly, test by test."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from ivr import loops
from ivr.channels.agi.stats import AgiErrorKind
from ivr.loops import EventLoopChoice
from ivr.prompts.catalogue import PromptCatalogue
from ivr.settings import PROJECT_ROOT
from tests.agi import test_channel, test_hostile, test_server, test_support_flow_e2e
from tests.support.fakes import FakeSchedules, fake_services

pytest.importorskip("uvloop", reason="uvloop is not installed (it is a dependency on Linux)")


def on_uvloop(test: Callable[..., Awaitable[Any]], *args: Any) -> None:
    async def main() -> None:
        assert type(asyncio.get_running_loop()).__module__.startswith("uvloop")
        await test(*args)

    loops.run(main(), EventLoopChoice.UVLOOP)


@pytest.mark.parametrize(
    "test",
    [test_server.test_replay_normal_ivr_call, test_server.test_replay_caller_hangup_mid_stream_file_then_511,
     test_server.test_arguments_reach_the_script],
    ids=lambda t: t.__name__,
)
def test_captured_sessions(test: Callable[[Path], Awaitable[None]], asterisk_captures: Path) -> None:
    on_uvloop(test, asterisk_captures)


@pytest.mark.parametrize(("capture", "conn"), [("round2/agi-hold-loop.txt", 1), ("round2/agi-ami-hangup.txt", 1),
                                               ("round2/agi-originate.txt", 2)])
def test_round2_sessions(asterisk_captures: Path, capture: str, conn: int) -> None:
    on_uvloop(test_server.test_replay_round2_sessions, asterisk_captures, capture, conn)


@pytest.mark.parametrize(
    ("payload", "kind"),
    [(b"hello\n\n", AgiErrorKind.NO_ENVIRONMENT),
     (b"agi_request: agi://h/x\n" + b"a" * 20000, AgiErrorKind.NO_ENVIRONMENT),
     (b"agi_request: agi://h/x\nagi_chan", AgiErrorKind.NO_ENVIRONMENT)],
)
def test_bad_connections(payload: bytes, kind: AgiErrorKind) -> None:
    on_uvloop(test_hostile.test_bad_connections_are_closed, payload, kind)


@pytest.mark.parametrize(
    ("reply", "kind"),
    [(b"200 result=0\n200 result=0\n", AgiErrorKind.PROTOCOL), (b"200 result=" + b"9" * 9000 + b"\n",
     AgiErrorKind.LINE_TOO_LONG), (b"", AgiErrorKind.TIMEOUT)],
)
def test_bad_replies(reply: bytes, kind: AgiErrorKind) -> None:
    on_uvloop(test_hostile.test_bad_replies_end_the_call_and_close, reply, kind)


@pytest.mark.parametrize(
    "test",
    [test_hostile.test_truncated_reply_then_close, test_hostile.test_asterisk_closing_the_socket_is_a_hangup,
     test_hostile.test_broken_clients_beside_a_good_call, test_hostile.test_each_command_gets_its_own_timeout,
     test_server.test_graceful_shutdown_lets_live_calls_finish, test_server.test_shutdown_grace_is_bounded,
     test_channel.test_hangup_pushed_while_no_command_is_in_flight,
     test_channel.test_wait_hangup_sees_a_hangup_between_commands_then_commands_resume],
    ids=lambda t: t.__name__,
)
def test_connection_lifecycle(test: Callable[[], Awaitable[None]]) -> None:
    on_uvloop(test)


@pytest.mark.parametrize(
    "test",
    [test_support_flow_e2e.test_billing, test_support_flow_e2e.test_order_status,
     test_support_flow_e2e.test_caller_hangs_up_in_the_menu],
    ids=lambda t: t.__name__,
)
def test_support_flow(test: Callable[[Any], Awaitable[None]]) -> None:
    catalogue = PromptCatalogue.load(PROJECT_ROOT / "prompts")
    line = test_support_flow_e2e.Line(services=fake_services(), schedules=FakeSchedules(), catalogue=catalogue)
    on_uvloop(test, line)
