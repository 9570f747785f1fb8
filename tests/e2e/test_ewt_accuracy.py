"""Live EWT accuracy: several SIPp callers queue for one SIPp agent (``uas_answer_bye.xml``) on
``ivr serve``'s built-in SIP endpoint; the truth of what they heard is then read back from the
store (``ivr queues status --json``) and from ``/metrics``, and printed."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Puente
from tests.sipp.sipp import run_sipp, sipp_agent

pytestmark = pytest.mark.sipp

CALLERS = 3  # each turn is ~15 s (announcement, connecting, ring, 2 s talk); SIPp callers leave after 40 s


def metric(text: str, name: str, queue: str) -> float | None:
    found = re.search(rf'^{re.escape(name)}\{{queue="{queue}"\}} ([0-9.e+-]+)$', text, re.MULTILINE)
    return float(found.group(1)) if found else None


async def test_callers_queue_for_one_agent_and_the_accuracy_of_what_they_heard_is_recorded(
    puente: Puente, tmp_path: Path
) -> None:
    puente.ivr("agents", "set-state", "agent1", "available")
    numbers = [f"+3460000010{i}" for i in range(CALLERS)]
    dirs = [tmp_path / f"caller{i}" for i in range(CALLERS)]
    for d in dirs:
        d.mkdir()
    # one agent answering every call in turn (2 s talk, 1 s wrap-up) while the others wait
    async with sipp_agent("uas_answer_bye.xml", workdir=tmp_path, port=puente.agent_ports["agent1"],
                          calls=CALLERS, timeout=90) as agent:
        outcomes = await asyncio.gather(*(
            run_sipp("uac_support_billing_agent.xml", workdir=d, target=puente.target, timeout=80, caller=n)
            for n, d in zip(numbers, dirs, strict=True)))
        agent_outcome = await agent.result(timeout=60)
    for outcome in outcomes:
        assert outcome.ok, outcome.describe() + puente.log_tail()
    assert agent_outcome.ok, agent_outcome.describe()
    records = [puente.call_from(n) for n in numbers]
    connected = [r for r in records if r["disposition"] == "connected"]
    assert len(connected) >= 2, [r["disposition"] for r in records]
    heard = [e["data"] for r in records for e in r["events"] if e["kind"] == "ewt_announced"]
    assert heard and all(h["band"] for h in heard)
    assert all(h["ewt_seconds"] > 0 for h in heard)  # nobody who had to wait was told 0

    status = json.loads(puente.ivr("queues", "status", "--json"))
    accuracy = status["billing"]["ewt_accuracy"]
    assert accuracy["announced"] >= 1, accuracy
    assert accuracy["within_band_percent"] is not None and accuracy["mae_seconds"] is not None
    async with httpx.AsyncClient(timeout=5) as client:
        text = (await client.get(f"http://127.0.0.1:{puente.http_port}/metrics")).text
    answered = metric(text, "puente_ewt_announced_answered_total", "billing")
    assert answered is not None and answered >= 1
    in_band = metric(text, "puente_ewt_within_band_total", "billing") or 0.0
    within_25 = metric(text, "puente_ewt_within_25_percent_total", "billing") or 0.0
    waited = [(r["disposition"], r["waited_seconds"]) for r in records]
    print(f"\nlive EWT accuracy (billing, {CALLERS} SIPp callers, 1 SIPp agent): waits {waited}; heard "
          f"{[h['band'] for h in heard]}; store today: {accuracy}; /metrics: {answered:g} answered after hearing "
          f"a wait, {in_band:g} within the band, {within_25:g} within 25%")
