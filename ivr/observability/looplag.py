"""The event loop's lag, as a histogram: how late a callback scheduled for a given time runs.

Every live call shares the one loop; anything that holds it (hashing, parsing, a blocking call)
delays every call's next RTP packet and AGI command by as much. The monitor asks the loop to run a
callback every ``interval`` and records how late it ran, so /metrics shows the loop's budget being
spent before callers hear it.
"""

from __future__ import annotations

import asyncio
from typing import Protocol


class Observer(Protocol):
    def observe(self, amount: float) -> None: ...


class LoopLagMonitor:
    """A :class:`~ivr.composition.Component`: measures until cancelled."""

    name = "loop-lag"

    def __init__(self, histogram: Observer, *, interval: float = 0.1) -> None:
        self._histogram = histogram
        self._interval = interval
        self.samples = 0

    async def run(self, started: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        started.set()
        while True:
            due = loop.time() + self._interval
            ran: asyncio.Future[None] = loop.create_future()
            handle = loop.call_at(due, self._measure, loop, due, ran)
            try:
                await ran
            finally:
                handle.cancel()

    def _measure(self, loop: asyncio.AbstractEventLoop, due: float, ran: asyncio.Future[None]) -> None:
        # Measured in the callback itself: the time until the awaiting task resumes is not the loop's lag.
        self._histogram.observe(max(0.0, loop.time() - due))
        self.samples += 1
        if not ran.done():
            ran.set_result(None)
