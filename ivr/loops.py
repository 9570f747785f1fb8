"""Which asyncio event loop ``ivr serve`` runs on.

``auto`` takes uvloop when it is installed (it is a dependency on Linux and macOS): libuv's loop
costs a third less CPU per FastAGI command than the standard one (bench/agi_load.py), so the
same machine carries more calls. ``asyncio`` forces the standard loop (e.g. to rule the loop out
when debugging); ``uvloop`` insists on it and fails clearly when it is missing.
"""

from __future__ import annotations

import asyncio
import enum
import importlib.util
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class EventLoopChoice(enum.StrEnum):
    AUTO = "auto"
    ASYNCIO = "asyncio"
    UVLOOP = "uvloop"


class EventLoopUnavailable(RuntimeError):
    """``event_loop: uvloop`` on a machine without uvloop."""


def uvloop_available() -> bool:
    return importlib.util.find_spec("uvloop") is not None


def loop_factory(choice: EventLoopChoice) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The factory for ``asyncio.Runner`` (None: the standard loop)."""
    if choice is EventLoopChoice.ASYNCIO or (choice is EventLoopChoice.AUTO and not uvloop_available()):
        return None
    if not uvloop_available():
        raise EventLoopUnavailable("event_loop is 'uvloop' but uvloop is not installed (pip install uvloop)")
    import uvloop

    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def run(main: Coroutine[Any, Any, T], choice: EventLoopChoice) -> T:
    """``asyncio.run`` on the chosen loop."""
    with asyncio.Runner(loop_factory=loop_factory(choice)) as runner:
        return runner.run(main)
