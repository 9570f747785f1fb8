"""Real calls with SIPp against ``ivr serve`` running the shipped support flow on the built-in
SIP endpoint; outcomes read back from the call records (``ivr calls show ID --json``)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Puente
from tests.sipp.make_speech_pcap import TRAILING_SILENCE, write_pcap
from tests.sipp.sipp import SCENARIOS, run_sipp, sipp_agent
from tests.speech.test_human_voices import voice
from tests.support import human_audio as human

pytestmark = pytest.mark.sipp


def kinds(record: dict[str, Any]) -> list[str]:
    return [e["kind"] for e in record["events"]]


def inputs(record: dict[str, Any]) -> list[tuple[str | None, dict[str, Any]]]:
    return [(e["node"], e["data"]) for e in record["events"] if e["kind"] == "input"]


def entered(record: dict[str, Any]) -> list[str]:
    return [e["node"] for e in record["events"] if e["kind"] == "node_entered"]


def set_agent(puente: Puente, state: str) -> None:
    """Set agent1's state in the DB. The server applies it within about a second, long before the
    caller reaches the queue (6.5 s into each scenario)."""
    puente.ivr("agents", "set-state", "agent1", state)


async def test_keys_to_billing_and_agent_answers(puente: Puente, tmp_path: Path) -> None:
    caller = "+34600000001"
    set_agent(puente, "available")
    async with sipp_agent("uas_answer_bye.xml", workdir=tmp_path, port=puente.agent_ports["agent1"]) as agent:
        outcome = await run_sipp(
            "uac_support_billing_agent.xml", workdir=tmp_path, target=puente.target, timeout=45, caller=caller
        )
        agent_outcome = await agent.result()
    assert outcome.ok, outcome.describe() + puente.log_tail()
    record = puente.call_from(caller)
    assert agent_outcome.ok, agent_outcome.describe()
    assert record["backend"] == "sip" and record["language"] == "en"
    assert [(node, data["digits"]) for node, data in inputs(record)][:2] == [
        ("choose_language", "1"),
        ("main_menu", "1"),
    ]
    assert "billing" in entered(record)
    assert record["queue"] == "billing"
    assert "agent_connected" in kinds(record)
    assert record["agent_id"] == "agent1"
    assert record["disposition"] == "connected"


def human_speech_scenario(tmp_path: Path) -> Path:
    """uac_support_speech.xml with its recording, Allison's "one" (asterisk-core-sounds-en-wav), written
    here. English's clean lines go to Whisper, which hears espeak-ng's English badly (bench/speech.py):
    a synthetic caller would test the voice, not the line."""
    voice("en")
    pcap = tmp_path / "speech_one_en.pcap"
    write_pcap(human.digit("en", "1") + TRAILING_SILENCE, pcap)
    scenario = tmp_path / "uac_support_speech_one.xml"
    scenario.write_text((SCENARIOS / "uac_support_speech.xml").read_text().replace("speech_one_en.pcap", str(pcap)))
    return scenario


async def test_speech_to_billing_then_abandon_while_agent_rings(puente: Puente, tmp_path: Path) -> None:
    caller = "+34600000002"
    set_agent(puente, "available")
    scenario = human_speech_scenario(tmp_path)
    async with sipp_agent("uas_ring_noanswer.xml", workdir=tmp_path, port=puente.agent_ports["agent1"]) as agent:
        outcome = await run_sipp(scenario, workdir=tmp_path, target=puente.target, timeout=40, caller=caller)
        agent_outcome = await agent.result()
    assert outcome.ok, outcome.describe() + puente.log_tail()
    record = puente.call_from(caller)
    assert agent_outcome.ok, agent_outcome.describe()  # it was rung, then got CANCEL
    menu = [data for node, data in inputs(record) if node == "main_menu"]
    assert menu and menu[0]["mode"] == "speech" and menu[0]["key"] == "1", record["events"]
    assert menu[0]["transcript"] == "one"  # the spoken digit of the billing option
    assert record["queue"] == "billing"
    assert "agent_offered" in kinds(record)
    assert "agent_connected" not in kinds(record)
    assert record["disposition"] == "abandoned"


async def test_abandon_and_callback_while_the_agent_is_busy(puente: Puente, tmp_path: Path) -> None:
    """Two callers queue side by side: one hangs up (abandon), one presses 1 then 1 (callback)."""
    leaver, keeper = "+34600000003", "+34600000004"
    set_agent(puente, "busy")  # staffed (so the queue takes callers) but not free to answer
    abandon, callback = await asyncio.gather(
        run_sipp("uac_support_abandon.xml", workdir=tmp_path, target=puente.target, timeout=30, caller=leaver),
        run_sipp("uac_support_callback.xml", workdir=tmp_path, target=puente.target, timeout=40, caller=keeper),
    )
    assert abandon.ok, abandon.describe() + puente.log_tail()
    assert callback.ok, callback.describe() + puente.log_tail()

    left = puente.call_from(leaver)
    assert "queue_joined" in kinds(left), timeline(left)
    assert left["queue"] == "billing"
    assert left["disposition"] == "abandoned", timeline(left)
    assert left["waited_seconds"] is not None and left["waited_seconds"] > 2

    kept = puente.call_from(keeper)
    assert "queue_joined" in kinds(kept)
    requested = [e["data"] for e in kept["events"] if e["kind"] == "callback_requested"]
    assert requested and requested[-1]["source"] == "queue_key", timeline(kept)
    assert kept["disposition"] == "callback", timeline(kept)


def timeline(record: dict[str, Any]) -> str:
    return "\n".join(f"{e['at'][11:23]} {e['kind']} {e['node']} {e['data']}" for e in record["events"])
