"""The callbacks service: :class:`ivr.ports.CallbackPort` for the engine and the ACD, and the
admin operations of the CLI and the API."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from callbacks.errors import CallbackNotFound, InvalidTransition, PolicyConfigError
from callbacks.events import publish_state
from callbacks.language import callback_language
from callbacks.models import CallbackState
from callbacks.policy import QueuePolicy, parse_policy, refusal
from callbacks.store import CallbackStore
from callbacks.values import Callback, NewCallback
from ivr.acd.types import UnknownQueue
from ivr.contact import ConsentLookup, customer_zone, polite_time, to_e164
from ivr.db import utcnow
from ivr.events import EventBus
from ivr.logs import mask_number
from ivr.ports import CallbackRefused, CallbackRequest, CallbackSource, CallbackTicket
from ivr.settings import CallbackSettings, ContactSettings

log = logging.getLogger(__name__)


class PastCall(Protocol):
    """A recorded call (``ivr.calls.records.CallRecord``) as a callback's language needs it."""

    @property
    def language(self) -> str: ...


class CallHistory(Protocol):
    """The call records (``ivr.calls``): the number's latest calls, newest first."""

    async def calls_for_number(self, number: str, limit: int = 20) -> Sequence[PastCall]: ...


class OpenNow(Protocol):
    """A schedule's state at an instant (``ivr.schedules.model.ScheduleStatus``) as the calling window needs it."""

    @property
    def is_open(self) -> bool: ...


class Schedules(Protocol):
    async def status(self, name: str, at: datetime | None = None) -> OpenNow: ...

    def next_open(self, name: str, after: datetime) -> datetime | None: ...


class QueueExtras(Protocol):
    """A queue's settings (``ivr.acd.config.QueueConfig``) as the policies need them: the domains'
    own sections, as configured (``extra["callback"]``: parsed here)."""

    @property
    def extra(self) -> Mapping[str, Mapping[str, object]]: ...


class QueueSettings(Protocol):
    """The queues' settings (``ivr.acd.queuebook.QueueBook``, which the ACD keeps current)."""

    def queue_config(self, name: str) -> QueueExtras: ...

    def queue_names(self) -> list[str]: ...


class PolicyBook:
    """Each queue's policy, from the queue's settings (``extra["callback"]``), parsed once per change."""

    def __init__(self, queues: QueueSettings | None = None, overrides: dict[str, QueuePolicy] | None = None) -> None:
        self._queues = queues
        self._overrides = dict(overrides or {})
        # queue -> (the raw mapping it was parsed from, the policy): re-parsed when the ACD's
        # configuration changes (an admin edit), parsed once otherwise
        self._cache: dict[str, tuple[Mapping[str, object] | None, QueuePolicy]] = {}

    def policy(self, queue: str) -> QueuePolicy:
        override = self._overrides.get(queue)
        if override is not None:
            return override
        raw: Mapping[str, object] | None = None
        if self._queues is not None:
            try:
                raw = self._queues.queue_config(queue).extra.get("callback")
            except UnknownQueue:  # an unknown queue: the defaults (known_queue refuses it where it matters)
                raw = None
        cached = self._cache.get(queue)
        if cached is not None and cached[0] == raw:
            return cached[1]
        try:
            policy = parse_policy(raw, where=f"queue {queue}: callback")
        except PolicyConfigError:
            log.exception("invalid callback policy: callbacks are off for this queue", extra={"queue": queue})
            policy = QueuePolicy(enabled=False)
        self._cache[queue] = (dict(raw) if isinstance(raw, dict) else raw, policy)
        return policy

    def known_queue(self, queue: str) -> bool:
        """False only when there are queue settings and they do not know the queue."""
        if self._queues is None:
            return True
        return queue in self._queues.queue_names()


