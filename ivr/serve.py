"""``ivr serve``: run every component of the composition root in one TaskGroup, each supervised."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Callable, Sequence

import click

from ivr import loops
from ivr.composition import Component, Container, build_container, server_components
from ivr.db.readiness import require_ready
from ivr.logs import configure_logging
from ivr.loops import EventLoopUnavailable
from ivr.settings import ConfigurationError, Settings
from ivr.supervision import Backoff, SupervisionHooks, Supervisor

log = logging.getLogger("ivr.serve")


def warn_deprecated_settings(settings: Settings) -> None:
    """One warning per old setting name still in use (settings load before logging is set up)."""
    for old in settings.deprecated_keys:
        key = old.split(".", 1)[1]
        log.warning("deprecated setting name: still read, rename it",
                    extra={"setting": old, "use": f"contact.{key} (IVR_CONTACT__{key.upper()})"})


async def run_server(settings: Settings, *, stop: asyncio.Event | None = None,
                     on_up: Callable[[], None] | None = None) -> None:
    """Run until ``stop`` is set (or SIGINT/SIGTERM), then shut down gracefully; ``on_up`` is called
    once every component has started."""
    stop = stop or asyncio.Event()
    container = await build_container(settings)
    loop = asyncio.get_running_loop()
    log.info("event loop", extra={"loop": f"{type(loop).__module__}.{type(loop).__name__}"})
    warn_deprecated_settings(settings)
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not in the main thread
            loop.add_signal_handler(sig, stop.set)
    try:
        await _run_components(server_components(container), stop, hooks=_hooks(container), settings=settings,
                              on_up=on_up)
    finally:
        await container.aclose()


async def _run_components(components: Sequence[Component], stop: asyncio.Event, *, hooks: SupervisionHooks,
                          settings: Settings, on_up: Callable[[], None] | None = None) -> None:
    backoff = Backoff(base=settings.supervision.restart_base_delay, cap=settings.supervision.restart_max_delay)
    async with asyncio.TaskGroup() as tg:
        tasks = []
        for component in components:
            # Each component runs under a supervisor: one that fails after it started is restarted
            # (with backoff) while the others go on; one that cannot start is a start-up error.
            supervisor = Supervisor(component, backoff, hooks)
            task = tg.create_task(supervisor.run(), name=f"supervise-{component.name}")
            tasks.append(task)
            waiter = asyncio.ensure_future(supervisor.started.wait())
            done, _ = await asyncio.wait({waiter, task}, return_when=asyncio.FIRST_COMPLETED)
            if waiter not in done:
                waiter.cancel()
                task.result()  # the component failed to start: raise its error
            log.info("component started", extra={"component": component.name})
        # Everything alive now (modules, settings, flows, prompts, models) lives as long as the
        # server: out of the collector's reach, a full collection scans only the calls' objects
        # instead of the whole heap (a pause every live caller's next command would wait behind).
        gc.freeze()
        log.info("puente is up", extra={"components": [c.name for c in components]})
        if on_up is not None:
            on_up()
        await stop.wait()
        log.info("shutting down")
        # Reverse start order: HTTP and telephony stop first and drain their live calls while the
        # call recorder, the ACD and the dispatchers those calls use are still running.
        for task in reversed(tasks):
            task.cancel()
            await asyncio.wait({task})


def _hooks(container: Container) -> SupervisionHooks:
    """Restarts are counted in the metrics; the components' states are what ``/ready`` reports."""
    restarts = container.observability.metrics.component_restarts
    return SupervisionHooks(on_restart=lambda name: restarts.labels(name).inc(),
                            states=container.observability.component_states)


@click.command("serve")
@click.pass_obj
def serve_command(settings: Settings) -> None:
    """Run the server: HTTP API and pages, FastAGI, AudioSocket, built-in SIP, dispatchers."""
    require_ready(settings)  # a missing or unmigrated database: one line naming `ivr db upgrade`
    startup = configure_logging(settings, hold_startup=True)
    assert startup is not None
    try:
        loops.run(run_server(settings, on_up=lambda: startup.write_held(failed=False)), settings.event_loop)
    except (EventLoopUnavailable, ConfigurationError) as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        # A start that failed (the CLI prints the error as one line) shows only its warnings and
        # errors; once the server was up everything has been written already.
        startup.write_held(failed=True)
