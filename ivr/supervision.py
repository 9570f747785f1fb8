"""Keeps each long-running component of ``ivr serve`` alive: one that fails after it started is
logged, counted and started again after a capped, jittered exponential backoff, while every other
component (and every live call they carry) goes on.

A component that cannot start the first time is different: that is a start-up error (a port in
use, a database that is not there) and ends the server with the component's own error, as before.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ivr.composition import Component

log = logging.getLogger("ivr.supervision")

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Backoff:
    """Exponential in the number of consecutive failures, capped, with "equal jitter": half of each
    delay is fixed (so it really grows) and half random (so restarts of many servers spread out)."""

    base: float = 0.5
    cap: float = 30.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        ceiling = min(self.cap, self.base * (2 ** min(attempt, 30)))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


class ComponentFailed(RuntimeError):
    """What a component that returned (instead of running until cancelled) is reported as."""


@dataclass
class ComponentStates:
    """Which components are running now; ``/ready`` reports the others as down."""

    running: dict[str, bool] = field(default_factory=dict)

    def down(self) -> list[str]:
        return [name for name, up in self.running.items() if not up]


@dataclass(frozen=True)
class SupervisionHooks:
    """What the supervisor reports to: the restart counter, the component states, and the sleep
    (a parameter so tests can watch the backoff without waiting for it)."""

    on_restart: Callable[[str], None] = lambda _name: None
    states: ComponentStates = field(default_factory=ComponentStates)
    sleep: Sleep = asyncio.sleep
    rng: random.Random = field(default_factory=random.Random)


class Supervisor:
    """Runs one component: ``started`` is set once its first run started; it raises the component's
    error if that first run fails before starting; later failures restart it, forever, until cancelled."""

    def __init__(self, component: Component, backoff: Backoff, hooks: SupervisionHooks) -> None:
        self.component = component
        self.name = component.name
        self._backoff = backoff
        self._hooks = hooks
        self.started = asyncio.Event()
        self.restarts = 0

    async def run(self) -> None:
        try:
            task, up = await self._spawn_and_check()
            if not up:
                task.result()  # the first start failed: a start-up error, raised as the component's own
                raise ComponentFailed(f"component {self.name} ended before it started")
            self.started.set()
            await self._keep_alive(task)
        finally:
            self._set_running(False)

    async def _keep_alive(self, task: asyncio.Task[None]) -> None:
        loop = asyncio.get_running_loop()
        attempt = 0
        began = loop.time()
        while True:
            await _until_done(task)
            self._set_running(False)
            if loop.time() - began >= self._backoff.cap:
                attempt = 0  # it ran well for a while: a new failure, not a repeated one
            delay = self._backoff.delay(attempt, self._hooks.rng)
            self._report(task, delay)
            attempt += 1
            await self._hooks.sleep(delay)
            # A run that fails again while starting is done at once: the next turn reports it and waits longer.
            task, _ = await self._spawn_and_check()
            began = loop.time()

    async def _spawn_and_check(self) -> tuple[asyncio.Task[None], bool]:
        """Start one run with a fresh ``started`` event; True once it started, False if it ended first."""
        started = asyncio.Event()
        task = asyncio.create_task(self.component.run(started), name=self.name)
        waiter = asyncio.create_task(started.wait(), name=f"{self.name}-started")
        try:
            await asyncio.wait({waiter, task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            if not task.done() and not started.is_set():
                # cancelled while it was starting (shutdown): stop it before we go
                task.cancel()
                await asyncio.wait({task})
        # Started counts even if it already ended too: that is a failure after start, restarted.
        self._set_running(started.is_set() and not task.done())
        return task, started.is_set()

    def _report(self, task: asyncio.Task[None], delay: float) -> None:
        error = _failure(task)
        self.restarts += 1
        self._hooks.on_restart(self.name)
        log.error(
            "component %s failed: %s: %s; restarting in %.2f s", self.name, type(error).__name__, error, delay,
            exc_info=error, extra={"component": self.name, "retry_in": round(delay, 3), "restarts": self.restarts},
        )

    def _set_running(self, up: bool) -> None:
        self._hooks.states.running[self.name] = up


async def _until_done(task: asyncio.Task[None]) -> None:
    """Wait for the component's run to end; if we are cancelled (shutdown), cancel it and let it drain."""
    try:
        await asyncio.wait({task})
    finally:
        if not task.done():
            task.cancel()
            await asyncio.wait({task})


def _failure(task: asyncio.Task[None]) -> BaseException:
    if task.cancelled():
        return ComponentFailed("it was cancelled from inside")
    error = task.exception()
    return error if error is not None else ComponentFailed("it returned instead of running until cancelled")
