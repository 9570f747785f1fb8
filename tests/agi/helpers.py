from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from ivr.channels.agi.channel import AgiChannel
from ivr.channels.agi.server import AgiServer
from tests.support.agi_driver import AsteriskDriver, DriverResult, Responder


class Outcome:
    """What a test script saw (its return value or the exception it raised)."""

    def __init__(self) -> None:
        self.value: Any = None
        self.error: BaseException | None = None
        self.done = asyncio.Event()
        self.channel: AgiChannel | None = None


Script = Callable[[AgiChannel], Awaitable[None]]


def script_of(body: Callable[[AgiChannel], Awaitable[Any]], outcome: Outcome) -> Script:
    async def script(channel: AgiChannel) -> None:
        outcome.channel = channel
        try:
            outcome.value = await body(channel)
        except Exception as exc:
            outcome.error = exc
            raise
        finally:
            outcome.done.set()

    return script


async def drive(server: AgiServer, respond: Responder, *, env: bytes | None = None) -> DriverResult:
    return await asyncio.wait_for(AsteriskDriver(server.port, respond, env=env).run(), 15)
