"""``/health`` (alive), ``/ready`` (database, AMI, MQTT, components each reported) and ``/metrics``."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready")
async def ready(request: Request) -> JSONResponse:
    container = request.app.state.container
    checks: dict[str, dict[str, Any]] = {}
    try:
        await asyncio.wait_for(container.db.ping(), timeout=2.0)
        checks["database"] = {"ok": True}
    except Exception as exc:  # noqa: BLE001 - readiness reports any failure as "not ready"
        checks["database"] = {"ok": False, "error": type(exc).__name__}
    checks["ami"] = _optional_connection(container.services.get("ami"), container.settings.ami.enabled)
    checks["mqtt"] = _optional_connection(container.services.get("mqtt"), bool(container.settings.mqtt.url))
    states = container.services.get("component_states")  # set by `ivr serve` (absent when the app runs alone)
    if states is not None:
        down = states.down()
        checks["components"] = {"ok": not down, "down": down}
    ok = all(c["ok"] for c in checks.values())
    return JSONResponse({"status": "ready" if ok else "not ready", "checks": checks}, status_code=200 if ok else 503)


def _optional_connection(service: Any, configured: bool) -> dict[str, Any]:
    if not configured:
        return {"ok": True, "configured": False}
    connected = bool(getattr(service, "connected", False))
    return {"ok": connected, "configured": True, "connected": connected}


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    registry = request.app.state.container.services["metrics"].registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
