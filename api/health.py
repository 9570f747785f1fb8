"""``/health`` (alive), ``/ready`` and ``/metrics``: the web layer reads the whole node (database,
listeners, connections, supervised components) and :mod:`ivr.observability.health` judges it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.deps import container_of
from ivr.composition import Container
from ivr.observability.health import (
    ASTERISK_CHECK_FILE,
    Check,
    Listener,
    asterisk_check,
    connection_check,
    readiness,
    telephony_check,
)

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", responses={
    200: {"description": '"ready", or "degraded": calls are taken, what else is down is named in "down"'},
    503: {"description": '"not ready": the database is down or no telephony listener is up'},
})
async def ready(request: Request) -> JSONResponse:
    container = container_of(request)
    checks: dict[str, Check] = {}
    try:
        await asyncio.wait_for(container.db.ping(), timeout=2.0)
        checks["database"] = {"ok": True}
    except Exception as exc:  # noqa: BLE001 - readiness reports any failure as "not ready"
        checks["database"] = {"ok": False, "error": type(exc).__name__}
    checks["telephony"] = telephony_check(_listeners(container))
    checks["ami"] = connection_check(container.ami, container.settings.ami.enabled)
    checks["mqtt"] = connection_check(container.observability.mqtt, bool(container.settings.mqtt.url))
    # a small file, read off the event loop all the same
    recorded = await asyncio.to_thread(asterisk_check, Path(container.settings.var_dir) / ASTERISK_CHECK_FILE)
    if recorded is not None:
        checks["asterisk_config"] = recorded
    states = container.observability.component_states  # filled by `ivr serve` (empty when the app runs alone)
    if states.running:
        failing = states.down()
        checks["components"] = {"ok": not failing, "down": failing}
    status, code = readiness(checks)
    down = sorted(name for name, check in checks.items() if not check["ok"])
    return JSONResponse({"status": status, "down": down, "checks": checks}, status_code=code)


def _listeners(container: Container) -> dict[str, Listener]:
    listeners: dict[str, Listener] = {}
    if container.agi is not None:
        listeners["agi_server"] = container.agi.server
    if container.sip is not None:
        listeners["sip"] = container.sip.endpoint
    return listeners


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    registry = container_of(request).observability.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
