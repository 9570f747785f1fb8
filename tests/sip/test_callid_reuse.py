"""A peer reusing a SIP Call-ID gets a new call with its own record, never a lost one."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import pytest

from ivr.calls.store import CallStore
from ivr.channels.sip.channel import SipChannel
from ivr.db import Database
from ivr.events import EventBus
from ivr.ports import Disposition
from tests.sip.conftest import Harness, UdpPeer
from tests.sip.test_endpoint import SDP, request
from tests.sip.test_resilience import answered_call, expect


async def test_a_reused_call_id_is_a_new_call_with_its_own_record(
    start_endpoint: Callable[..., contextlib.AbstractAsyncContextManager[Harness]],
    peer: UdpPeer,
    sqlite_db: Database,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = CallStore(sqlite_db, EventBus())
    channels: asyncio.Queue[SipChannel] = asyncio.Queue()
    ended: asyncio.Queue[str] = asyncio.Queue()

    async def recorded(channel: SipChannel) -> None:  # what the flow engine does around a call
        await store.call_started(channel.info, flow="support", language="es")
        await channels.put(channel)
        await channel.wait_hangup()
        await store.call_ended(channel.info.call_id, Disposition.CALLER_HANGUP)
        await ended.put(channel.info.call_id)

    with caplog.at_level(logging.WARNING):
        async with start_endpoint(recorded) as harness:
            harness.channels = channels
            first, first_tag = await answered_call(harness, peer, call_id="same", rtp_port=40100)
            peer.send(request("BYE", peer.port, branch="z9hG4bKbye1", call_id="same", cseq=2, to_tag=first_tag),
                      harness.port)
            await expect(peer, 200, call_id="same", method="BYE")
            await asyncio.wait_for(first.wait_hangup(), 2)

            second, second_tag = await answered_call(harness, peer, call_id="same", rtp_port=40102, tag="peer2")
            assert second is not first and second_tag != first_tag

            # A late BYE of the first dialog must not end the second call.
            stale = request("BYE", peer.port, branch="z9hG4bKbye1b", call_id="same", cseq=3, to_tag=first_tag)
            peer.send(stale, harness.port)
            await expect(peer, 481, call_id="same", method="BYE")
            # A third INVITE on the Call-ID of the live call is refused clearly, the live call untouched.
            third = request("INVITE", peer.port, branch="z9hG4bKthird", call_id="same", body=SDP.format(port=40104))
            peer.send(third.replace(b"tag=peer1", b"tag=peer3"), harness.port)
            refused = await expect(peer, 400, call_id="same", method="INVITE")
            assert "in progress" in (refused.headers.get("Warning") or "")
            assert not second.hung_up and harness.endpoint.active_calls() == 1

            bye = request("BYE", peer.port, branch="z9hG4bKbye2", call_id="same", cseq=4, to_tag=second_tag)
            peer.send(bye.replace(b"tag=peer1", b"tag=peer2"), harness.port)
            await expect(peer, 200, call_id="same", method="BYE")
            await asyncio.wait_for(second.wait_hangup(), 2)
            done = {await asyncio.wait_for(ended.get(), 10), await asyncio.wait_for(ended.get(), 10)}
            assert done == {first.info.call_id, second.info.call_id}

    records = await store.list_calls()
    assert len(records) == 2
    assert {r.call_id for r in records} == {first.info.call_id, second.info.call_id}
    assert first.info.call_id != second.info.call_id
    assert all(r.linked_id == "same" and r.ended_at is not None for r in records)
    assert all(r.disposition == "caller_hangup" for r in records)
    assert "dropped an invalid call record row" not in caplog.text



async def test_two_invites_on_one_call_id_at_once_make_one_call(
    start_endpoint: Callable[..., contextlib.AbstractAsyncContextManager[Harness]], peer: UdpPeer
) -> None:
    async with start_endpoint() as harness:
        for n in (1, 2):  # back to back: the second arrives while the first call's media socket opens
            invite = request("INVITE", peer.port, branch=f"z9hG4bKtwin{n}", call_id="twin", body=SDP.format(port=40200))
            peer.send(invite.replace(b"tag=peer1", f"tag=twin{n}".encode()), harness.port)
        refused = await expect(peer, 400, call_id="twin", method="INVITE")
        assert refused.branch == "z9hG4bKtwin2"
        channel = await asyncio.wait_for(harness.channels.get(), 3)
        assert channel.leg.invite is not None and channel.leg.invite.branch == "z9hG4bKtwin1"
        assert harness.channels.empty() and harness.endpoint.active_calls() == 1
