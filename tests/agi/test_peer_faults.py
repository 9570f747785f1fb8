"""Replies the peer gets wrong (#14 item 11) and what the command metrics measure (#15 item 9).

- a 520 usage text without its end line is taken as complete after a short bounded wait, or as
  soon as a line comes that cannot be part of it; it never holds the call for the command timeout;
- an unexpected reply (510, 520, another code) is one WARNING line with the call id, no
  traceback, counted as a protocol error;
- ``puente_agi_command_seconds`` covers only commands Asterisk answers at once; prompts, key waits,
  hold polls, Dial and AudioSocket go to ``puente_agi_long_command_seconds{command=...}``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import pytest
from prometheus_client import CollectorRegistry

from ivr.channels.agi.channel import AgiChannel
from ivr.channels.agi.commands import long_command_kind
from ivr.channels.agi.errors import AgiUsageError
from ivr.channels.agi.metrics import AgiCollector
from ivr.channels.agi.stats import AgiErrorKind
from tests.agi.conftest import running_server
from tests.agi.helpers import Outcome, drive, script_of
from tests.support.agi_driver import R_OK0, CallerModel, env_block

USAGE_HEAD = ("520-Invalid command syntax.  Proper usage follows:", " Usage: WAIT FOR DIGIT <timeout>")


class TruncatedUsage(CallerModel):
    """Answers ``WAIT FOR DIGIT x`` with a 520 usage text whose end line never comes; after it
    (``then``) optionally more lines right away."""

    def __init__(self, then: Sequence[str] = ()) -> None:
        super().__init__()
        self.then = list(then)

    async def __call__(self, command: str) -> Sequence[str]:
        if command == "WAIT FOR DIGIT x":
            return [*USAGE_HEAD, *self.then]
        return await super().__call__(command)


async def _run(body, model, **settings):  # type: ignore[no-untyped-def]
    outcome = Outcome()
    async with running_server({"t": script_of(body, outcome)}, **settings) as server:
        result = await drive(server, model, env=env_block(script="t"))
    return outcome, result, server


async def test_a_usage_reply_without_its_end_line_does_not_hold_the_call(caplog: pytest.LogCaptureFixture) -> None:
    async def body(channel: AgiChannel) -> tuple[str, float, str]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(AgiUsageError) as usage:
            await channel.command("WAIT FOR DIGIT x")
        took = loop.time() - started
        after = (await channel.command("NOOP")).result  # the call goes on
        return usage.value.usage, took, after

    with caplog.at_level(logging.WARNING, logger="ivr.agi"):
        outcome, _, server = await _run(body, TruncatedUsage(), command_timeout=20.0)
    usage, took, after = outcome.value
    assert usage.strip() == "Usage: WAIT FOR DIGIT <timeout>" and after == "0"
    assert took < 5.0  # the 0.5 s grace, not the 20 s command timeout
    assert server.stats.errors[AgiErrorKind.PROTOCOL] >= 2  # the truncated text, and the 520 itself


async def test_a_usage_text_ends_at_the_next_line_that_is_not_part_of_it() -> None:
    # The end line is missing and the caller hangs up right behind it: the 520 is complete at
    # once, and the HANGUP is taken as the HANGUP it is.
    async def body(channel: AgiChannel) -> tuple[bool, float]:
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(AgiUsageError):
            await channel.command("WAIT FOR DIGIT x")
        return channel.hung_up, loop.time() - started

    outcome, _, _ = await _run(body, TruncatedUsage(then=["HANGUP"]), command_timeout=20.0)
    hung_up, took = outcome.value
    assert hung_up is True
    assert took < 0.4  # did not wait for the grace period


async def test_an_unexpected_reply_is_one_warning_line_with_the_call_id(caplog: pytest.LogCaptureFixture) -> None:
    async def body(channel: AgiChannel) -> None:
        with pytest.raises(AgiUsageError):
            await channel.command("WAIT FOR DIGIT nope")

    with caplog.at_level(logging.DEBUG, logger="ivr.agi"):
        _, _, server = await _run(body, CallerModel())
    mine = [r for r in caplog.records if "answered 520" in r.getMessage()]
    assert len(mine) == 1
    [record] = mine
    assert record.levelno == logging.WARNING and record.exc_info is None
    assert getattr(record, "call_id", None) == "1795424844.1"
    assert not any(r.levelno >= logging.ERROR for r in caplog.records)
    assert server.stats.errors[AgiErrorKind.PROTOCOL] == 1


@pytest.mark.parametrize(
    ("command", "kind"),
    [
        ("GET VARIABLE DIALSTATUS", None),
        ('SET VARIABLE PUENTE_RESULT "done"', None),
        ("SET MUSIC on default", None),
        ("ANSWER", None),
        ('STREAM FILE puente/en/menu "0123456789*#"', "stream_file"),
        ("WAIT FOR DIGIT 1000", "wait_for_digit"),
        ("GET DATA puente/en/pin 5000 4", "get_data"),
        ("EXEC Dial PJSIP/1001,15,gU(puente-agent-answered^ab)", "exec_dial"),
        ("EXEC AudioSocket 1b3c,127.0.0.1:9092", "exec_audiosocket"),
        ("EXEC Set X=1", "exec_other"),
    ],
)
def test_long_commands_are_told_apart(command: str, kind: str | None) -> None:
    assert long_command_kind(command) == kind


async def test_quick_and_long_commands_have_their_own_histograms() -> None:
    async def body(channel: AgiChannel) -> None:
        await channel.command("GET VARIABLE CHANNEL")
        await channel.wait_for_digit(0.01)
        await channel.wait_for_digit(0.01)

    _, _, server = await _run(body, CallerModel(media_delay=0.02))
    registry = CollectorRegistry()
    registry.register(AgiCollector(server.stats))
    quick = registry.get_sample_value("puente_agi_command_seconds_count")
    polls = registry.get_sample_value("puente_agi_long_command_seconds_count", {"command": "wait_for_digit"})
    assert polls == 2
    assert quick is not None and quick >= 1  # GET VARIABLE (and PUENTE_RESULT), never the polls
    assert registry.get_sample_value("puente_agi_command_seconds_bucket", {"le": "0.01"}) is not None
    assert server.stats.commands_total == quick + polls


def test_an_ok_reply_is_not_a_usage_line() -> None:
    from ivr.channels.agi.protocol import is_reply_start

    assert is_reply_start(R_OK0) and is_reply_start("HANGUP") and is_reply_start("511 Command Not Permitted")
    assert not is_reply_start(" Usage: WAIT FOR DIGIT <timeout>") and not is_reply_start("  Waits up to 5 s")
