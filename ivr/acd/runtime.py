"""Long-running parts of the ACD inside ``ivr serve``: state persistence + polling, and the AMI feed."""

from __future__ import annotations

import asyncio
import logging

from ivr.acd.service import AcdService
from ivr.acd.store import AcdStore
from ivr.ami.client import AmiClient
from ivr.ami.events import DeviceStateChange, Resynced

log = logging.getLogger(__name__)


class AcdRuntime:
    """Loads the ACD from the database at start, then every ``tick`` ends wrap-ups and routes, and
    every ``poll`` applies agent state changes made by other processes (``ivr agents set-state``)
    and writes agent states and the live waiting snapshot that ``ivr queues status`` reads."""

    name = "acd"

    def __init__(self, service: AcdService, store: AcdStore, *, tick: float = 0.5, poll: float = 1.0) -> None:
        self.service = service
        self.store = store
        self.tick = tick
        self.poll = poll
        self._loaded = False

    async def run(self, started: asyncio.Event) -> None:
        if not self._loaded:
            await self.service.load()
            # Loaded once: after a restart the service in memory (live offers, contacts) is the truth.
            self._loaded = True
        await self.flush()
        started.set()
        loop = asyncio.get_running_loop()
        next_poll = loop.time() + self.poll
        while True:
            await asyncio.sleep(self.tick)
            self.service.tick()
            if loop.time() >= next_poll:
                next_poll = loop.time() + self.poll
                await self.poll_once()

    async def poll_once(self) -> None:
        try:
            commands = await self.store.commands_after(self.service.last_command_id)
            self.service.apply_commands([(c.command_id, c.agent_id, c.state) for c in commands])
            await self.flush()
        except Exception:  # the database may be briefly away; calls go on, we retry next poll
            log.exception("acd persistence failed")

    async def flush(self) -> None:
        dirty = self.service.take_dirty_agents()
        if dirty:
            await self.store.save_agent_states(dirty)
        if self.service.live_dirty or self.service.router.entries:
            self.service.live_dirty = False
            waiting, live = self.service.live_snapshot()
            await self.store.replace_live(waiting, live)


class AmiDeviceFeed:
    """Agent states from Asterisk device states (live events and the resync after each login)."""

    name = "acd-ami"

    def __init__(self, service: AcdService, ami: AmiClient) -> None:
        self.service = service
        self.ami = ami

    async def run(self, started: asyncio.Event) -> None:
        with self.ami.subscribe("DeviceStateChange", "Resynced") as sub:
            started.set()
            while True:
                self.apply(await sub.get())

    def apply(self, event: object) -> None:
        if isinstance(event, DeviceStateChange):
            self.service.device_state(event.device, event.state)
        elif isinstance(event, Resynced):
            for device in event.devices:
                self.service.device_state(device.device, device.state)
