"""``ivr serve`` (on its default loop, uvloop) against hostile or unauthenticated SIP: an unusable
media address is refused and the server stays up; only an agent with its secret can register."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Puente
from tests.sip.conftest import UdpPeer, open_peer
from tests.sip.test_endpoint import SDP, request
from tests.sip.test_resilience import expect

pytestmark = pytest.mark.sipp


def _health(puente: Puente) -> int:
    return httpx.get(f"http://127.0.0.1:{puente.http_port}/health", timeout=5).status_code


async def _options(peer: UdpPeer, puente: Puente, call_id: str) -> None:
    peer.send(request("OPTIONS", peer.port, branch=f"z9hG4bK{call_id}", call_id=call_id), puente.sip_port)
    await expect(peer, 200, call_id=call_id)


@pytest.mark.parametrize("connection", ["c=IN IP6 ::1", "c=IN IP4 pbx.example.com"])
async def test_an_unusable_media_address_leaves_the_server_up(puente: Puente, connection: str) -> None:
    async with open_peer() as peer:
        body = SDP.replace("c=IN IP4 127.0.0.1", connection).format(port=40000)
        call_id = f"hostile-{connection[-3:]}"
        peer.send(request("INVITE", peer.port, branch=f"z9hG4bK{call_id}", call_id=call_id, body=body),
                  puente.sip_port)
        refused = await expect(peer, 488, call_id=call_id)
        assert refused.headers.get("Warning")
        peer.send(request("ACK", peer.port, branch=f"z9hG4bK{call_id}", call_id=call_id), puente.sip_port)
        await _options(peer, puente, f"alive-{connection[-3:]}")
    assert _health(puente) == 200


async def test_register_needs_the_agents_secret(puente: Puente, tmp_path: Path) -> None:
    from tests.sipp.sipp import run_sipp

    async with open_peer() as peer:
        plain = request("REGISTER", peer.port, branch="z9hG4bKr3", call_id="r3", extra="Expires: 60\r\n")
        peer.send(plain.replace(b"sip:100@", b"sip:agent3@"), puente.sip_port)  # no secret configured
        assert (await expect(peer, 403, call_id="r3")).reason.startswith("Forbidden")
        peer.send(plain.replace(b"sip:100@", b"sip:agent9@").replace(b"r3", b"r9"), puente.sip_port)
        challenge = await expect(peer, 401, call_id="r9")
        assert "algorithm=MD5" in (challenge.headers.get("WWW-Authenticate") or "")
    for scenario, password in (("uac_register_forbidden.xml", "guess"), ("uac_register.xml", "e2e-secret")):
        outcome = await run_sipp(scenario, workdir=tmp_path, target=puente.target, timeout=10, service="agent9",
                                 extra=["-au", "agent9", "-ap", password])
        assert outcome.ok, outcome.describe()
    assert "no SIP secret configured" in puente.log_tail(200)
