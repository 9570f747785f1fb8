"""One contact centre on several nodes needs PostgreSQL: a node starting on SQLite while another
node is live there refuses to start with one line naming the fix; on PostgreSQL it joins."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from ivr.db import Database, utcnow
from ivr.events import EventBus
from ivr.nodes.models import NodeRow
from ivr.nodes.service import NodeHeartbeat, NodeIdentity, NodeStore
from ivr.settings import ConfigurationError, NodeSettings
from tests.sipp.sipp import free_port

ROOT = Path(__file__).resolve().parents[2]
IVR = str(Path(sys.executable).parent / "ivr")
SETTINGS = NodeSettings(id="node-a", heartbeat_seconds=5.0, stale_after_seconds=30.0)


async def _row(db: Database, owner: str, node: str, *, age: timedelta, stopped: bool = False) -> None:
    seen = utcnow() - age
    async with db.session() as s:
        s.add(NodeRow(owner=owner, node=node, host="h", pid=1, started_at=seen, last_seen=seen,
                      stopped_at=seen if stopped else None))


def _heartbeat(db: Database) -> NodeHeartbeat:
    return NodeHeartbeat(NodeStore(db), NodeIdentity("node-a", "node-a:now"), EventBus(), SETTINGS)


async def test_a_second_live_node_on_sqlite_is_refused(sqlite_db: Database) -> None:
    await _row(sqlite_db, "node-b:1", "node-b", age=timedelta(seconds=2))
    with pytest.raises(ConfigurationError, match=r"node 'node-b' is running on this SQLite database.*PostgreSQL"):
        await _heartbeat(sqlite_db).refuse_a_second_node_on_sqlite()


async def test_stale_stopped_or_own_rows_do_not_block_a_start_on_sqlite(sqlite_db: Database) -> None:
    await _row(sqlite_db, "node-b:1", "node-b", age=timedelta(minutes=5))  # dead (stale heartbeat)
    await _row(sqlite_db, "node-c:1", "node-c", age=timedelta(seconds=1), stopped=True)  # stopped cleanly
    await _row(sqlite_db, "node-a:before", "node-a", age=timedelta(seconds=1))  # this node, restarted
    await _heartbeat(sqlite_db).refuse_a_second_node_on_sqlite()


@pytest.mark.postgres
async def test_several_live_nodes_on_postgresql_are_fine(pg_db: Database) -> None:
    await _row(pg_db, "node-b:1", "node-b", age=timedelta(seconds=2))
    await _heartbeat(pg_db).refuse_a_second_node_on_sqlite()


def _serve_env(db: Database, tmp_path: Path) -> dict[str, str]:
    db_file = db.url.split(":///", 1)[1]
    env = {**os.environ, "IVR_VAR_DIR": str(tmp_path / "var"), "IVR_DATABASE_URL": f"sqlite:///{db_file}",
           "IVR_HTTP__PORT": str(free_port(kind=1)), "IVR_AGI__PORT": str(free_port(kind=1)),
           "IVR_AUDIOSOCKET__PORT": str(free_port(kind=1)), "IVR_SIP__ENABLED": "false",
           "IVR_SIP__PORT": str(free_port()), "IVR_AMI__ENABLED": "false", "IVR_CALLBACKS__DISPATCH": "false",
           "IVR_NODE__ID": "node-a", "PYTHONPATH": str(ROOT)}
    env.pop("IVR_CONFIG", None)
    return env


async def _serve(env: dict[str, str]) -> list[str]:
    done = await asyncio.to_thread(subprocess.run, [IVR, "serve"], check=False, env=env, cwd=ROOT,
                                   capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    return [line for line in done.stderr.splitlines() if line.startswith("Error:")]


async def test_ivr_serve_refuses_a_second_node_on_sqlite_in_one_line(sqlite_db: Database, tmp_path: Path) -> None:
    await _row(sqlite_db, "node-b:1", "node-b", age=timedelta(seconds=1))
    errors = await _serve(_serve_env(sqlite_db, tmp_path))
    assert errors == ["Error: node 'node-b' is running on this SQLite database: several nodes need PostgreSQL "
                      "(set IVR_DATABASE_URL=postgresql://...), or stop that node first"]


async def test_ivr_serve_refuses_the_shared_acd_on_sqlite_in_one_line(sqlite_db: Database, tmp_path: Path) -> None:
    errors = await _serve({**_serve_env(sqlite_db, tmp_path), "IVR_ACD__SHARED": "true"})
    assert errors == ["Error: IVR_ACD__SHARED=true needs PostgreSQL: set IVR_DATABASE_URL=postgresql://... "
                      "(or IVR_ACD__SHARED=false for one node)"]
