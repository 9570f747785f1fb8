"""What ``/ready`` reports, as pure functions (the routes are the web layer's: ``api/health.py``).

``/ready`` answers 503 ("not ready") only when this node cannot take calls: the database is down,
or no telephony listener (FastAGI server, built-in SIP endpoint) is up although one is configured.
Anything else that is down (AMI: callbacks and agents' device states; MQTT: events) leaves calls
working, so it answers 200 with ``"status": "degraded"`` and names what is down; the last
``ivr asterisk check`` recorded under ``var_dir`` is shown as a detail the same way. A supervised
component waiting to be restarted is named under ``components``: degraded, unless it leaves no
telephony listener up, which the ``telephony`` check then reports as not ready.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Protocol, Required, TypedDict

ASTERISK_CHECK_FILE = "asterisk-check.json"  # written by `ivr asterisk check --record`
MAX_CHECK_FILE_BYTES = 256 * 1024
CRITICAL = ("database", "telephony")


class Check(TypedDict, total=False):
    """One entry of ``/ready``'s ``checks`` (JSON): ``ok`` always, the rest as the check has it."""

    ok: Required[bool]
    configured: bool
    listening: dict[str, bool]  # telephony: each listener's state
    connected: bool
    error: str
    checked_at: object  # the recorded ``ivr asterisk check``: shown as that file has it
    problems: int
    first: list[str]
    down: list[str]  # components waiting to be restarted


class Listener(Protocol):
    """A telephony listener (the FastAGI server, the built-in SIP endpoint) as readiness sees it."""

    @property
    def listening(self) -> bool: ...


class Connection(Protocol):
    """An optional connection (AMI, MQTT) as readiness sees it."""

    @property
    def connected(self) -> bool: ...


def readiness(checks: dict[str, Check]) -> tuple[str, int]:
    """(status, HTTP code): not ready (503) when a call cannot be taken, degraded (200) when
    something else is down, ready (200) otherwise."""
    if any(not checks[name]["ok"] for name in CRITICAL if name in checks):
        return "not ready", 503
    if any(not check["ok"] for check in checks.values()):
        return "degraded", 200
    return "ready", 200


def telephony_check(listeners: dict[str, Listener]) -> Check:
    if not listeners:  # an API-only node (FastAGI and SIP off): it takes no calls, none to refuse
        return {"ok": True, "configured": False}
    listening = {name: listener.listening for name, listener in listeners.items()}
    return {"ok": any(listening.values()), "configured": True, "listening": listening}


def connection_check(service: Connection | None, configured: bool) -> Check:
    if not configured:
        return {"ok": True, "configured": False}
    connected = service is not None and service.connected
    return {"ok": connected, "configured": True, "connected": connected}


def asterisk_check(path: Path) -> Check | None:
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
    problems: list[object] = raw if isinstance(raw, list) else []
    return {"ok": not problems, "checked_at": data.get("checked_at"), "problems": len(problems),
            "first": [str(p) for p in problems[:5]]}

