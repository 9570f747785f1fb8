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

from callbacks.models import AttemptOutcome, CallbackState
from callbacks.store import LOST_LEASE_DETAIL, CallbackStore
from callbacks.values import NewCallback
from ivr.db import Database, utcnow
from ivr.ports import CallbackSource
from ivr.settings import PROJECT_ROOT

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


async def test_a_dispatcher_killed_mid_dial_loses_nothing(pg_db: Database) -> None:
    ids = await seed(pg_db, 30)
    doomed = await worker(pg_db, "doomed", "--hang", "--lease", "1.5")
    assert doomed.stdout is not None
    async with asyncio.timeout(30):
        first = await doomed.stdout.readline()
    assert first.startswith(b"dial ")
    doomed.send_signal(signal.SIGKILL)  # mid-dial, holding leases
    await doomed.wait()
    survivor = await worker(pg_db, "survivor", "--lease", "5")  # only the dead one's must run out
    out, _ = await survivor.communicate()
    assert survivor.returncode == 0, out[-300:]
    store = CallbackStore(pg_db)
    assert await store.counts() == {"completed": 30}
    lost = await store.get(first.split()[1].decode())
    assert lost.state is CallbackState.COMPLETED
    assert [(a.outcome, a.dispatcher) for a in lost.history] == [
        (AttemptOutcome.FAILED, "doomed"), (AttemptOutcome.ANSWERED, "survivor")]
    assert lost.history[0].detail == LOST_LEASE_DETAIL and not lost.history[0].counted
    assert set(dials(out)) <= set(ids)
