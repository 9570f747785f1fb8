"""Per-queue callback policy: parsed from the queue's ``callback:`` mapping, applied by pure functions
(quiet hours themselves, and the customer's zone, are :mod:`ivr.contact`'s).

```yaml
queues:
  support:
    callback:
      enabled: true
      sources: [abandon, flow_drop, queue_key, flow, after_hours, page, api, agent]  # or {abandon: false}
      min_wait_seconds: 20        # an abandon earns a callback only after this wait
      mode: agent_first           # or customer_first
      schedule: support           # calling window (a schedule name); none: any time
      quiet_hours: {start: "21:00", end: "09:00"}   # customer's local time; null: none
      max_attempts: 3
      retry_delays: [300, 900, 1800]                # seconds after the last attempt ended
      caller_id: "+34910000000"   # overrides settings.callbacks.caller_id
      expire_after_hours: 48
      agent_ring_seconds: 20
      customer_ring_seconds: 30
      priority: 0                 # the entry's priority in line (agent-first)
      customer_priority: 100      # the answered customer's priority in line (customer-first)
```
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from callbacks.errors import PolicyConfigError
from callbacks.models import AttemptOutcome, CallbackState
from callbacks.values import AttemptEnd
from ivr.contact import QuietHours
from ivr.ports import CallbackSource


class CallbackMode(enum.StrEnum):
    AGENT_FIRST = "agent_first"
    CUSTOMER_FIRST = "customer_first"


@dataclass(frozen=True, slots=True)
class QueuePolicy:
    enabled: bool = True
    sources: frozenset[CallbackSource] = frozenset(CallbackSource)
    min_wait_seconds: float = 20.0
    mode: CallbackMode = CallbackMode.AGENT_FIRST
    schedule: str | None = None
    quiet_hours: QuietHours | None = field(default_factory=lambda: QuietHours(time(21), time(9)))
    max_attempts: int = 3
    retry_delays: tuple[float, ...] = (300.0, 900.0, 1800.0)
    caller_id: str | None = None
    expire_after_hours: float = 48.0
    agent_ring_seconds: float = 20.0
    customer_ring_seconds: float = 30.0
    priority: int = 0
    customer_priority: int = 100


_KEYS = {
    "enabled", "sources", "min_wait_seconds", "mode", "schedule", "quiet_hours", "max_attempts", "retry_delays",
    "caller_id", "expire_after_hours", "agent_ring_seconds", "customer_ring_seconds", "priority",
    "customer_priority",
}


def parse_policy(raw: Mapping[str, Any] | None, *, where: str = "callback") -> QueuePolicy:
    """A queue's ``callback:`` mapping (None: the defaults). Unknown keys are errors."""
    if raw is None:
        return QueuePolicy()
    if not isinstance(raw, Mapping):
        raise PolicyConfigError(f"{where}: expected a mapping")
    unknown = set(raw) - _KEYS
    if unknown:
        raise PolicyConfigError(f"{where}: unknown keys {sorted(unknown)}")
    d = QueuePolicy()
    try:
        policy = QueuePolicy(
            enabled=bool(raw.get("enabled", d.enabled)),
            sources=_sources(raw.get("sources"), where) if "sources" in raw else d.sources,
            min_wait_seconds=float(raw.get("min_wait_seconds", d.min_wait_seconds)),
            mode=CallbackMode(str(raw.get("mode", d.mode.value))),
            schedule=str(raw["schedule"]) if raw.get("schedule") else None,
            quiet_hours=_quiet(raw["quiet_hours"], where) if "quiet_hours" in raw else d.quiet_hours,
            max_attempts=int(raw.get("max_attempts", d.max_attempts)),
            retry_delays=tuple(float(x) for x in raw.get("retry_delays", d.retry_delays)),
            caller_id=str(raw["caller_id"]) if raw.get("caller_id") else None,
            expire_after_hours=float(raw.get("expire_after_hours", d.expire_after_hours)),
            agent_ring_seconds=float(raw.get("agent_ring_seconds", d.agent_ring_seconds)),
            customer_ring_seconds=float(raw.get("customer_ring_seconds", d.customer_ring_seconds)),
            priority=int(raw.get("priority", d.priority)),
            customer_priority=int(raw.get("customer_priority", d.customer_priority)),
        )
    except (TypeError, ValueError) as exc:
        raise PolicyConfigError(f"{where}: {exc}") from exc
    if policy.max_attempts < 1:
        raise PolicyConfigError(f"{where}: max_attempts must be at least 1")
    if not policy.retry_delays or any(x < 0 for x in policy.retry_delays):
        raise PolicyConfigError(f"{where}: retry_delays must be a non-empty list of seconds >= 0")
    return policy


