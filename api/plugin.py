"""Builds users, the audit log, the login gate and the pages' routes; and the HTTP server (uvicorn)
component, which serves the app made from the whole container."""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass
from datetime import timedelta

import uvicorn
from fastapi import APIRouter, FastAPI
from prometheus_client import CollectorRegistry

from api.app import create_app
from api.auth_routes import router as auth_router
from api.auth_routes import users_router
from api.desk import WrapUpStore
from api.desk import router as desk_router
from api.desk_calls import router as desk_calls_router
from api.floodguard import HttpFloodCollector, HttpFloodCounts
from api.hashing import PasswordHashing
from api.health import router as health_router
from api.login import LoginGate, LoginPolicies
from api.security import AuditLog, UserService
from api.ui.flow_tools import router as flow_tools_router
from api.ui.routes import favicon_router
from api.ui.routes import router as ui_router
from api.ui.stats import router as stats_router
from api.ui.user_pages import router as user_pages_router
from ivr.composition import Container
from ivr.db import Database
from ivr.errors import listen_error
from ivr.floodguard import FloodGuard, FloodLimit
from ivr.settings import HttpSettings, Settings

log = logging.getLogger(__name__)


def uvicorn_config(app: FastAPI, http: HttpSettings) -> uvicorn.Config:
    return uvicorn.Config(
        app, host=http.host, port=http.port, log_config=None, lifespan="off",
        # open agent-desk event streams must not hold a shutdown for long
        access_log=False, timeout_graceful_shutdown=5,
        # uvicorn would believe X-Forwarded-For from 127.0.0.1; only the configured proxies are
        # believed, by the app's own middleware (ivr.web.clientip)
        proxy_headers=False, forwarded_allow_ips=[],
    )


class HttpServer:
    """uvicorn inside our TaskGroup (no signal handlers of its own: ``ivr serve`` owns them)."""

    name = "http"

    def __init__(self, container: Container) -> None:
        self._container = container
        self.port: int | None = None

    async def run(self, started: asyncio.Event) -> None:
        settings = self._container.settings
        app = create_app(self._container)
        config = uvicorn_config(app, settings.http)
        server = uvicorn.Server(config)
        # uvicorn's own serve() captures SIGINT/SIGTERM; `ivr serve` owns signals, so drive its phases here.
        config.load()
        server.lifespan = config.lifespan_class(config)
        # Bound here, not by uvicorn: its bind failure is a logged error and sys.exit(1).
        await server.startup(sockets=[_listen(settings.http.host, settings.http.port)])
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


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=2048)
    except OSError as exc:
        raise listen_error("HTTP", host, port, "IVR_HTTP__PORT", exc) from exc


@dataclass(frozen=True)
class WebDomain:
    users: UserService
    audit: AuditLog
    login: LoginGate
    wrapups: WrapUpStore  # the agents' wrap-up notes (the desk)
    hashing: PasswordHashing
    flood: FloodGuard  # per client address, before routing (api.floodguard)
    flood_counts: HttpFloodCounts
    routers: tuple[APIRouter, ...] = (health_router, auth_router, users_router, desk_router, desk_calls_router,
                                      stats_router, flow_tools_router, user_pages_router, ui_router, favicon_router)

    async def aclose(self) -> None:
        self.hashing.close()


async def build(settings: Settings, db: Database, *, registry: CollectorRegistry) -> WebDomain:
    hashing = PasswordHashing.from_settings(settings.auth)
    await hashing.warm()
    users = UserService(db, hashing, token_ttl=timedelta(hours=settings.auth.token_ttl_hours))
    audit = AuditLog(db)
    login = LoginGate.create(users, audit, LoginPolicies.from_settings(settings.auth))
    flood_counts = HttpFloodCounts()
    registry.register(HttpFloodCollector(flood_counts))
    flood = FloodGuard(FloodLimit(settings.http.flood_rate, settings.http.flood_burst), what="HTTP")
    return WebDomain(users=users, audit=audit, login=login, wrapups=WrapUpStore(db), hashing=hashing,
                     flood=flood, flood_counts=flood_counts)
