"""A dispatcher in its own process (own engine and pool), for the PostgreSQL safety tests.

``python -m tests.support.callbacks_worker URL OWNER [--pbx PORT] [--lease S]`` prints ``dial <id>``
for every dial (flushed at once) and exits when no callback is left to work (pending, scheduled or
dialing). ``--pbx PORT``: dial through a :class:`~tests.support.fake_pbx.FakePbx` on
127.0.0.1:PORT (the test's process: it records what it received, and can hold calls ringing so the
worker can be killed mid-dial).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from dataclasses import replace

from callbacks.dispatcher import CallbackDispatcher
from callbacks.ivr_handler import ScriptDeps
from callbacks.origination.base import OriginateRequest, OriginateResult
from callbacks.policy import CallbackMode, QueuePolicy
from callbacks.sessions import SessionRegistry
from ivr.db import Database
from ivr.events import EventBus
from ivr.settings import CallbackSettings
from tests.support.callbacks_fakes import InstantAcd, make_callbacks
from tests.support.fake_origination import FakeOriginator
from tests.support.fake_pbx import PbxOriginator

ANY_TIME = QueuePolicy(quiet_hours=None, retry_delays=(0.0,))


class PrintingOriginator(FakeOriginator):
    async def originate(self, request: OriginateRequest) -> OriginateResult:
        print(f"dial {request.callback_id}", flush=True)
        return await super().originate(request)


class PrintingPbxOriginator(PbxOriginator):
    async def originate(self, request: OriginateRequest) -> OriginateResult:
        print(f"dial {request.callback_id}", flush=True)
        return await super().originate(request)


async def main(url: str, owner: str, *, pbx: int | None, lease: float, timeout: float, mode: str) -> int:
    db = Database(url)
    settings = CallbackSettings(poll_interval=0.05, lease_seconds=lease, batch_size=20, max_active=50)
    bus, acd = EventBus(), InstantAcd()
    policy = replace(ANY_TIME, mode=CallbackMode(mode))
    service = make_callbacks(db, policies={"support": policy}, acd=acd, settings=settings, bus=bus)
    originator = PrintingPbxOriginator("127.0.0.1", pbx) if pbx else PrintingOriginator()
    dispatcher = CallbackDispatcher(service, originator=originator, acd=acd,
                                    sessions=SessionRegistry(), script=ScriptDeps(bus, None, acd),
                                    settings=settings, owner=owner)
    started = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(started))
    try:
        async with asyncio.timeout(timeout):
            while True:
                await asyncio.sleep(0.1)
                counts = await service.store.counts()
                if not any(counts.get(s, 0) for s in ("pending", "scheduled", "dialing")):  # needs_review: a person's
                    return 0
    except TimeoutError:
        print(f"timeout {await service.store.counts()}", flush=True)
        return 1
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await db.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("owner")
    parser.add_argument("--pbx", type=int, default=None)
    parser.add_argument("--mode", default=CallbackMode.AGENT_FIRST.value)
    parser.add_argument("--lease", type=float, default=5.0)
    parser.add_argument("--timeout", type=float, default=60.0)
    a = parser.parse_args()
    sys.exit(asyncio.run(main(a.url, a.owner, pbx=a.pbx, lease=a.lease, timeout=a.timeout, mode=a.mode)))
