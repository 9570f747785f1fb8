"""Wires users, the audit log, auth routes and the HTTP server (uvicorn) component."""

from __future__ import annotations

import asyncio
import logging
import socket
from datetime import timedelta

import uvicorn

from api.app import create_app
from api.auth_routes import router as auth_router
from api.auth_routes import users_router
from api.desk import WrapUpStore
from api.desk import router as desk_router
from api.security import AuditLog, UserService
from api.ui.flow_tools import router as flow_tools_router
from api.ui.routes import router as ui_router
from api.ui.stats import router as stats_router
from ivr.composition import Container

log = logging.getLogger(__name__)


class HttpServer:
    """uvicorn inside our TaskGroup (no signal handlers of its own: ``ivr serve`` owns them)."""

    name = "http"

    def __init__(self, container: Container) -> None:
        self._container = container
        self.port: int | None = None

    async def run(self, started: asyncio.Event) -> None:
        settings = self._container.settings
        app = create_app(self._container)
        config = uvicorn.Config(
            app, host=settings.http.host, port=settings.http.port, log_config=None, lifespan="off",
            # open agent-desk event streams must not hold a shutdown for long
            access_log=False, timeout_graceful_shutdown=5,
        )
        server = uvicorn.Server(config)
        # uvicorn's own serve() captures SIGINT/SIGTERM; `ivr serve` owns signals, so drive its phases here.
        config.load()
        server.lifespan = config.lifespan_class(config)
        # Bound here, not by uvicorn: its own bind turns "address in use" into sys.exit(), which would
        # end the whole server if it happened when this component is restarted.
        listener = socket.create_server((settings.http.host, settings.http.port), backlog=2048,
                                        family=socket.AF_INET6 if ":" in settings.http.host else socket.AF_INET)
        await server.startup(sockets=[listener])
        if server.should_exit:
            raise RuntimeError(f"the HTTP server could not start on {settings.http.host}:{settings.http.port}")
        try:
            self.port = server.servers[0].sockets[0].getsockname()[1]
            log.info("http listening", extra={"host": settings.http.host, "port": self.port})
            started.set()
            await server.main_loop()
        finally:
            server.should_exit = True
            await server.shutdown()


async def wire(container: Container) -> None:
    settings = container.settings
    container.services["users"] = UserService(
        container.db, token_ttl=timedelta(hours=settings.auth.token_ttl_hours),
        time_cost=settings.auth.password_time_cost, memory_kib=settings.auth.password_memory_kib,
    )
    container.services["audit"] = AuditLog(container.db)
    container.routers.extend([auth_router, users_router])
    container.services["desk_wrapups"] = WrapUpStore(container.db)
    container.routers.extend([desk_router, stats_router, flow_tools_router, ui_router])
    server = HttpServer(container)
    container.services["http_server"] = server
    container.components.append(server)
