"""A minimal container + FastAPI app for API tests (only the domains a test asks for)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from fastapi import FastAPI

from api.app import create_app
from ivr.composition import Container
from ivr.db import Database
from ivr.events import EventBus
from ivr.settings import Settings


async def make_container(
    db: Database, settings: Settings | None = None,
    wires: Iterable[Callable[[Container], Awaitable[None]]] = (),
) -> Container:
    container = Container(settings=settings or test_settings(), db=db, bus=EventBus())
    for wire in wires:
        await wire(container)
    return container


def test_settings(**overrides: object) -> Settings:
    """Settings for tests: cheap password hashing (argon2 at full cost takes ~0.3 s per hash)."""
    auth = {"password_time_cost": 1, "password_memory_kib": 8192}
    return Settings(auth=auth, **overrides)  # type: ignore[arg-type]


def app_for(container: Container) -> FastAPI:
    return create_app(container)
