from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ivr.channels.audiosocket.server import AudioSocketServer


@pytest.fixture
async def server() -> AsyncIterator[AudioSocketServer]:
    srv = AudioSocketServer("127.0.0.1", 0, connect_timeout=2.0)
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()
