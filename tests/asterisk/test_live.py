"""``ivr asterisk check --ami``: ModuleCheck and PJSIPShowEndpoints against a fake AMI that answers
like Asterisk 22 (login and the endpoint list replayed from the captures; ModuleCheck in
manager.c's format)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ivr.asterisk.live import live_findings
from ivr.settings import AmiSettings
from tests.support.ami_server import FakeAmiServer, load_capture, responses_to, wire

pytestmark = pytest.mark.timeout(60)


@dataclass
class ModuleAwareAmi(FakeAmiServer):
    """Answers ``ModuleCheck`` from ``loaded`` the way Asterisk's manager_modulecheck does."""

    loaded: set[str] = field(default_factory=set)

    async def _answer(self, message: dict[str, str], writer: asyncio.StreamWriter) -> None:
        if message.get("action", "").lower() != "modulecheck":
            await super()._answer(message, writer)
            return
        action_id = message.get("actionid")
        if message.get("module", "").removesuffix(".so") in self.loaded:
            writer.write(wire("Response: Success\nActionID: x\nVersion: ", action_id))
        else:
            writer.write(wire("Response: Error\nActionID: x\nMessage: Module not loaded", action_id))
        await writer.drain()


def _server(captures: Path, loaded: set[str]) -> ModuleAwareAmi:
    blocks = load_capture(captures / "round2" / "ami-devstate-registration.txt")
    return ModuleAwareAmi(login=responses_to(blocks, "Login")[:1],
                          answers={"pjsipshowendpoints": responses_to(blocks, "PJSIPShowEndpoints")},
                          loaded=loaded)


def _settings(port: int, secret: str = "labsecret") -> AmiSettings:
    return AmiSettings(enabled=True, host="127.0.0.1", port=port, username="labadmin", secret=secret,
                       reconnect_max_delay=0.2)


async def test_live_asterisk_with_everything_loaded_and_the_endpoints(asterisk_captures: Path) -> None:
    server = _server(asterisk_captures, {"res_agi", "res_speech"})
    port = await server.start()
    try:
        found = await live_findings(_settings(port), ["res_agi", "res_speech"], ["agent1", "agent2"], timeout=10)
    finally:
        await server.stop()
    assert found == []
    asked = [m.get("module") for m in server.received if m.get("action") == "ModuleCheck"]
    assert asked == ["res_agi", "res_speech"]


async def test_live_asterisk_missing_a_module_and_an_endpoint(asterisk_captures: Path) -> None:
    server = _server(asterisk_captures, {"res_agi"})
    port = await server.start()
    try:
        found = await live_findings(_settings(port), ["res_agi", "res_speech"], ["agent1", "agent7"], timeout=10)
    finally:
        await server.stop()
    assert [f.problem for f in found] == [
        "module res_speech is not loaded (Module not loaded)",
        "Asterisk has no PJSIP endpoint agent7 (an agent Puente rings)",
    ]
    assert found[0].file == f"AMI 127.0.0.1:{port}" and "load => res_speech.so" in found[0].fix


async def test_live_check_that_cannot_log_in_says_so(asterisk_captures: Path) -> None:
    server = _server(asterisk_captures, set())
    port = await server.start()
    try:
        found = await live_findings(_settings(port, secret="wrong"), ["res_agi"], [], timeout=1.0)
    finally:
        await server.stop()
    assert len(found) == 1 and found[0].problem == "cannot log in as labadmin within 1 s"


def test_the_check_command_asks_the_live_asterisk(asterisk_captures: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """``ivr asterisk check --ami``: the fake AMI runs on its own loop in a thread, as Asterisk would
    run beside the command's own ``asyncio.run``."""
    import threading

    from click.testing import CliRunner

    from ivr.cli import main
    from tests.asterisk.support import deployed

    conf, data = deployed(tmp_path)
    server = _server(asterisk_captures, {"res_agi"})  # everything else "not loaded"
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    port_box: list[int] = []

    def serve() -> None:
        asyncio.set_event_loop(loop)
        port_box.append(loop.run_until_complete(server.start()))
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, name="fake-ami", daemon=True)
    thread.start()
    try:
        assert ready.wait(10)
        monkeypatch.setenv("IVR_AMI__USERNAME", "labadmin")
        monkeypatch.setenv("IVR_AMI__SECRET", "labsecret")
        result = CliRunner().invoke(main, ["asterisk", "check", str(conf), "--data-dir", str(data),
                                           "--skip", "manager", "--ami", f"127.0.0.1:{port_box[0]}"])
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
    assert result.exit_code == 1
    live = [line for line in result.stdout.splitlines() if line.startswith(f"AMI 127.0.0.1:{port_box[0]}")]
    assert any("module res_speech is not loaded" in line for line in live)
    assert not any("module res_agi is not loaded" in line for line in live)
    assert not any("PJSIP endpoint" in line for line in live)  # agent1 and agent2 are in the capture's list
    asked = {m.get("module") for m in server.received if m.get("action") == "ModuleCheck"}
    assert {"res_agi", "res_speech", "chan_pjsip", "res_pjsip", "res_sorcery_config"} <= asked
