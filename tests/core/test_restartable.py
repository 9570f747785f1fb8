"""Every component that ``ivr serve`` runs can be run again after its run ended: the supervisor
restarts a failed component by calling ``run`` again with a fresh ``started`` event."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ivr.channel import Channel
from ivr.composition import Component, build_container, server_components
from ivr.db import Database
from ivr.ports import Disposition
from tests.support.app import test_settings as cheap_settings  # aliased: pytest would collect test_*

DEADLINE = 15.0


async def run_until_started(component: Component) -> asyncio.Task[None]:
    started = asyncio.Event()
    task = asyncio.create_task(component.run(started), name=component.name)
    waiter = asyncio.create_task(started.wait())
    await asyncio.wait({task, waiter}, timeout=DEADLINE, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    if task.done():
        task.result()  # raises what went wrong
    assert started.is_set(), f"{component.name} did not start within {DEADLINE} s"
    return task


async def end(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.wait_for(asyncio.gather(task, return_exceptions=True), DEADLINE)


async def test_every_wired_component_runs_again_after_its_run_ended(sqlite_db: Database, tmp_path: Path) -> None:
    settings = cheap_settings(
        var_dir=tmp_path, database_url=sqlite_db.url, http={"port": 0}, agi={"port": 0},
        audiosocket={"port": 0}, sip={"port": 0}, ami={"enabled": True, "port": 1},  # AMI: nobody there, retries
        mqtt={"url": "mqtt://127.0.0.1:1"},
    )
    container = await build_container(settings, db=sqlite_db)
    components = server_components(container)
    names = [c.name for c in components]
    assert {"http", "agi", "audiosocket", "sip", "ami", "mqtt-publisher", "loop-lag", "acd"} <= set(names), names
    try:
        for component in components:
            first = await run_until_started(component)
            await end(first)
            second = await run_until_started(component)
            assert not second.done(), f"{component.name} ended right after its second start"
            await end(second)
    finally:
        await container.aclose()


async def test_the_agi_server_serves_calls_after_each_restart() -> None:
    from ivr.channels.agi.server import AgiServer
    from tests.agi.conftest import agi_settings
    from tests.agi.helpers import drive
    from tests.support.agi_driver import CallerModel, env_block

    class Engine:
        async def run(self, channel: Channel) -> Disposition:
            return Disposition.COMPLETED

    server = AgiServer(agi_settings(), engine=Engine())
    for _ in range(3):
        task = await run_until_started(server)
        model = CallerModel()
        await drive(server, model, env=env_block(script="support"))
        assert model.variables["PUENTE_RESULT"] == "done"
        await end(task)


async def test_a_taken_http_port_is_an_error_of_the_component_not_an_exit(sqlite_db: Database, tmp_path: Path) -> None:
    """uvicorn's own bind calls sys.exit() on "address in use": a restart on a briefly taken port
    would end the whole server. The HTTP component binds itself and raises a StartupError (one line
    naming the port and the setting) instead."""
    import socket

    from api.plugin import HttpServer
    from ivr.errors import StartupError

    with socket.create_server(("127.0.0.1", 0)) as holder:
        port = holder.getsockname()[1]
        settings = cheap_settings(var_dir=tmp_path, database_url=sqlite_db.url, http={"port": port})
        container = await build_container(settings, db=sqlite_db)
        try:
            with pytest.raises(StartupError, match=f"127.0.0.1:{port}: the port is already in use.*IVR_HTTP__PORT"):
                await asyncio.wait_for(HttpServer(container).run(asyncio.Event()), DEADLINE)
        finally:
            await container.aclose()
