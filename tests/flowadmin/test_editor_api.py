"""The flow editor's API: roll back to any version (0: the shipped file), diff and summarise any two."""

from __future__ import annotations

import wave
from dataclasses import replace
from pathlib import Path

import httpx

from ivr.flows.changes import compare
from ivr.flows.yamlload import DEFAULT_LIMITS, load_flow_yaml
from ivr.prompts.catalogue import PromptCatalogue
from tests.flowadmin.test_flow_versions import MINI_V1, MINI_V2, Env, call, env, support_v2
from tests.support.app import app_for

__all__ = ["env"]  # the fixture, shared with test_flow_versions

KEY_4 = """\
      4:
        next: need_agent
        say: {es: [cuatro], en: [four]}
"""


def with_key_4(text: str) -> str:
    return text.replace("    agent: need_agent\n", KEY_4 + "    agent: need_agent\n", 1)


async def test_roll_back_from_the_first_published_version_to_the_shipped_file(env: Env) -> None:
    c = env.client
    provider = env.container.flowadmin.provider
    shipped = provider.by_name("support")
    assert (await c.post("/api/v1/flows/support/versions", json={"document": support_v2()},
                         headers=env.admin)).status_code == 201
    assert (await c.post("/api/v1/flows/support/versions/1/publish", headers=env.admin)).status_code == 200
    assert provider.by_name("support").description == "Customer support line (v2)"

    r = await c.post("/api/v1/flows/support/rollback", headers=env.admin)  # no earlier version: the file
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 0 and r.json()["status"] == "shipped"
    assert provider.by_name("support") == shipped and "support" not in provider.published_versions
    doc = (await c.get("/api/v1/flows/support", headers=env.admin)).json()
    assert doc["version"] is None and "Customer support line (default flow)" in doc["document"]
    versions = (await c.get("/api/v1/flows/support/versions", headers=env.admin)).json()
    assert [(v["version"], v["status"]) for v in versions] == [(1, "retired"), (0, "shipped")]
    # nothing earlier than the file
    r = await c.post("/api/v1/flows/support/rollback", headers=env.admin)
    assert r.status_code == 200 and r.json()["version"] == 1  # the default goes back to the last one retired


async def test_roll_back_to_a_named_version(env: Env) -> None:
    c = env.client
    for doc in (MINI_V1, MINI_V2, MINI_V1.replace("greeting", "goodbye")):
        await c.post("/api/v1/flows/mini/versions", json={"document": doc}, headers=env.admin)
    for v in (1, 2, 3):
        assert (await c.post(f"/api/v1/flows/mini/versions/{v}/publish", headers=env.admin)).status_code == 200
    r = await c.post("/api/v1/flows/mini/rollback", params={"to": 1}, headers=env.admin)
    assert r.status_code == 200 and r.json()["version"] == 1
    assert any("greeting" in p for p in await call(env.container, "700"))
    # mini has no shipped file: version 0 does not exist
    r = await c.post("/api/v1/flows/mini/rollback", params={"to": 0}, headers=env.admin)
    assert r.status_code == 404 and "no shipped file" in r.json()["detail"]
    assert (await c.post("/api/v1/flows/mini/rollback", params={"to": 0}, headers=env.agent)).status_code == 403


async def test_a_single_version_without_a_file_still_cannot_roll_back(env: Env) -> None:
    c = env.client
    await c.post("/api/v1/flows/mini/versions", json={"document": MINI_V1}, headers=env.admin)
    await c.post("/api/v1/flows/mini/versions/1/publish", headers=env.admin)
    r = await c.post("/api/v1/flows/mini/rollback", headers=env.admin)
    assert r.status_code == 409 and "no earlier version" in r.json()["detail"]