class CallbackService:
    def __init__(self, store: CallbackStore, bus: EventBus, settings: CallbackSettings, *,
                 policies: PolicyBook | None = None, optouts: ConsentLookup | None = None,
                 schedules: Schedules | None = None, history: CallHistory | None = None,
                 languages: Sequence[str] = ("es", "en"), default_language: str = "es",
                 contact: ContactSettings | None = None, clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.contact = contact or ContactSettings()
        self._history = history
        self.languages = tuple(languages)
        self.default_language = default_language
        self.bus = bus
        self.settings = settings
        self.policies = policies or PolicyBook()
        self._optouts = optouts
        self._schedules = schedules
        self.clock = clock

    # ------------------------------------------------------------------ CallbackPort
    async def request(self, req: CallbackRequest) -> CallbackTicket:
        number = self.normalise(req.number)
        if not self.policies.known_queue(req.queue):
            raise CallbackRefused(f"unknown queue {req.queue!r}")
        policy = self.policies.policy(req.queue)
        why = refusal(policy, req.source, waited_seconds=req.waited_seconds)
        if why is not None:
            raise CallbackRefused(why)
        if await self.opted_out(number):
            raise CallbackRefused("the number has opted out of contact")
        now = self.clock()
        zone = self.zone_name(req.timezone)
        earliest = max(now, req.not_before) if req.not_before else now
        due = await self.next_allowed(number, earliest, policy, zone)
        if req.exact and (req.not_before is None or due != req.not_before):
            raise CallbackRefused("that time is not available for a callback")
        arrival = req.arrival_time or (now - timedelta(seconds=max(req.waited_seconds, 0.0)))
        language = await self.language_for(number, req.language)
        new = NewCallback(number=number, queue=req.queue, source=req.source, arrival_time=arrival, due_at=due,
                          max_attempts=policy.max_attempts, language=language,
                          waited_seconds=req.waited_seconds, position=req.position,
                          context=req.context.to_dict() if req.context else None, timezone=zone)
        callback, merged = await self.store.create_or_merge(new, now=now)
        if req.exact and merged and callback.due_at != due and not callback.lease_owner:
            # The customer chose this instant: a waiting callback for the pair moves to it.
            callback = await self.store.reschedule(callback.id, at=due, now=now, timezone=zone)
        log.info("callback %s", "merged" if merged else "requested", extra={
            "callback_id": callback.id, "queue": req.queue, "source": req.source.value,
            "number": mask_number(number), "due_at": callback.due_at.isoformat()})
        publish_state(self.bus, callback.id, callback.queue, callback.state.value,
                      "merged" if merged else None)
        return CallbackTicket(callback_id=callback.id, scheduled_for=callback.due_at, merged=merged)

    async def reached_agent(self, number: str, queue: str) -> None:
        try:
            e164 = self.normalise(number)
        except CallbackRefused:
            return  # an anonymous or odd caller id has no callback to cancel
        for callback_id in await self.store.cancel_active(e164, queue, reason="reached an agent",
                                                          now=self.clock()):
            log.info("callback cancelled: the caller reached an agent", extra={"callback_id": callback_id})
            publish_state(self.bus, callback_id, queue, CallbackState.CANCELLED.value, "reached_agent")

    # ------------------------------------------------------------------ policy helpers
    async def language_for(self, e164: str, chosen: str | None) -> str:
        """The caller's choice, else the number's latest call, else its country, else the default."""
        earlier = None if chosen in self.languages else await self._latest_language(e164)
        return callback_language(chosen=chosen, history=earlier, number=e164, supported=self.languages,
                                 default=self.default_language)

    async def _latest_language(self, e164: str) -> str | None:
        history = self._history
        if history is None:
            return None
        try:
            national = str(phonenumbers.parse(e164, None).national_number)
        except phonenumbers.NumberParseException:
            national = e164
        # caller ids arrive as the trunk sends them: E.164, or national digits
        for form in dict.fromkeys((e164, e164.lstrip("+"), national)):
            try:
                calls = await history.calls_for_number(form, limit=5)
            except Exception:  # the history is a hint: a failing store never refuses a callback
                log.exception("could not read the number's call history")
                return None
            for call in calls:
                if call.language in self.languages:
                    return call.language
        return None

    def normalise(self, number: str) -> str:
        return to_e164(number, self.contact.default_region)

    async def opted_out(self, number: str) -> bool:
        registry = self._optouts
        return registry is not None and await registry.is_opted_out(number)

    def caller_id(self, policy: QueuePolicy) -> str:
        return policy.caller_id or self.settings.caller_id

    def zone_name(self, name: str | None) -> str | None:
        """A valid IANA zone name, else None (an unknown name is ignored, not trusted)."""
        if not name:
            return None
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            log.warning("unknown time zone ignored", extra={"timezone": name[:64]})
            return None
        return name

    async def next_allowed(self, number: str, at: datetime, policy: QueuePolicy,
                           timezone: str | None = None) -> datetime:
        """The first instant at or after ``at`` that is polite for the customer and inside the
        queue's calling window (``timezone``: the customer's chosen zone, else the number's)."""
        schedules = self._schedules if policy.schedule else None
        for _ in range(16):
            zone = customer_zone(number, self.contact.default_timezone, timezone)
            polite = polite_time(at, zone, policy.quiet_hours)
            if schedules is None or policy.schedule is None:
                return polite
            status = await schedules.status(policy.schedule, polite)
            if status.is_open:
                return polite
            opening = schedules.next_open(policy.schedule, polite)
            at = opening if opening is not None and opening > polite else polite + timedelta(hours=1)
        return at

    # ------------------------------------------------------------------ admin (CLI, API)
    async def create(self, number: str, queue: str, *, at: datetime | None = None,
                     source: CallbackSource = CallbackSource.API, language: str | None = None) -> CallbackTicket:
        return await self.request(CallbackRequest(number=number, queue=queue, source=source, not_before=at,
                                                  language=language))

    async def cancel(self, callback_id: str, *, reason: str = "cancelled by staff") -> Callback:
        callback = await self.store.cancel(callback_id, reason=reason, now=self.clock())
        publish_state(self.bus, callback.id, callback.queue, callback.state.value, "cancelled")
        return callback

    async def bookable(self, number: str, queue: str, candidates: Sequence[datetime],
                       timezone: str | None = None) -> list[datetime]:
        """Those of ``candidates`` a customer may book exactly (the landing page's slots): the
        queue takes page callbacks and each instant is polite and inside the calling window."""
        try:
            e164 = self.normalise(number)
        except CallbackRefused:
            return []
        if not self.policies.known_queue(queue):
            return []
        policy = self.policies.policy(queue)
        if refusal(policy, CallbackSource.PAGE, waited_seconds=0.0) is not None:
            return []
        zone = self.zone_name(timezone)
        return [at for at in candidates if await self.next_allowed(e164, at, policy, zone) == at]

    async def rebook(self, callback_id: str, *, at: datetime, timezone: str | None = None) -> Callback:
        """The customer moves their callback to ``at`` (exactly, or :class:`CallbackRefused`)."""
        try:
            current = await self.store.get(callback_id, with_attempts=False)
            zone = self.zone_name(timezone) or current.timezone
            policy = self.policies.policy(current.queue)
            if at < self.clock() or await self.next_allowed(current.number, at, policy, zone) != at:
                raise CallbackRefused("that time is not available for a callback")
            return await self.reschedule(callback_id, at=at, timezone=zone)
        except (CallbackNotFound, InvalidTransition) as exc:
            raise CallbackRefused(str(exc)) from None

    async def withdraw(self, callback_id: str, *, reason: str) -> Callback:
        """The customer cancels their callback (the page): :class:`CallbackRefused` when it is gone,
        already final, or being dialled."""
        try:
            current = await self.store.get(callback_id, with_attempts=False)
            if current.state is CallbackState.DIALING:
                raise CallbackRefused("the callback is being dialled")
            return await self.cancel(callback_id, reason=reason)
        except (CallbackNotFound, InvalidTransition) as exc:
            raise CallbackRefused(str(exc)) from None

    async def booking(self, callback_id: str) -> Callback | None:
        try:
            return await self.store.get(callback_id, with_attempts=False)
        except CallbackNotFound:
            return None

    async def reschedule(self, callback_id: str, *, at: datetime, timezone: str | None = None) -> Callback:
        callback = await self.store.reschedule(callback_id, at=at, now=self.clock(), timezone=timezone)
        publish_state(self.bus, callback.id, callback.queue, callback.state.value, "rescheduled")
        return callback

    async def get(self, callback_id: str) -> Callback:
        return await self.store.get(callback_id)

    async def find(self, *, state: CallbackState | None = None, queue: str | None = None,
                   number: str | None = None, limit: int = 100, handled_by: str | None = None) -> list[Callback]:
        return await self.store.find(state=state, queue=queue, number=number, limit=limit, handled_by=handled_by)

    async def belongs_to(self, callback_id: str, agent_id: str) -> bool:
        """Whether the agent dialled this callback or handled the call it was asked for on."""
        return await self.store.belongs_to(callback_id, agent_id)
