"""Safety at scale on the real PostgreSQL: dispatchers in separate processes (own engines and
pools) never dial a callback twice, and a dispatcher killed mid-dial loses nothing."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from datetime import timedelta

import pytest

from callbacks.models import AttemptOutcome
from callbacks.store import CallbackStore
from callbacks.values import NewCallback
from ivr.db import Database, utcnow
from ivr.ports import CallbackSource
from ivr.settings import PROJECT_ROOT
from tests.support.fake_pbx import FakePbx

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(120)]


async def seed(db: Database, n: int) -> list[str]:
    store = CallbackStore(db)
    now = utcnow()
    ids = []
    for i in range(n):
        cb, _ = await store.create_or_merge(NewCallback(
            number=f"+346001{i:05d}", queue="support", source=CallbackSource.API, arrival_time=now,
            due_at=now - timedelta(seconds=1), max_attempts=3), now=now)
        ids.append(cb.id)
    return ids


async def worker(db: Database, owner: str, *args: str) -> asyncio.subprocess.Process:
    url = db.url.replace("+asyncpg", "")
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.support.callbacks_worker", url, owner, *args,
        stdout=asyncio.subprocess.PIPE, cwd=str(PROJECT_ROOT), env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})


def dials(output: bytes) -> list[str]:
    return [line.split()[1] for line in output.decode().splitlines() if line.startswith("dial ")]


async def test_two_dispatcher_processes_never_dial_the_same_callback(pg_db: Database) -> None:
    ids = await seed(pg_db, 200)
    a, b = await worker(pg_db, "proc-a"), await worker(pg_db, "proc-b")
    (out_a, _), (out_b, _) = await asyncio.gather(a.communicate(), b.communicate())
    assert (a.returncode, b.returncode) == (0, 0), (out_a[-300:], out_b[-300:])
    dialled = Counter(dials(out_a) + dials(out_b))
    assert set(dialled) == set(ids)
    assert [i for i, n in dialled.items() if n > 1] == []  # no duplicates
    assert dials(out_a) and dials(out_b)  # both took a share
    store = CallbackStore(pg_db)
    assert await store.counts() == {"completed": 200}
    for callback_id in ids[:20]:
        cb = await store.get(callback_id)
        assert [a.outcome for a in cb.history] == [AttemptOutcome.ANSWERED]


async def test_a_dispatcher_killed_mid_dial_never_dials_twice_and_loses_nothing(pg_db: Database) -> None:
    """The PBX (this process) counts what it received; the doomed worker is SIGKILLed while its
    calls ring; the survivor settles every taken-over attempt without dialling it again."""
    ids = await seed(pg_db, 30)
    pbx = FakePbx(hold=asyncio.Event())
    port = await pbx.start()
    try:
        doomed = await worker(pg_db, "doomed", "--pbx", str(port), "--lease", "1.5",
                              "--mode", "customer_first")
        await pbx.wait_received(5, timeout=30)
        doomed.send_signal(signal.SIGKILL)  # mid-dial: its calls ring, its leases are held
        await doomed.wait()
        ringing = list(pbx.received)
        assert pbx.hold is not None
        pbx.hold.set()  # the customers answer the calls the dead dispatcher placed
        survivor = await worker(pg_db, "survivor", "--pbx", str(port), "--lease", "5",
                                "--mode", "customer_first")
        out, _ = await survivor.communicate()
        assert survivor.returncode == 0, out[-300:]
    finally:
        await pbx.close()
    received = Counter(cid for cid, _ in pbx.received)
    assert [cid for cid, n in received.items() if n > 1] == []  # dialled at most once, by the PBX's count
    assert set(received) == set(ids)  # and none lost
    store = CallbackStore(pg_db)
    assert await store.counts() == {"completed": 30}
    taken = await store.get(ringing[0][0])
    assert [(a.outcome, a.dispatcher, a.counted) for a in taken.history] == [
        (AttemptOutcome.ANSWERED, "doomed", True)]
    assert "taken over" in (taken.history[0].detail or "")
    assert set(dials(out)) <= set(ids) - {cid for cid, _ in ringing}
