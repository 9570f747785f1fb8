"""A container + FastAPI app for API tests."""

from __future__ import annotations

from fastapi import FastAPI

from api.app import create_app
from ivr.composition import Container, build_container
from ivr.db import Database
from ivr.settings import Settings


async def make_container(db: Database, settings: Settings | None = None) -> Container:
    """The whole composition root on ``db``, with cheap password hashing unless ``settings`` say otherwise."""
    return await build_container(settings or test_settings(), db=db)


def test_settings(**overrides: object) -> Settings:
    """Settings for tests: cheap password hashing (argon2 at full cost takes ~0.3 s per hash), and no
    telephony listener unless asked for (``agi={...}``, ``sip={...}``): an API test's ``/ready`` is not
    "not ready" for want of a FastAGI server it never starts."""
    auth = {"password_time_cost": 1, "password_memory_kib": 8192}
    telephony: dict[str, object] = {"agi": {"enabled": False}, "sip": {"enabled": False}}
    return Settings(auth=auth, **{**telephony, **overrides})  # type: ignore[arg-type]


def app_for(container: Container) -> FastAPI:
    return create_app(container)