def _sources(raw: Any, where: str) -> frozenset[CallbackSource]:
    try:
        if isinstance(raw, Mapping):
            on = {CallbackSource(str(k)) for k, v in raw.items() if v}
            off = {CallbackSource(str(k)) for k, v in raw.items() if not v}
            return frozenset((set(CallbackSource) - off) | on)
        if isinstance(raw, Iterable) and not isinstance(raw, str):
            return frozenset(CallbackSource(str(s)) for s in raw)
    except ValueError as exc:
        raise PolicyConfigError(f"{where}: sources: {exc}") from exc
    raise PolicyConfigError(f"{where}: sources must be a list of sources or a mapping source -> on/off")


def _quiet(raw: Any, where: str) -> QuietHours | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or set(raw) != {"start", "end"}:
        raise PolicyConfigError(f"{where}: quiet_hours needs start and end (HH:MM), or null")
    try:
        return QuietHours(time.fromisoformat(str(raw["start"])), time.fromisoformat(str(raw["end"])))
    except ValueError as exc:
        raise PolicyConfigError(f"{where}: quiet_hours: {exc}") from exc


# --------------------------------------------------------------------------- decisions


def refusal(policy: QueuePolicy, source: CallbackSource, *, waited_seconds: float) -> str | None:
    """Why this request may not become a callback (None: it may)."""
    if not policy.enabled:
        return "callbacks are off for this queue"
    if source not in policy.sources:
        return f"callbacks from {source.value} are off for this queue"
    if source is CallbackSource.ABANDON and waited_seconds < policy.min_wait_seconds:
        return f"abandoned after {waited_seconds:.0f}s, below the {policy.min_wait_seconds:.0f}s minimum wait"
    return None


def retry_due(policy: QueuePolicy, *, attempts_done: int, last_ended: datetime) -> datetime | None:
    """When to try again after ``attempts_done`` counted attempts (None: attempts exhausted).
    The delay is counted from the end of the last attempt."""
    if attempts_done >= policy.max_attempts:
        return None
    delays = policy.retry_delays
    delay = delays[min(max(attempts_done - 1, 0), len(delays) - 1)]
    return last_ended + timedelta(seconds=delay)


def is_expired(policy: QueuePolicy, *, created_at: datetime, now: datetime) -> bool:
    return now - created_at > timedelta(hours=policy.expire_after_hours)


def context_richness(context: Mapping[str, Any] | None) -> int:
    """How much a stored context tells the agent: inputs, variables and path steps."""
    if not context:
        return 0
    return (len(context.get("inputs") or ()) * 3 + len(context.get("variables") or {}) * 2
            + len(context.get("path") or ()))


def richer_context(current: Mapping[str, Any] | None,
                   new: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """A merge keeps the context that tells more (ties keep the current one)."""
    return new if context_richness(new) > context_richness(current) else current


def after_attempt(policy: QueuePolicy, *, attempts_before: int, outcome: AttemptOutcome, counted: bool,
                  now: datetime, retry_soon: timedelta, detail: str | None = None) -> AttemptEnd:
    """What an attempt's outcome makes of the callback: completed when answered; when not, due
    again after the retry delay (counted from now, the end of this attempt), or failed when the
    attempts are used up. An attempt that did not reach the customer (the agent leg failed) is not
    counted and the callback is due again soon, keeping its place in line."""
    if outcome is AttemptOutcome.ANSWERED:
        return AttemptEnd(outcome, counted, CallbackState.COMPLETED, detail=detail, reason="answered")
    if not counted:
        return AttemptEnd(outcome, False, CallbackState.SCHEDULED, now + retry_soon, detail, "retry: agent leg")
    done = attempts_before + 1
    due = retry_due(policy, attempts_done=done, last_ended=now)
    if due is None:
        return AttemptEnd(outcome, True, CallbackState.FAILED, detail=detail,
                          reason=f"not answered after {done} attempts (last: {outcome.value})")
    return AttemptEnd(outcome, True, CallbackState.SCHEDULED, due, detail, f"retry after {outcome.value}")
