"""``ivr serve`` holds its start-up log lines until it is up, so a failed start is one line."""

from __future__ import annotations

import io
import json
import logging

from ivr.logs import StartupLogs, configure_logging
from ivr.settings import Settings


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def _configured(stream: io.StringIO) -> StartupLogs:
    held = configure_logging(Settings(log_json=True, log_level="INFO"), stream, hold_startup=True)
    assert held is not None
    return held


def test_records_wait_until_the_server_is_up_then_come_in_order() -> None:
    stream = io.StringIO()
    held = _configured(stream)
    log = logging.getLogger("test.startup")
    log.info("component started")
    log.warning("something to know")
    assert stream.getvalue() == ""
    held.write_held(failed=False)
    assert [r["msg"] for r in _lines(stream)] == ["component started", "something to know"]
    log.info("a call")  # once up, records go straight out
    assert _lines(stream)[-1]["msg"] == "a call"
    held.write_held(failed=True)  # what `ivr serve` does on its way out: nothing is held any more
    assert len(_lines(stream)) == 3


def test_a_failed_start_keeps_only_warnings_and_errors() -> None:
    stream = io.StringIO()
    held = _configured(stream)
    log = logging.getLogger("test.startup")
    log.info("component started")
    log.error("the SIP endpoint could not start")
    held.write_held(failed=True)
    assert [r["level"] for r in _lines(stream)] == ["error"]


def test_a_long_start_stops_holding_past_its_capacity() -> None:
    stream = io.StringIO()
    held = _configured(stream)
    held.capacity = 3
    log = logging.getLogger("test.startup")
    for n in range(5):
        log.info("line %d", n)
    assert [r["msg"] for r in _lines(stream)] == [f"line {n}" for n in range(5)]
