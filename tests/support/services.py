"""Real PostgreSQL and Mosquitto for integration tests.

In CI (``CI=true``) these services must be there: a missing one fails the test. Elsewhere a test that
needs one is skipped with the reason printed.
"""

from __future__ import annotations

import os
import socket

import pytest

PG_ADMIN_URL = os.environ.get("IVR_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
MQTT_HOST = os.environ.get("IVR_TEST_MQTT_HOST", "127.0.0.1")
MQTT_PORT = int(os.environ.get("IVR_TEST_MQTT_PORT", "1883"))


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    if port_open(host, port):
        return
    if in_ci():
        pytest.fail(f"{name} is required in CI but {host}:{port} is not reachable")
    pytest.skip(f"{name} not reachable on {host}:{port}; this test runs in CI (CI=true)")


def require_postgres() -> None:
    require_service("PostgreSQL", "127.0.0.1", 5432)


def require_mosquitto() -> None:
    require_service("Mosquitto", MQTT_HOST, MQTT_PORT)
