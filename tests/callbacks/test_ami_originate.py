"""The AMI originator (panoramisk over real sockets) against a fake AMI server replaying the real
Asterisk 22 Originate captures of round 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from callbacks.models import AttemptOutcome
from callbacks.origination.ami import AmiOriginator, originate_action, parse_originate
from callbacks.origination.base import Leg, OriginateRequest
from ivr.ami.client import AmiClient
from ivr.ami.events import AmiMessage
from ivr.settings import AmiSettings
from tests.support.ami_server import FakeAmiServer, load_capture, responses_to

pytestmark = pytest.mark.timeout(30)

CASES = [
    ("ami-originate-ok-pjsip.txt", AttemptOutcome.ANSWERED, "reason 4"),
    ("ami-originate-ok-local.txt", AttemptOutcome.ANSWERED, "reason 4"),
    ("ami-originate-fail-busy.txt", AttemptOutcome.BUSY, "reason 0"),  # a 486 gives Reason 0, not 5
    ("ami-originate-fail-noanswer.txt", AttemptOutcome.NO_ANSWER, "reason 3"),
    ("ami-originate-fail-nolistener.txt", AttemptOutcome.NO_ANSWER, "reason 3"),
    ("ami-originate-fail-nolistener-default-timeout.txt", AttemptOutcome.NO_ANSWER, "reason 3"),
    ("ami-originate-fail-unregistered.txt", AttemptOutcome.BUSY, "reason 0"),  # no contact: Reason 0 in 1 ms
    ("ami-originate-fail-unregistered-sync.txt", AttemptOutcome.FAILED, "Originate failed"),
]


def request(leg: Leg = Leg.AGENT, target: str = "PJSIP/agent1") -> OriginateRequest:
    return OriginateRequest(callback_id="cb42", attempt=1, leg=leg, target=target, caller_id="5551234",
                            timeout=15.0)


@pytest.mark.parametrize("capture, outcome, detail", CASES)
async def test_originate_outcomes_replayed(asterisk_captures: Path, capture: str, outcome: AttemptOutcome,
                                           detail: str) -> None:
    blocks = load_capture(asterisk_captures / "round2" / capture)
    login = responses_to(blocks, "Login")
    server = FakeAmiServer(login=login[:1], after_login=login[1:],
                           answers={"originate": responses_to(blocks, "Originate")})
    await server.start()
    try:
        client = AmiClient(AmiSettings(enabled=True, host="127.0.0.1", port=server.port, username="labadmin",
                                       secret="labsecret"), initial_delay=0.02)
        originator = AmiOriginator(client, context="callback-agi", customer_channel="Local/{number}@out",
                                   customer_dial="PJSIP/{number}@trunk")
        async with client:
            await client.wait_connected(5)
            result = await originator.originate(request())
    finally:
        await server.stop()
    assert result.outcome is outcome and detail in (result.detail or "")
    assert result.channel is None  # the call goes on in Asterisk (the FastAGI callback script)
    sent = next(m for m in server.received if m.get("action") == "Originate")
    assert sent["actionid"] == "callback-cb42-1" and sent["channel"] == "PJSIP/agent1"
    assert (sent["context"], sent["exten"], sent["priority"], sent["async"]) == ("callback-agi", "s", "1", "true")
    assert sent["callerid"] == '"Callback" <5551234>' and sent["timeout"] == "15000"
    if outcome is AttemptOutcome.ANSWERED and capture.endswith("pjsip.txt"):
        assert result.uniqueid == "1795426452.27"


def test_action_matches_what_the_capture_sent(asterisk_captures: Path) -> None:
    blocks = load_capture(asterisk_captures / "round2" / "ami-originate-fail-busy.txt")
    sent = next(b for b in blocks if b.kind == "SENT" and b.header("Action") == "Originate")
    action = originate_action(request(), channel="PJSIP/agent1", context="callback-agi")
    for header in ("Channel", "Context", "Exten", "Priority", "CallerID", "Async"):
        assert action[header] == sent.header(header), header
    variables = [line.split(": ", 1)[1] for line in sent.text.splitlines() if line.startswith("Variable: ")]
    assert action["Variable"] == variables == ["CALLBACK_ID=cb42", "CALLBACK_TRY=1"]
    customer = originate_action(request(Leg.CUSTOMER, "+34600111222"), channel="Local/+34600111222@callback-out",
                                context="callback-agi")
    assert customer["Channel"] == "Local/+34600111222@callback-out"


def test_parse_ignores_other_actions_responses() -> None:
    other = AmiMessage.of([("Event", "OriginateResponse"), ("ActionID", "someone-else"), ("Response", "Success"),
                           ("Reason", "4")])
    queued = AmiMessage.of([("Response", "Success"), ("ActionID", "mine"),
                            ("Message", "Originate successfully queued")])
    assert parse_originate([queued, other], "mine").outcome is AttemptOutcome.ANSWERED  # synchronous success
    failure4 = AmiMessage.of([("Event", "OriginateResponse"), ("ActionID", "mine"), ("Response", "Failure"),
                              ("Reason", "4")])
    assert parse_originate([queued, failure4], "mine").outcome is AttemptOutcome.FAILED
    congestion = AmiMessage.of([("Event", "OriginateResponse"), ("ActionID", "mine"), ("Response", "Failure"),
                                ("Reason", "8")])
    assert parse_originate([queued, congestion], "mine").outcome is AttemptOutcome.FAILED


async def test_not_connected_is_a_failed_attempt() -> None:
    client = AmiClient(AmiSettings(enabled=True, host="127.0.0.1", port=1))
    originator = AmiOriginator(client, context="callback-agi", customer_channel="Local/{number}@out",
                               customer_dial="PJSIP/{number}@trunk")
    result = await originator.originate(request())
    assert result.outcome is AttemptOutcome.FAILED and "ami" in (result.detail or "")
    none = AmiOriginator(None, context="c", customer_channel="x", customer_dial="y")
    assert (await none.originate(request())).outcome is AttemptOutcome.FAILED