async def test_diff_any_two_versions_and_the_default_draft_against_service(env: Env) -> None:
    c = env.client
    typo = support_v2()
    await c.post("/api/v1/flows/support/versions", json={"document": typo}, headers=env.admin)
    await c.post("/api/v1/flows/support/versions", json={"document": with_key_4(typo)}, headers=env.admin)

    # by default: the newest draft (v2) against what is in service (the shipped file)
    r = await c.get("/api/v1/flows/support/diff", headers=env.agent)
    assert r.status_code == 200
    assert "--- support@shipped" in r.text and "+++ support@v2" in r.text
    assert "+      4:" in r.text and "+description: Customer support line (v2)" in r.text
    # two chosen versions: v1 against v2 shows only the new key
    r = await c.get("/api/v1/flows/support/diff", params={"from": 1, "to": 2}, headers=env.agent)
    assert "+      4:" in r.text and "description" not in r.text
    # the shipped file against v1 shows only the description
    r = await c.get("/api/v1/flows/support/diff", params={"from": 0, "to": 1}, headers=env.agent)
    assert "+description: Customer support line (v2)" in r.text and "4:" not in r.text
    assert (await c.get("/api/v1/flows/support/diff", params={"to": 9}, headers=env.agent)).status_code == 404


async def test_changes_name_what_a_publish_would_change(env: Env) -> None:
    c = env.client
    await c.post("/api/v1/flows/support/versions", json={"document": with_key_4(support_v2())}, headers=env.admin)
    r = await c.get("/api/v1/flows/support/changes", params={"to": 1}, headers=env.admin)
    assert r.status_code == 200
    body = r.json()
    assert body["from_label"] == "support@shipped" and body["to_label"] == "support@v1"
    assert body["keys_added"] == ["main_menu 4"] and body["nodes_changed"] == ["main_menu"]
    assert body["summary"] == "1 node changed, key 4 added, flow settings changed"
    # a new flow: everything is added
    await c.post("/api/v1/flows/mini/versions", json={"document": MINI_V1}, headers=env.admin)
    body = (await c.get("/api/v1/flows/mini/changes", headers=env.admin)).json()
    assert body["summary"] == "2 nodes added, flow settings changed" and body["from_label"].startswith("mini@none")


def test_compare_counts_nodes_and_keys() -> None:
    old = load_flow_yaml(MINI_V1, DEFAULT_LIMITS)[1]
    new = load_flow_yaml(MINI_V2.replace("  bye: {kind: hangup}\n", "  end: {kind: hangup}\n"), DEFAULT_LIMITS)[1]
    found = compare(old, new)
    assert found.nodes_changed == ("hello",) and found.nodes_added == ("end",) and found.nodes_removed == ("bye",)
    assert found.summary == "1 node changed, 1 node added, 1 node removed"
    assert compare(old, old).summary == "no change"


async def test_coverage_warnings_are_shown_but_do_not_block_publishing(env: Env) -> None:
    c = env.client
    r = await c.post("/api/v1/flows/support/versions", json={"document": with_key_4(support_v2())}, headers=env.admin)
    assert r.status_code == 201 and r.json()["problems"] == []
    warnings = [(w["node"], w["message"]) for w in r.json()["warnings"]]
    assert ("main_menu", "key 4 is not announced in en (prompt main_menu)") in warnings
    inspected = (await c.post("/api/v1/ui/flows/inspect", json={"document": with_key_4(support_v2())},
                              headers=env.admin)).json()
    assert inspected["problems"] == [] and [w["message"] for w in inspected["warnings"]] == [w[1] for w in warnings]
    assert (await c.post("/api/v1/flows/support/versions/1/publish", headers=env.admin)).status_code == 200


OPEN = "2026-12-07T10:00:00+01:00"  # a Monday morning in Madrid: the support schedule is open
CLOSED = "2026-12-06T23:00:00+01:00"  # Sunday night


async def simulate(env: Env, document: str, *inputs: dict[str, str], at: str = OPEN) -> dict[str, object]:
    r = await env.client.post("/api/v1/ui/flows/simulate",
                              json={"document": document, "inputs": list(inputs), "at": at}, headers=env.admin)
    assert r.status_code == 200, r.text
    body: dict[str, object] = r.json()
    return body


def texts(body: dict[str, object], kind: str) -> list[str]:
    steps = body["steps"]
    assert isinstance(steps, list)
    return [s["text"] for s in steps if s["kind"] == kind]


