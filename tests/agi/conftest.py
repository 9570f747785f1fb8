from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import pytest

from ivr.channels.agi.channel import AgiChannel
from ivr.channels.agi.server import AgiServer
from ivr.channels.agi.speech import AgiSpeech
from ivr.ports import FlowRunner
from ivr.settings import AgiSettings

Script = Callable[[AgiChannel], Awaitable[None]]


def agi_settings(**overrides: Any) -> AgiSettings:
    values: dict[str, Any] = {"host": "127.0.0.1", "port": 0, "command_timeout": 5.0, "header_timeout": 2.0,
                              "max_prompt_seconds": 5.0, "max_bridge_seconds": 5.0, "timeout_margin": 1.0,
                              "shutdown_grace": 2.0}
    values.update(overrides)
    return AgiSettings(**values)


@asynccontextmanager
async def running_server(
    scripts: Mapping[str, Script] | None = None,
    engine: FlowRunner | None = None,
    speech: AgiSpeech | None = None,
    **settings: Any,
) -> AsyncIterator[AgiServer]:
    server = AgiServer(agi_settings(**settings), engine=engine, scripts=scripts,
                       speech=speech)
    await server.start()
    try:
        yield server
    finally:
        await server.shutdown(grace=1.0)


@pytest.fixture
def agi_server() -> Callable[..., Any]:
    return running_server
