"""``ivr asterisk check``: clean on the shipped configuration as deployed, and each kind of mismatch
found in a broken copy, with the file and line to fix."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from ivr.asterisk.check import problems, run_checks
from ivr.asterisk.cli import inputs_for
from ivr.asterisk.findings import Finding, Severity
from ivr.cli import main
from ivr.settings import Settings
from tests.asterisk.support import AMI_SECRET, deploy_settings, deployed, edit


def findings(conf: Path, data: Path | None, settings: Settings | None = None) -> list[Finding]:
    return run_checks(inputs_for(settings or deploy_settings(), conf, data))


def only_problem(conf: Path, data: Path | None, settings: Settings | None = None) -> Finding:
    found = problems(findings(conf, data, settings))
    assert len(found) == 1, "\n".join(f.render() for f in found)
    return found[0]


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), start=1) if text in line)


def test_the_shipped_configuration_as_deployed_is_clean(tmp_path: Path) -> None:
    conf, data = deployed(tmp_path)
    found = findings(conf, data)
    assert problems(found) == []
    # the one note: agent3 is the built-in SIP endpoint's (the walkthrough without Asterisk)
    assert [f.problem.split(",")[0] for f in found] == ["agent agent3 rings sip:agent3@127.0.0.1:5080"]
    assert found[0].severity is Severity.NOTE


def test_the_shipped_files_without_secrets_say_to_render_them() -> None:
    from tests.asterisk.support import SHIPPED

    found = problems(findings(SHIPPED, None))
    assert found and all("--secrets" in f.fix for f in found)
    assert {f.problem.split(" ")[1] for f in found} == {"agent1-auth", "agent2-auth", "trunk-auth", "user"}


def test_res_agi_without_res_speech_is_the_dropped_caller_of_round_3(tmp_path: Path) -> None:
    conf, data = deployed(tmp_path)
    edit(conf / "modules.conf", "load => res_speech.so", "")
    found = only_problem(conf, data)
    assert found.file == str(conf / "modules.conf")
    assert found.line == line_of(conf / "modules.conf", "load => res_agi.so")  # where Asterisk's error points
    assert "res_speech is not loaded" in found.problem and "res_agi -> res_speech" in found.problem
    assert found.fix == "add 'load => res_speech.so'"


def test_a_module_the_dialplan_uses_is_missing(tmp_path: Path) -> None:
    conf, data = deployed(tmp_path)
    edit(conf / "modules.conf", "load => func_logic.so", "")
    found = only_problem(conf, data)
    assert "func_logic is not loaded (${IF()} at extensions.conf:" in found.problem


def test_noload_of_a_needed_module_with_autoload(tmp_path: Path) -> None:
    conf, data = deployed(tmp_path)
    (conf / "modules.conf").write_text("[modules]\nautoload = yes\nnoload => app_queue.so\n")
    found = only_problem(conf, data)
    assert (found.line, found.fix) == (3, "remove 'noload => app_queue.so'")


def test_agi_address_that_does_not_reach_puente(tmp_path: Path) -> None:
    conf, data = deployed(tmp_path)
    edit(conf / "extensions.conf", "agi://127.0.0.1:4573/support", "agi://127.0.0.1:4574/support")
    found = only_problem(conf, data)
    assert found.line == line_of(conf / "extensions.conf", "agi://127.0.0.1:4574/support")
    assert "AGI goes to 127.0.0.1:4574, Puente's FastAGI listens on 127.0.0.1:4573" in found.problem
    # for a Puente listening on 4574 the support line is right; the callback and answer-hook lines are to fix
    others = problems(findings(conf, data, deploy_settings(agi={"port": 4574})))
    assert sorted(f.line for f in others) == sorted([
        line_of(conf / "extensions.conf", "agi://127.0.0.1:4573/callback"),
        line_of(conf / "extensions.conf", "agi://127.0.0.1:4573/agent-answered"),
    ])


def test_a_missing_answer_hook_context_is_found(tmp_path: Path) -> None:
    conf, data = deployed(tmp_path)
    edit(conf / "extensions.conf", "[puente-agent-answered]", "[renamed-hook]")
    found = only_problem(conf, data)
    assert "no context [puente-agent-answered]" in found.problem
    assert "IVR_AGI__ANSWER_HOOK_CONTEXT" in found.problem


def test_puente_listening_everywhere_is_reached_by_any_host(tmp_path: Path) -> None:
    conf, data = deployed(tmp_path)
    edit(conf / "extensions.conf", "agi://127.0.0.1:4573/support", "agi://10.1.2.3:4573/support")
    assert "AGI goes to 10.1.2.3:4573" in only_problem(conf, data).problem
    assert problems(findings(conf, data, deploy_settings(agi={"host": "0.0.0.0"}))) == []


def test_audiosocket_advertised_address_must_reach_the_server(tmp_path: Path) -> None:
    conf, data = deployed(tmp_path)
    found = only_problem(conf, data, deploy_settings(audiosocket={"advertised": "127.0.0.1:9093"}))
    assert found.file == "IVR_AUDIOSOCKET__ADVERTISED" and "9093" in found.problem


def test_agent_without_endpoint_and_endpoint_without_agent(tmp_path: Path) -> None:
    conf, data = deployed(tmp_path)
    text = (conf / "pjsip.conf").read_text()
    start = text.index("; agent2: Agent Two")
    end = text.index("[agent2](agent-aor)") + len("[agent2](agent-aor)")
    (conf / "pjsip.conf").write_text(text[:start] + text[end:] + "\n[agent9](agent-endpoint)\naors = agent1\n")
    found = problems(findings(conf, data))
    assert len(found) == 5, "\n".join(f.render() for f in found)
    agent2 = next(f for f in found if "agent agent2" in f.problem)
    assert agent2.file.endswith("agents.yaml") and agent2.line == 10
    assert "PJSIP/agent2, which pjsip.conf does not define" in agent2.problem
    assert any("endpoint agent9 is an agent phone no Puente agent rings" in f.problem for f in found)
    members = [f for f in found if "queue member PJSIP/agent2 is not a pjsip.conf endpoint" in f.problem]
    assert len(members) == 2  # puente-general and puente-support
    # the secrets rendered for the old agent2 add to a section that is gone: Asterisk would refuse pjsip.conf
    stale = next(f for f in found if "(+)" in f.problem)
    assert stale.file.endswith("pjsip_secrets.conf") and stale.problem.startswith("[agent2-auth](+)")


def test_missing_fallback_queue(tmp_path: Path) -> None:
    conf, data = deployed(tmp_path)
    edit(conf / "queues.conf", "[puente-billing](fallback-template)", "[billing](fallback-template)")
    found = only_problem(conf, data)
    assert "no fallback queue puente-billing for Puente's queue billing" in found.problem
    assert "ivr asterisk render" in found.fix


def test_queue_named_in_the_dialplan_but_not_defined(tmp_path: Path) -> None:
    conf, data = deployed(tmp_path)
    edit(conf / "extensions.conf", "PUENTE_FALLBACK_QUEUE = general", "PUENTE_FALLBACK_QUEUE = vip")
    found = problems(findings(conf, data))
    assert {f.problem for f in found} == {"Queue(puente-vip) is not in queues.conf"}


def test_manager_bound_everywhere(tmp_path: Path) -> None:
    conf, data = deployed(tmp_path)
    edit(conf / "manager.conf", "bindaddr = 127.0.0.1", "bindaddr = 0.0.0.0")
    found = only_problem(conf, data)
    assert found.line == line_of(conf / "manager.conf", "bindaddr")
    assert "AMI listens on every interface" in found.problem


def test_manager_without_originate_write(tmp_path: Path) -> None:
    conf, data = deployed(tmp_path)
    edit(conf / "manager.conf", "write = system,call,originate,reporting,agent", "write = system,call,reporting")
    found = only_problem(conf, data)
    assert found.line == line_of(conf / "manager.conf", "write =")
    assert found.problem == "AMI user puente lacks write permission originate"


def test_manager_secret_that_is_not_puentes(tmp_path: Path) -> None:
    conf, data = deployed(tmp_path)
    found = only_problem(conf, data, Settings(ami={"enabled": True, "secret": "other"}))
    assert found.file.endswith("manager_secrets.conf") and "IVR_AMI__SECRET" in found.problem
    assert AMI_SECRET not in found.render() and "other" not in found.render()


def test_missing_prompts(tmp_path: Path) -> None:
    conf, data = deployed(tmp_path)
    shutil.rmtree(data / "sounds" / "puente" / "en")
    found = only_problem(conf, data)
    assert "prompts are not where Asterisk plays them" in found.problem
    assert found.fix == f"run: ivr prompts build --asterisk-dir {data / 'sounds'}"


def test_music_folder_empty_and_deprecated_random(tmp_path: Path) -> None:
    conf, data = deployed(tmp_path)
    shutil.rmtree(data / "moh")
    edit(conf / "musiconhold.conf", "sort = random", "random = yes")
    found = problems(findings(conf, data))
    assert sorted(f.problem.split(" ")[0] for f in found) == ["'random'", "music"]
    assert any("asterisk-moh-opsound-wav" in f.fix for f in found)


def test_endpoint_without_g711(tmp_path: Path) -> None:
    conf, data = deployed(tmp_path)
    edit(conf / "pjsip.conf", "allow = ulaw,alaw\n", "allow = opus\n")  # the agents' template
    found = problems(findings(conf, data))
    assert {f.problem.split(" ")[1] for f in found} == {"agent1", "agent2"}
    assert all(f.fix == "add 'allow = ulaw,alaw'" for f in found)


def test_indications_without_a_zone_for_its_country(tmp_path: Path) -> None:
    conf, data = deployed(tmp_path)
    edit(conf / "indications.conf", "country = es", "country = jp")
    assert "default country jp has no tone zone" in only_problem(conf, data).problem


def test_a_missing_file(tmp_path: Path) -> None:
    conf, data = deployed(tmp_path)
    (conf / "indications.conf").unlink()
    found = only_problem(conf, data)
    assert found.render() == (f"{conf / 'indications.conf'}: indications.conf is missing — copy it from "
                              "Puente's dialplan/asterisk/indications.conf")


def test_cli_prints_one_line_per_problem_exits_1_and_records(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    conf, data = deployed(tmp_path)
    monkeypatch.setenv("IVR_AMI__SECRET", AMI_SECRET)
    monkeypatch.setenv("IVR_AMI__ENABLED", "true")
    record = tmp_path / "var" / "asterisk-check.json"
    clean = CliRunner().invoke(main, ["asterisk", "check", str(conf), "--data-dir", str(data), "--record",
                                      str(record)])
    assert clean.exit_code == 0, clean.output
    assert json.loads(record.read_text())["problems"] == []
    edit(conf / "modules.conf", "load => res_speech.so", "")
    edit(conf / "manager.conf", "bindaddr = 127.0.0.1", "bindaddr = 0.0.0.0")
    broken = CliRunner().invoke(main, ["asterisk", "check", str(conf), "--data-dir", str(data), "--record",
                                       str(record)])
    assert broken.exit_code == 1
    lines = [line for line in broken.stdout.splitlines() if ": note: " not in line]
    assert len(lines) == 2 and all(" — " in line for line in lines)
    assert lines[0].startswith(f"{conf / 'modules.conf'}:")
    recorded = json.loads(record.read_text())
    assert recorded["problems"] == lines and recorded["checked_at"]
    skipped = CliRunner().invoke(main, ["asterisk", "check", str(conf), "--data-dir", str(data),
                                        "--skip", "modules", "--skip", "manager"])
    assert skipped.exit_code == 0, skipped.output


def test_an_included_file_that_is_missing(tmp_path: Path) -> None:
    conf, data = deployed(tmp_path)
    (conf / "pjsip_site.conf").unlink()
    found = problems(findings(conf, data))
    include = next(f for f in found if f.problem.startswith("#include"))
    assert include.line == line_of(conf / "pjsip.conf", "#include pjsip_site.conf")
    assert include.fix == "copy Puente's dialplan/asterisk/pjsip_site.conf"
    # the trunk went with it: its secret now adds to nothing
    assert any(f.problem.startswith("[trunk-auth](+)") for f in found)


def test_astdatadir_comes_from_asterisk_conf_when_present(tmp_path: Path) -> None:
    conf, data = deployed(tmp_path)
    (conf / "asterisk.conf").write_text(f"[directories](!)\nastetcdir => /etc/asterisk\nastdatadir => {data}\n")
    assert problems(findings(conf, None)) == []
    shutil.rmtree(data / "sounds")
    assert "prompts are not where Asterisk plays them" in only_problem(conf, None).problem


def test_every_shipped_module_is_in_the_requirements_table() -> None:
    """So each one's requirements are checked (a module the table does not know would pass blind)."""
    from ivr.asterisk.conf import load
    from ivr.asterisk.modules import MODULE_REQUIRES
    from tests.asterisk.support import SHIPPED

    section = load(SHIPPED / "modules.conf").first("modules")
    assert section is not None and section.value("autoload") == "no"
    loaded = [e.value.removesuffix(".so") for e in section.all("load")]
    assert len(loaded) == len(set(loaded)), "a module listed twice"
    assert sorted(m for m in loaded if m not in MODULE_REQUIRES) == []