async def test_the_simulator_steps_through_a_draft_menu_with_the_real_engine(env: Env) -> None:
    draft = with_key_4(support_v2())
    first = await simulate(env, draft)  # no input yet: it waits at the language choice
    assert first["waiting"] == {"node": "choose_language", "keys": True, "speech": True}
    assert first["disposition"] is None
    assert any(t.startswith("[es/language_choice]") for t in texts(first, "prompt"))

    body = await simulate(env, draft, {"press": "2"})  # Spanish; open on a Monday morning
    assert body["waiting"] == {"node": "main_menu", "keys": True, "speech": True}
    assert body["language"] == "es" and body["variables"]["language"] == "es"  # type: ignore[index]
    closed = await simulate(env, draft, {"press": "2"}, at=CLOSED)
    assert closed["waiting"] == {"node": "after_hours_menu", "keys": True, "speech": True}
    assert "[es/main_menu] Para facturación, pulse 1 o diga facturación." in " ".join(texts(body, "prompt"))
    said = await simulate(env, draft, {"press": "2"}, {"say": "facturación"})
    nodes = texts(said, "node")
    assert "need_billing (mark_need)" in nodes
    assert any("would wait in queue 'billing'" in t for t in texts(said, "would"))
    assert said["waiting"] is None and said["disposition"] == "connected"
    key4 = await simulate(env, draft, {"press": "2"}, {"press": "4"})  # the draft's new key
    assert "need_agent (mark_need)" in texts(key4, "node")


async def test_the_simulator_refuses_a_broken_draft_and_agents(env: Env) -> None:
    c = env.client
    r = await c.post("/api/v1/ui/flows/simulate", json={"document": MINI_V1.replace("next: bye", "next: nowhere")},
                     headers=env.admin)
    assert r.status_code == 422 and "nowhere" in " ".join(r.json()["detail"]["problems"])
    r = await c.post("/api/v1/ui/flows/simulate", json={"document": MINI_V1}, headers=env.agent)
    assert r.status_code == 403
    body = await simulate(env, MINI_V1)  # no question in this flow: it plays and ends
    assert texts(body, "prompt")[0].startswith("[es/greeting]") and body["disposition"] == "completed"


def tiny_wav(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\0\0" * 80)
    return path.read_bytes()


async def test_prompt_texts_and_recordings_for_playback(env: Env, tmp_path: Path) -> None:
    prompts = tmp_path / "prompts"
    (prompts / "catalogue").mkdir(parents=True)
    (prompts / "catalogue" / "core.yaml").write_text(
        'version: "1"\nprompts:\n  greeting: {es: "Hola", en: "Hello"}\n  bye: {es: "Adiós", en: "Bye"}\n',
        encoding="utf-8")
    audio = tiny_wav(prompts / "audio" / "es" / "greeting.wav")
    outside = tmp_path / "outside.wav"
    tiny_wav(outside)
    (prompts / "audio" / "en").mkdir(parents=True)
    (prompts / "audio" / "en" / "bye.wav").symlink_to(outside)  # leads out of the audio folder
    other = replace(env.container, config=replace(env.container.config, prompts=PromptCatalogue.load(prompts)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app_for(other)), base_url="http://t") as c:
        await _prompt_playback(c, env, audio)


async def _prompt_playback(c: httpx.AsyncClient, env: Env, audio: bytes) -> None:
    r = await c.post("/api/v1/ui/flows/prompts", json={"keys": ["es/greeting", "en/greeting", "en/bye", "es/nope"]},
                     headers=env.admin)
    assert r.status_code == 200
    assert r.json() == [
        {"key": "es/greeting", "text": "Hola", "audio": "/api/v1/ui/flows/prompt-audio?key=es/greeting"},
        {"key": "en/greeting", "text": "Hello", "audio": None},  # not rendered yet
        {"key": "en/bye", "text": "Bye", "audio": None},  # its file is outside the audio folder
        {"key": "es/nope", "text": None, "audio": None},
    ]
    r = await c.get("/api/v1/ui/flows/prompt-audio", params={"key": "es/greeting"}, headers=env.admin)
    assert r.status_code == 200 and r.headers["content-type"] == "audio/wav" and r.content == audio
    for key in ("en/bye", "es/nope", "en/greeting"):
        r = await c.get("/api/v1/ui/flows/prompt-audio", params={"key": key}, headers=env.admin)
        assert r.status_code == 404, key
    for key in ("es/../../outside", "es/greeting.wav", "../outside", "es//etc/passwd", "es/%2e%2e/x"):
        r = await c.get("/api/v1/ui/flows/prompt-audio", params={"key": key}, headers=env.admin)
        assert r.status_code in (404, 422) and r.content != audio, key
    r = await c.get("/api/v1/ui/flows/prompt-audio", params={"key": "es/greeting"}, headers=env.agent)
    assert r.status_code == 403
