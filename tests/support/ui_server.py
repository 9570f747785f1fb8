"""Serve an app with uvicorn on 127.0.0.1 (port 0) inside the test's event loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """Yields the base URL. Open streams (SSE) get 2 s to close at shutdown, then are cut."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, lifespan="off", access_log=False,
                            timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    config.load()
    server.lifespan = config.lifespan_class(config)
    await server.startup()
    if server.should_exit:
        raise RuntimeError("uvicorn could not start")
    port = server.servers[0].sockets[0].getsockname()[1]
    loop_task = asyncio.create_task(server.main_loop())
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await loop_task
        await server.shutdown()