def test_where_callbacks_are_originated_must_exist(tmp_path: Path) -> None:
    conf, data = deployed(tmp_path)
    edit(conf / "extensions.conf", "\n[puente-dial-out]\n", "\n[dial-out]\n")
    found = only_problem(conf, data)
    assert found.problem == ("no context [puente-dial-out], which Puente dials into "
                             "(IVR_CALLBACKS__CUSTOMER_ORIGINATE)")
    moved = deploy_settings(callbacks={"customer_originate": "Local/{number}@dial-out",
                                       "customer_dial": "PJSIP/{number}@carrier"})
    found = only_problem(conf, data, moved)
    assert found.problem.startswith("no endpoint carrier, which IVR_CALLBACKS__CUSTOMER_DIAL")


def test_a_missing_requirement_is_named_with_what_requires_it(tmp_path: Path) -> None:
    conf, data = deployed(tmp_path)
    edit(conf / "modules.conf", "load => res_audiosocket.so\n", "")  # app_ and chan_audiosocket stay listed
    found = problems(findings(conf, data))
    assert {f.problem.split(" (")[0] for f in found} == {"res_audiosocket is not loaded"}
    assert "app_audiosocket -> res_audiosocket" in found[0].problem


def test_an_audiosocket_in_the_dialplan_must_reach_puente(tmp_path: Path) -> None:
    conf, data = deployed(tmp_path)
    edit(conf / "extensions.conf", "exten => 7000,1,Goto(puente-support,s,1)",
         "exten => 7000,1,Goto(puente-support,s,1)\nexten => 7001,1,AudioSocket(${UNIQUEID},127.0.0.1:9999)\n"
         "exten => 7002,1,AudioSocket(${UNIQUEID},127.0.0.1:9092)")
    found = only_problem(conf, data)
    assert found.line == line_of(conf / "extensions.conf", "127.0.0.1:9999")
    assert found.problem == "AudioSocket goes to 127.0.0.1:9999, Puente's AudioSocket listens on 127.0.0.1:9092"
