"""Policy decisions, pure: parsing, sources, retries, merges (numbers, zones and quiet hours:
tests/contact)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from callbacks.errors import PolicyConfigError
from callbacks.models import AttemptOutcome, CallbackState
from callbacks.policy import (
    CallbackMode,
    QueuePolicy,
    after_attempt,
    context_richness,
    is_expired,
    parse_policy,
    refusal,
    retry_due,
    richer_context,
)
from ivr.contact import QuietHours
from ivr.ports import CallbackSource

QUIET = QuietHours(time(21), time(9))


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_defaults_when_the_queue_has_no_callback_section() -> None:
    policy = parse_policy(None)
    assert policy == QueuePolicy()
    assert policy.enabled and policy.sources == frozenset(CallbackSource)
    assert policy.mode is CallbackMode.AGENT_FIRST and policy.max_attempts == 3


def test_parse_full_mapping() -> None:
    policy = parse_policy({
        "sources": {"abandon": False}, "mode": "customer_first", "schedule": "support",
        "quiet_hours": {"start": "20:30", "end": "08:00"}, "max_attempts": 5, "retry_delays": [60, 120],
        "caller_id": "+34910000001", "min_wait_seconds": 45,
    })
    assert CallbackSource.ABANDON not in policy.sources and CallbackSource.API in policy.sources
    assert policy.mode is CallbackMode.CUSTOMER_FIRST and policy.schedule == "support"
    assert policy.quiet_hours == QuietHours(time(20, 30), time(8))
    assert policy.retry_delays == (60.0, 120.0) and policy.caller_id == "+34910000001"
    assert parse_policy({"sources": ["api", "agent"]}).sources == {CallbackSource.API, CallbackSource.AGENT}
    assert parse_policy({"quiet_hours": None}).quiet_hours is None


@pytest.mark.parametrize("raw, message", [
    ({"colour": "red"}, "unknown keys"),
    ({"mode": "whenever"}, "whenever"),
    ({"sources": ["abandon", "pigeon"]}, "pigeon"),
    ({"quiet_hours": {"start": "21:00"}}, "start and end"),
    ({"max_attempts": 0}, "at least 1"),
    ({"retry_delays": []}, "non-empty"),
])
def test_parse_errors_are_clear(raw: dict[str, object], message: str) -> None:
    with pytest.raises(PolicyConfigError, match=message):
        parse_policy(raw, where="queue support: callback")


@pytest.mark.parametrize("policy, source, waited, refused", [
    (QueuePolicy(), CallbackSource.ABANDON, 5.0, "minimum wait"),
    (QueuePolicy(), CallbackSource.ABANDON, 25.0, None),
    (QueuePolicy(), CallbackSource.QUEUE_KEY, 0.0, None),
    (QueuePolicy(enabled=False), CallbackSource.API, 0.0, "off for this queue"),
    (QueuePolicy(sources=frozenset({CallbackSource.API})), CallbackSource.PAGE, 0.0, "from page are off"),
])
def test_refusal_table(policy: QueuePolicy, source: CallbackSource, waited: float, refused: str | None) -> None:
    why = refusal(policy, source, waited_seconds=waited)
    assert (why is None) if refused is None else (why is not None and refused in why)


def test_retries_count_from_the_last_attempt() -> None:
    policy = QueuePolicy(max_attempts=3, retry_delays=(60.0, 600.0))
    end = utc(2026, 1, 1, 10)
    assert retry_due(policy, attempts_done=1, last_ended=end) == end + timedelta(seconds=60)
    assert retry_due(policy, attempts_done=2, last_ended=end) == end + timedelta(seconds=600)
    assert retry_due(policy, attempts_done=3, last_ended=end) is None
    longer = QueuePolicy(max_attempts=9, retry_delays=(60.0, 600.0))
    assert retry_due(longer, attempts_done=7, last_ended=end) == end + timedelta(seconds=600)  # last delay repeats


@pytest.mark.parametrize("before, outcome, counted, state, delay", [
    (0, AttemptOutcome.ANSWERED, True, CallbackState.COMPLETED, None),
    (0, AttemptOutcome.BUSY, True, CallbackState.SCHEDULED, 60),
    (1, AttemptOutcome.NO_ANSWER, True, CallbackState.SCHEDULED, 600),
    (2, AttemptOutcome.NO_ANSWER, True, CallbackState.FAILED, None),
    (2, AttemptOutcome.FAILED, False, CallbackState.SCHEDULED, 30),  # agent leg failed: not counted
])
def test_after_attempt(before: int, outcome: AttemptOutcome, counted: bool, state: CallbackState,
                       delay: int | None) -> None:
    policy = QueuePolicy(max_attempts=3, retry_delays=(60.0, 600.0))
    now = utc(2026, 1, 1, 10)
    end = after_attempt(policy, attempts_before=before, outcome=outcome, counted=counted, now=now,
                        retry_soon=timedelta(seconds=30))
    assert end.state is state and end.counted is counted
    assert end.due_at == (now + timedelta(seconds=delay) if delay is not None else None)


def test_expiry() -> None:
    policy = QueuePolicy(expire_after_hours=24)
    created = utc(2026, 1, 1)
    assert not is_expired(policy, created_at=created, now=created + timedelta(hours=23))
    assert is_expired(policy, created_at=created, now=created + timedelta(hours=25))


def test_merge_keeps_the_richer_context() -> None:
    thin = {"inputs": [], "variables": {}, "path": ["welcome"]}
    rich = {"inputs": [{"node": "menu", "digits": "2"}], "variables": {"need": "billing"}, "path": ["welcome", "menu"]}
    assert context_richness(rich) > context_richness(thin) > context_richness(None)
    assert richer_context(thin, rich) is rich
    assert richer_context(rich, thin) is rich
    assert richer_context(None, thin) is thin and richer_context(rich, None) is rich
