"""Phone numbers are masked everywhere in a log line, including structured ``extra=`` values."""

from __future__ import annotations

import enum
import io
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from ivr.logs import configure_logging, current_call_id, mask_value
from ivr.settings import Settings

NUMBER = "+34911234567"
MASKED = "+34*****4567"


class Kind(enum.Enum):
    NUMBER = NUMBER


@dataclass(frozen=True)
class Contact:
    number: str


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    out = io.StringIO()
    yield out
    logging.getLogger().handlers.clear()


def _emit(stream: io.StringIO, *, json_logs: bool, **extra: object) -> str:
    configure_logging(Settings(log_json=json_logs), stream=stream)
    token = current_call_id.set("1795426452.27")
    try:
        logging.getLogger("ivr.test").info("hello", extra=extra)
    finally:
        current_call_id.reset(token)
    return stream.getvalue().strip()


def test_numbers_inside_structures_are_masked(stream: io.StringIO) -> None:
    at = datetime(2026, 11, 23, 21, 14, 37, tzinfo=UTC)
    line = json.loads(_emit(stream, json_logs=True, numbers=[NUMBER, "600111222"],
                            contact={"caller": NUMBER, "tries": 2, "nested": {"to": (NUMBER,)}},
                            who=Contact(NUMBER), kind=Kind.NUMBER, at=at))
    assert NUMBER not in json.dumps(line) and "600111222" not in json.dumps(line)
    assert line["numbers"] == [MASKED, "60***1222"]
    assert line["contact"] == {"caller": MASKED, "tries": 2, "nested": {"to": [MASKED]}}
    assert MASKED in line["who"] and line["kind"] == MASKED
    assert line["at"] == "2026-11-23T21:14:37+00:00"  # dates are not mistaken for numbers
    assert line["call_id"] == "1795426452.27"


def test_text_lines_keep_the_call_id_readable(stream: io.StringIO) -> None:
    line = _emit(stream, json_logs=False)
    assert line.endswith("call_id=1795426452.27")


def test_mask_value_bounds_depth() -> None:
    deep: object = NUMBER
    for _ in range(20):
        deep = [deep]
    flat = json.dumps(mask_value(deep))
    assert NUMBER not in flat and "4567" in flat
