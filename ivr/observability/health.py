"""``/health`` (alive), ``/ready`` and ``/metrics``.

``/ready`` answers 503 ("not ready") only when this node cannot take calls: the database is down,
or no telephony listener (FastAGI server, built-in SIP endpoint) is up although one is configured.
Anything else that is down (AMI: callbacks and agents' device states; MQTT: events) leaves calls
working, so it answers 200 with ``"status": "degraded"`` and names what is down; the last
``ivr asterisk check`` recorded under ``var_dir`` is shown as a detail the same way. A supervised
component waiting to be restarted is named under ``components``: degraded, unless it leaves no
telephony listener up, which the ``telephony`` check then reports as not ready.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ivr.deps import container_of

if TYPE_CHECKING:
    from ivr.channels.agi.server import AgiServer
    from ivr.channels.sip.endpoint import SipEndpoint
    from ivr.composition import Container

router = APIRouter(tags=["health"])

ASTERISK_CHECK_FILE = "asterisk-check.json"  # written by `ivr asterisk check --record`
MAX_CHECK_FILE_BYTES = 256 * 1024


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", responses={
    200: {"description": '"ready", or "degraded": calls are taken, what else is down is named in "down"'},
    503: {"description": '"not ready": the database is down or no telephony listener is up'},
})
async def ready(request: Request) -> JSONResponse:
    container = container_of(request)
    checks: dict[str, dict[str, Any]] = {}
    try:
        await asyncio.wait_for(container.db.ping(), timeout=2.0)
        checks["database"] = {"ok": True}
    except Exception as exc:  # noqa: BLE001 - readiness reports any failure as "not ready"
        checks["database"] = {"ok": False, "error": type(exc).__name__}
    checks["telephony"] = _telephony(container)
    checks["ami"] = _optional_connection(container.ami, container.settings.ami.enabled)
    checks["mqtt"] = _optional_connection(container.observability.mqtt, bool(container.settings.mqtt.url))
    # a small file, read off the event loop all the same
    recorded = await asyncio.to_thread(_asterisk_check, Path(container.settings.var_dir) / ASTERISK_CHECK_FILE)
    if recorded is not None:
        checks["asterisk_config"] = recorded
    states = container.observability.component_states  # filled by `ivr serve` (empty when the app runs alone)
    if states.running:
        failing = states.down()
        checks["components"] = {"ok": not failing, "down": failing}
    status, code = readiness(checks)
    down = sorted(name for name, check in checks.items() if not check["ok"])
    return JSONResponse({"status": status, "down": down, "checks": checks}, status_code=code)


CRITICAL = ("database", "telephony")


def readiness(checks: dict[str, dict[str, Any]]) -> tuple[str, int]:
    """(status, HTTP code): not ready (503) when a call cannot be taken, degraded (200) when
    something else is down, ready (200) otherwise."""
    if any(not checks[name]["ok"] for name in CRITICAL if name in checks):
        return "not ready", 503
    if any(not check["ok"] for check in checks.values()):
        return "degraded", 200
    return "ready", 200


def _listening(service: Any) -> bool:
    listening = getattr(service, "listening", None)
    if isinstance(listening, bool):
        return listening
    try:  # the FastAGI server tells by its port (RuntimeError while it is not listening)
        return bool(service.port)
    except (RuntimeError, AttributeError):
        return False


def _telephony(container: Container) -> dict[str, Any]:
    wired: dict[str, AgiServer | SipEndpoint] = {}
    if container.agi is not None:
        wired["agi_server"] = container.agi.server
    if container.sip is not None:
        wired["sip"] = container.sip.endpoint
    if not wired:  # an API-only node (FastAGI and SIP off): it takes no calls, none to refuse
        return {"ok": True, "configured": False}
    listening = {name: _listening(service) for name, service in wired.items()}
    return {"ok": any(listening.values()), "configured": True, "listening": listening}


def _optional_connection(service: Any, configured: bool) -> dict[str, Any]:
    if not configured:
        return {"ok": True, "configured": False}
    connected = bool(getattr(service, "connected", False))
    return {"ok": connected, "configured": True, "connected": connected}


def _asterisk_check(path: Path) -> dict[str, Any] | None:
    """The recorded result of ``ivr asterisk check``, or None when none was recorded."""
    try:
        if not path.is_file():
            return None
        if path.stat().st_size > MAX_CHECK_FILE_BYTES:
            return {"ok": False, "error": f"{path.name} is too large"}
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return {"ok": False, "error": f"{path.name} unreadable: {type(exc).__name__}"}
    if not isinstance(data, dict):
        return {"ok": False, "error": f"{path.name} is not an object"}
    raw = data.get("problems")
    problems: list[Any] = raw if isinstance(raw, list) else []
    return {"ok": not problems, "checked_at": data.get("checked_at"), "problems": len(problems),
            "first": [str(p) for p in problems[:5]]}


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    registry = container_of(request).observability.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
