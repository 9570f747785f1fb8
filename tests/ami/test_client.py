"""panoramisk driven for real against a fake AMI server replaying the real Asterisk captures."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ivr.ami.client import AmiClient, AmiSubscription, backoff_delay
from ivr.ami.errors import AmiNotConnected
from ivr.ami.events import (
    AmiConnected,
    AmiDisconnected,
    AmiEvent,
    DeviceStateChange,
    OriginateResponse,
    Resynced,
    Shutdown,
)
from ivr.settings import AmiSettings
from tests.support.ami_server import Block, FakeAmiServer, events, load_capture, responses_to

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def captures(asterisk_captures: Path) -> dict[str, list[Block]]:
    r2 = asterisk_captures / "round2"
    return {
        "restart": load_capture(r2 / "ami-reconnect-core-restart-idle.txt"),
        "devstate": load_capture(r2 / "ami-devstate-registration.txt"),
        "answered": load_capture(asterisk_captures / "ami-events-queue-answered.txt"),
        "originate": load_capture(r2 / "ami-originate-ok-pjsip.txt"),
    }


def make_server(c: dict[str, list[Block]]) -> FakeAmiServer:
    restart = c["restart"]
    return FakeAmiServer(
        login=responses_to(restart, "Login")[:1],
        after_login=responses_to(restart, "Login")[1:],  # FullyBooted + SuccessfulAuth (first session)
        answers={
            "devicestatelist": responses_to(c["devstate"], "DeviceStateList"),
            "coreshowchannels": responses_to(c["answered"], "CoreShowChannels"),
            "corestatus": responses_to(restart, "CoreStatus"),
            "originate": responses_to(c["originate"], "Originate"),
            "ping": [],  # never answered: a test drops the connection meanwhile
        },
    )


@pytest.fixture
async def server(captures: dict[str, list[Block]]) -> AsyncIterator[FakeAmiServer]:
    srv = make_server(captures)
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


def settings_for(port: int, secret: str = "labsecret") -> AmiSettings:
    return AmiSettings(enabled=True, host="127.0.0.1", port=port, username="labadmin", secret=secret,
                       reconnect_max_delay=0.2)


async def next_of(sub: AmiSubscription, kind: type[AmiEvent]) -> AmiEvent:
    async with asyncio.timeout(10):
        while True:
            event = await sub.get()
            if isinstance(event, kind):
                return event


async def test_login_resync_and_typed_events(server: FakeAmiServer, captures: dict[str, list[Block]]) -> None:
    client = AmiClient(settings_for(server.port), initial_delay=0.02)
    sub = client.subscribe("*")
    async with client:
        resynced = await next_of(sub, Resynced)
        assert isinstance(resynced, Resynced)
        assert [(d.device, d.state) for d in resynced.devices] == [
            ("PJSIP/agent1", "NOT_INUSE"), ("PJSIP/agent2", "UNAVAILABLE"),
            ("Queue:support_pause_PJSIP/agent1", "NOT_INUSE"), ("Queue:support_avail", "NOT_INUSE"),
            ("PJSIP/sipp", "UNAVAILABLE")]
        assert [ch.channel for ch in resynced.channels] == ["PJSIP/sipp-00000006", "PJSIP/agent1-00000007"]
        assert client.connected
        registration = [b for b in events(captures["devstate"], "DeviceStateChange") if not b.header("ActionID")]
        await server.push(registration[:2])
        first = await next_of(sub, DeviceStateChange)
        assert isinstance(first, DeviceStateChange) and (first.device, first.state) == ("PJSIP/agent2", "NOT_INUSE")
    assert [m["action"] for m in server.received] == ["Login", "DeviceStateList", "CoreShowChannels"]
    assert server.received[0]["username"] == "labadmin"
    assert not client.connected


async def test_originate_async_returns_the_correlated_response(server: FakeAmiServer) -> None:
    client = AmiClient(settings_for(server.port), initial_delay=0.02)
    originates = client.subscribe("OriginateResponse")
    async with client:
        await client.wait_connected(15)
        reply = await client.send_action({
            "Action": "Originate", "ActionID": "cb-42-1", "Channel": "PJSIP/agent1", "Context": "callback-agi",
            "Exten": "s", "Priority": "1", "Async": "true", "Variable": "CALLBACK_ID=cb42"}, timeout=5)
        assert [m.response for m in reply] == ["Success", "Success"]
        assert reply[0].get("Message") == "Originate successfully queued"
        assert reply[1].event == "OriginateResponse" and reply[1].action_id == "cb-42-1"
        published = await next_of(originates, OriginateResponse)
        assert isinstance(published, OriginateResponse) and published.reason == 4 and published.success


async def test_core_restart_shutdown_then_reconnect_and_resync(server: FakeAmiServer,
                                                               captures: dict[str, list[Block]]) -> None:
    client = AmiClient(settings_for(server.port), initial_delay=0.02, rng=random.Random(1))
    sub = client.subscribe("*")
    async with client:
        await next_of(sub, Resynced)
        # Asterisk restarts: "Event: Shutdown", a clean close, refused connections, then it is back;
        # the second login is answered before FullyBooted (round2 README section 6)
        await server.push(events(captures["restart"], "Shutdown"))
        await server.stop()
        shutdown = await next_of(sub, Shutdown)
        assert isinstance(shutdown, Shutdown) and shutdown.restart
        gone = await next_of(sub, AmiDisconnected)
        assert isinstance(gone, AmiDisconnected) and gone.reason == "shutdown"
        second = responses_to(captures["restart"], "Login", nth=1)
        server.login, server.after_login = second[:1], second[1:]
        assert [b.header("Event") for b in server.after_login][-1] == "FullyBooted"
        await server.start()
        back = await next_of(sub, AmiConnected)
        assert isinstance(back, AmiConnected) and back.session == 2
        resynced = await next_of(sub, Resynced)
        assert isinstance(resynced, Resynced) and resynced.session == 2 and len(resynced.devices) == 5
    assert server.logins == 2
    assert [m["action"] for m in server.received].count("DeviceStateList") == 2
    assert client.sessions == 2


async def test_pending_action_fails_when_the_connection_drops(server: FakeAmiServer) -> None:
    client = AmiClient(settings_for(server.port), initial_delay=0.02)
    sub = client.subscribe("AmiDisconnected")
    async with client:
        await client.wait_connected(15)
        pending = asyncio.create_task(client.send_action({"Action": "Ping"}, timeout=20))
        async with asyncio.timeout(15):
            while not any(m.get("action") == "Ping" for m in server.received):
                await asyncio.sleep(0.01)
        await server.close_clients()  # end of stream
        with pytest.raises(AmiNotConnected):
            await pending
        await next_of(sub, AmiDisconnected)
        with pytest.raises(AmiNotConnected):
            await client.send_action({"Action": "CoreStatus"})
        await client.wait_connected(15)  # and it comes back by itself
        status = await client.send_action({"Action": "CoreStatus"})
        assert status[0].get("CoreStartupTime") == "09:38:45"


async def test_refused_and_bad_login_are_retried(captures: dict[str, list[Block]]) -> None:
    srv = make_server(captures)
    srv.secret = "other"
    await srv.start()
    port = srv.port
    await srv.stop()  # nothing listens: connection refused
    client = AmiClient(settings_for(port), initial_delay=0.02)
    async with client:
        srv.port = port
        await srv.start()
        async with asyncio.timeout(15):
            while not any(m.get("action") == "Login" for m in srv.received):
                await asyncio.sleep(0.01)
        assert not client.connected  # wrong secret: refused, retried
        srv.secret = "labsecret"
        await client.wait_connected(15)
    await srv.stop()


def test_backoff_is_capped_and_jittered() -> None:
    rng = random.Random(3)
    delays = [backoff_delay(a, initial=0.5, cap=30.0, rng=rng) for a in range(12)]
    assert all(0.25 <= d <= 0.5 for d in delays[:1])
    assert all(15.0 <= d <= 30.0 for d in delays[7:])
    assert len({round(d, 6) for d in delays[7:]}) > 1  # jitter


def empty_device_list(c: dict[str, list[Block]]) -> list[Block]:
    """DeviceStateList as answered right after ``core restart``, before PJSIP has loaded: the
    Response and the Complete event, no device (round2 README section 6)."""
    return [b for b in responses_to(c["devstate"], "DeviceStateList") if b.header("Event") != "DeviceStateChange"]


# Asterisk's documented shape of the Reload event (manager.c / "module reload res_pjsip.so"); no
# capture holds one.
RELOAD_PJSIP = Block(0.0, "RECV", "Event: Reload\nPrivilege: system,all\nModule: res_pjsip.so\nStatus: 2")


async def test_fully_booted_after_the_login_lists_the_devices_again(server: FakeAmiServer,
                                                                    captures: dict[str, list[Block]]) -> None:
    # After a core restart the login comes first and PJSIP is not loaded: an empty list. The
    # FullyBooted that follows brings the real one.
    full = server.answers["devicestatelist"]
    server.answers["devicestatelist"] = empty_device_list(captures)
    second = responses_to(captures["restart"], "Login", nth=1)
    server.login, server.after_login = second[:1], []
    booted = [b for b in second[1:] if b.header("Event") == "FullyBooted"]
    client = AmiClient(settings_for(server.port), initial_delay=0.02)
    sub = client.subscribe("Resynced")
    async with client:
        first = await next_of(sub, Resynced)
        assert isinstance(first, Resynced) and first.devices == () and first.reason == "login"
        server.answers["devicestatelist"] = full
        await server.push(booted)
        again = await next_of(sub, Resynced)
        assert isinstance(again, Resynced) and again.reason == "fully_booted"
        assert ("PJSIP/agent2", "UNAVAILABLE") in [(d.device, d.state) for d in again.devices]


async def test_a_module_reload_and_the_interval_resync_device_states(server: FakeAmiServer) -> None:
    settings = settings_for(server.port).model_copy(update={"resync_interval": 0.2})
    client = AmiClient(settings, initial_delay=0.02)
    sub = client.subscribe("Resynced")
    async with client:
        assert (await next_of(sub, Resynced)).reason == "login"  # type: ignore[attr-defined]
        await server.push([RELOAD_PJSIP])
        reasons: list[str] = []
        async with asyncio.timeout(10):
            while "reload" not in reasons or "periodic" not in reasons:
                event = await next_of(sub, Resynced)
                assert isinstance(event, Resynced) and len(event.devices) == 5
                reasons.append(event.reason)
                if event.reason == "periodic":
                    assert event.channels == ()  # the cheap list only
    actions = [m["action"] for m in server.received]
    assert actions.count("DeviceStateList") >= 3
    assert actions.count("CoreShowChannels") == 1 + reasons.count("reload")
