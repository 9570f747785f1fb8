"""Structured logs: one JSON line per event, the call id on every line, phone numbers masked."""

from __future__ import annotations

import contextvars
import enum
import json
import logging
import re
import sys
from datetime import UTC, date, datetime, time
from typing import Any

from ivr.settings import Settings

current_call_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("current_call_id", default=None)

# Digits with spaces, dashes or brackets; no dots, so IP addresses and Asterisk uniqueids
# ("1795426452.27") stay readable.
_PHONE = r"(?<![\w.:])\+?\d[\d\s()-]{5,}\d(?![\w.])"
# Tokens made of digits and dashes that are not numbers: UUIDs, dates and date-times (ISO 8601 and
# the log's own "2026-12-06 04:42:51,868"), clock times. Matched first, at the same position, and
# kept as they are; a phone number cannot start inside one.
_KEEP = (
    r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
    r"|\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?(?![\d-])"
    r"|\b\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\b"
)
_MASK_RE = re.compile(f"(?P<keep>{_KEEP})|(?P<phone>{_PHONE})")
_STD_ATTRS = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


def mask_number(number: str | None) -> str:
    """``+34911234567`` -> ``+34*****4567``: enough to tell calls apart, not to dial."""
    if not number:
        return ""
    digits = [c for c in number if c.isdigit()]
    if len(digits) <= 4:
        return "*" * len(digits)
    keep_head = 3 if number.startswith("+") else 2
    head = ("+" if number.startswith("+") else "") + "".join(digits[: keep_head - (1 if number.startswith("+") else 0)])
    tail = "".join(digits[-4:])
    hidden = len(digits) - (len(head.lstrip("+")) + 4)
    return f"{head}{'*' * max(hidden, 1)}{tail}"


def mask_text(text: str) -> str:
    """Mask anything that looks like a phone number inside free text."""
    return _MASK_RE.sub(lambda m: m.group(0) if m.group("keep") else mask_number(m.group(0)), text)


def mask_value(value: Any, depth: int = 0) -> Any:
    """Mask numbers in strings anywhere inside an ``extra=`` value (dicts, lists, tuples, sets)."""
    if isinstance(value, str):
        return mask_text(value)
    if depth >= 8:  # deep enough for any log payload; beyond it, flatten to masked text
        return mask_text(str(value))
    if isinstance(value, dict):
        return {mask_value(k, depth + 1) if isinstance(k, str) else k: mask_value(v, depth + 1)
                for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [mask_value(v, depth + 1) for v in value]
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, datetime | date | time):
        return value.isoformat()  # not str(): "2026-11-23 21:14" would look like a number to mask
    if isinstance(value, enum.Enum):
        return mask_value(value.value, depth + 1)
    return mask_text(str(value))  # dataclasses and other objects: logged as their (masked) text


class CallIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "call_id"):
            record.call_id = current_call_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": mask_text(record.getMessage()),
            "call_id": getattr(record, "call_id", None),
        }
        for key, value in record.__dict__.items():
            if key in _STD_ATTRS or key in payload or key.startswith("_"):
                continue
            payload[key] = mask_value(value)
        if record.exc_info:
            payload["exc"] = mask_text(self.formatException(record.exc_info))
        return json.dumps(payload, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        # The call id is appended after masking: an Asterisk uniqueid (1795426452.27) looks like a number.
        return f"{mask_text(super().format(record))} call_id={getattr(record, 'call_id', None)}"


class StartupLogs(logging.Handler):
    """Holds the records of a server's start until it is up (then writes them all, in order) or has
    failed to start (then writes only its warnings and errors): a start-up error stays the one line
    that names the fix, not the last line under a page of "component started". Past ``capacity``
    records (a start that takes long and says much) it stops holding and writes as it goes."""

    def __init__(self, target: logging.Handler, capacity: int = 2000) -> None:
        super().__init__()
        self.target = target
        self.capacity = capacity
        self._held: list[logging.LogRecord] | None = []

    def emit(self, record: logging.LogRecord) -> None:
        if self._held is not None and len(self._held) < self.capacity:
            self._held.append(record)
            return
        self.write_held(failed=False)
        self.target.handle(record)

    def write_held(self, *, failed: bool) -> None:
        held, self._held = self._held, None
        for record in held or ():
            if not failed or record.levelno >= logging.WARNING:
                self.target.handle(record)


def configure_logging(settings: Settings, stream: Any = None, *, hold_startup: bool = False) -> StartupLogs | None:
    """Log to ``stream`` (stderr) as JSON lines or text. With ``hold_startup`` the records wait in the
    returned :class:`StartupLogs` until the caller writes them (``ivr serve``: once it is up)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(CallIdFilter())
    text = TextFormatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    handler.setFormatter(JsonFormatter() if settings.log_json else text)
    root = logging.getLogger()
    held = StartupLogs(handler) if hold_startup else None
    root.handlers[:] = [held or handler]
    root.setLevel(settings.log_level.upper())
    return held
