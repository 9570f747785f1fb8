"""One source of truth for agents: pjsip.conf and queues.conf are rendered from agents.yaml and
queues.yaml, and the shipped files are exactly that render."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from ivr.acd.config import AgentConfig, QueueConfig, load_agents, load_queues
from ivr.asterisk.conf import load, parse_text
from ivr.asterisk.render import (
    existing_passwords,
    members_of,
    render_pjsip,
    render_pjsip_secrets,
    render_queues,
    secret_env_name,
)
from ivr.cli import main
from ivr.settings import PROJECT_ROOT
from tests.asterisk.support import SHIPPED

DIALPLAN = PROJECT_ROOT / "dialplan"


def test_shipped_files_are_a_fresh_render() -> None:
    agents = load_agents(DIALPLAN / "agents.yaml")
    queues = load_queues(DIALPLAN / "queues.yaml")
    assert (SHIPPED / "pjsip.conf").read_text() == render_pjsip(agents), "run: ivr asterisk render dialplan/asterisk"
    assert (SHIPPED / "queues.conf").read_text() == render_queues(queues, agents)


def test_every_asterisk_agent_has_an_endpoint_auth_and_aor_and_sip_agents_none() -> None:
    agents = {"a1": AgentConfig("a1", "Ana", "PJSIP/ana"), "b": AgentConfig("b", "Web", "sip:b@127.0.0.1:5080")}
    conf = parse_text(render_pjsip(agents), "pjsip.conf")
    by_type = {(s.name, s.value("type")) for s in conf.resolved()}
    assert {("ana", "endpoint"), ("ana-auth", "auth"), ("ana", "aor")} <= by_type
    assert not any(name.startswith("b") for name, _ in by_type)
    endpoint = next(s for s in conf.resolved() if s.name == "ana" and s.value("type") == "endpoint")
    assert endpoint.value("context") == "from-agents" and endpoint.value("allow") == "ulaw,alaw"
    assert endpoint.value("callerid") == '"Ana" <ana>'
    assert all(not s.value("password") for s in conf.resolved()), "no password is ever rendered"


def test_queue_members_are_the_agents_whose_skills_meet_the_queue() -> None:
    agents = {"x": AgentConfig("x", "X", "PJSIP/x", {"billing": 2}),
              "y": AgentConfig("y", "Y", "PJSIP/y", {"billing": 1, "support": 1}),
              "z": AgentConfig("z", "Z", "sip:z@h", {"billing": 5})}
    billing2 = QueueConfig("vip", skills={"billing": 2}, ring_timeout=12, wrap_up_seconds=7, music_class="jazz")
    assert [a.agent_id for a in members_of(billing2, agents)] == ["x"]
    assert [a.agent_id for a in members_of(QueueConfig("general"), agents)] == ["x", "y"]
    (vip,) = [s for s in parse_text(render_queues({"vip": billing2}, agents), "q.conf").resolved()
              if s.name == "puente-vip"]
    assert vip.value("timeout") == "12" and vip.value("wrapuptime") == "7" and vip.value("musicclass") == "jazz"
    assert [m.value for m in vip.all("member")] == ["PJSIP/x,0,X,PJSIP/x"]


def test_secrets_come_from_the_environment_then_the_earlier_file_then_random() -> None:
    agents = {"a": AgentConfig("a", "A", "PJSIP/agent1"), "b": AgentConfig("b", "B", "PJSIP/agent2")}
    assert secret_env_name("agent1-auth") == "PUENTE_SIP_PASSWORD_AGENT1"
    result = render_pjsip_secrets(agents, {"PUENTE_SIP_PASSWORD_AGENT1": "from-env"}, {"agent2-auth": "kept"})
    passwords = {s.name: s.value("password") for s in parse_text(result.text, "s.conf").sections}
    assert passwords["agent1-auth"] == "from-env" and passwords["agent2-auth"] == "kept"
    assert len(passwords["trunk-auth"]) >= 20 and result.generated == ("trunk-auth",)
    again = render_pjsip_secrets(agents, {}, {})
    assert again.generated == ("agent1-auth", "agent2-auth", "trunk-auth")
    with pytest.raises(ValueError, match="PUENTE_SIP_PASSWORD_AGENT1"):
        render_pjsip_secrets(agents, {"PUENTE_SIP_PASSWORD_AGENT1": "a;b"}, {})


def test_render_command_writes_files_and_private_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IVR_AMI__SECRET", "ami-s")
    monkeypatch.setenv("PUENTE_SIP_PASSWORD_AGENT1", "pw-one")
    out = tmp_path / "conf"
    result = CliRunner().invoke(main, ["asterisk", "render", str(out), "--secrets"])
    assert result.exit_code == 0, result.output
    assert (out / "pjsip.conf").read_text() == (SHIPPED / "pjsip.conf").read_text()
    assert (out / "pjsip_site.conf").read_text() == (SHIPPED / "pjsip_site.conf").read_text()  # a sample, once
    for name in ("pjsip_secrets.conf", "manager_secrets.conf"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o600
    assert existing_passwords(out / "pjsip_secrets.conf")["agent1-auth"] == "pw-one"
    assert "pw-one" not in result.output and "ami-s" not in result.output
    # the secrets complete the rendered auth sections the way Asterisk reads them (#tryinclude + (+))
    (out / "manager.conf").write_text((SHIPPED / "manager.conf").read_text())
    auth = next(s for s in load(out / "pjsip.conf").resolved() if s.name == "agent1-auth")
    assert auth.value("password") == "pw-one" and auth.value("username") == "agent1"
    user = next(s for s in load(out / "manager.conf").resolved() if s.name == "puente")
    assert user.value("secret") == "ami-s"
    # a second render keeps the random passwords it made
    first = existing_passwords(out / "pjsip_secrets.conf")
    monkeypatch.delenv("PUENTE_SIP_PASSWORD_AGENT1")
    (out / "pjsip_site.conf").write_text("; my trunk\n")
    assert CliRunner().invoke(main, ["asterisk", "render", str(out), "--secrets"]).exit_code == 0
    assert existing_passwords(out / "pjsip_secrets.conf") == first
    assert (out / "pjsip_site.conf").read_text() == "; my trunk\n"  # never overwritten


def test_render_secrets_refuses_without_an_ami_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IVR_AMI__SECRET", raising=False)
    result = CliRunner().invoke(main, ["asterisk", "render", str(tmp_path), "--secrets"])
    assert result.exit_code == 1
    assert "IVR_AMI__SECRET is empty" in result.output
    assert not (tmp_path / "pjsip_secrets.conf").exists()
