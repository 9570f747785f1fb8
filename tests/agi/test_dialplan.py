"""The shipped Asterisk configuration parses and says what Puente relies on."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ivr.channels.agi.environment import parse_route
from ivr.settings import AgiSettings

CONF_DIR = Path(__file__).resolve().parents[2] / "dialplan" / "asterisk"
FILES = ["extensions.conf", "pjsip.conf", "queues.conf", "manager.conf", "musiconhold.conf", "rtp.conf",
         "modules.conf"]
_SECTION_RE = re.compile(r"^\[([A-Za-z0-9_+.-]+)\](\((?:!|[A-Za-z0-9_-]+(?:,[A-Za-z0-9_-]+)*)\))?$")
_KEY_RE = re.compile(r"^([A-Za-z0-9_.-]+)\s*=>?\s*(.*)$")
_CONTINUATION_RE = re.compile(r"^same\s*=>\s*(.*)$")


@dataclass
class Section:
    name: str
    template: str | None
    entries: list[tuple[str, str]] = field(default_factory=list)

    def values(self, key: str) -> list[str]:
        return [v for k, v in self.entries if k == key]


def parse_conf(path: Path) -> list[Section]:
    """Asterisk's .conf syntax: [section](template), key = value, key => value, ; comments."""
    sections: list[Section] = []
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.split(";", 1)[0].strip()
        if not line or line.startswith("#"):  # #include / #tryinclude (the secrets files)
            continue
        if line.startswith("["):
            match = _SECTION_RE.match(line)
            assert match, f"{path.name}:{number}: bad section header {raw!r}"
            sections.append(Section(match.group(1), match.group(2)))
            continue
        assert sections, f"{path.name}:{number}: entry outside a section"
        if cont := _CONTINUATION_RE.match(line):
            assert sections[-1].entries and sections[-1].entries[-1][0] in ("exten", "same"), (
                f"{path.name}:{number}: 'same =>' without an extension")
            sections[-1].entries.append(("same", cont.group(1)))
            continue
        match = _KEY_RE.match(line)
        assert match, f"{path.name}:{number}: not key = value: {raw!r}"
        sections[-1].entries.append((match.group(1), match.group(2).strip()))
    return sections


def section(sections: list[Section], name: str, type_: str | None = None) -> Section:
    for s in sections:
        if s.name == name and (type_ is None or type_ in s.values("type") or s.template is not None):
            return s
    raise AssertionError(f"no section [{name}]")


@pytest.mark.parametrize("name", FILES)
def test_files_parse(name: str) -> None:
    assert parse_conf(CONF_DIR / name)


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"(": 1, ")": -1, "{": 1, "}": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def test_extensions_are_well_formed() -> None:
    for s in parse_conf(CONF_DIR / "extensions.conf"):
        for key, value in s.entries:
            if key in ("exten", "same"):
                assert _balanced(value), f"[{s.name}] unbalanced: {value}"
            if key == "exten":
                assert re.match(r"^[^,]+,(\d+|n|hint)(\([a-z-]+\))?,", value), f"[{s.name}] {value}"


def test_support_number_goes_to_puente_with_a_queue_fallback() -> None:
    sections = parse_conf(CONF_DIR / "extensions.conf")
    support = section(sections, "puente-support")
    lines = support.values("exten") + support.values("same")
    agi = [line for line in lines if "AGI(" in line]
    assert len(agi) == 1
    url = re.search(r"AGI\((agi://[^,)]+)", agi[0])
    assert url is not None
    assert url.group(1).startswith(f"agi://127.0.0.1:{AgiSettings().port}/")
    assert parse_route(url.group(1)).script == "support"
    assert any('GotoIf($["${PUENTE_RESULT}" = "done"]' in line for line in lines)
    # the trunk's support number reaches it
    trunk = section(sections, "from-trunk").values("exten")
    assert any("Goto(puente-support,s,1)" in line for line in trunk)
    # the fallback queues on the caller's choice, else general
    fallback = section(sections, "puente-fallback")
    queue_lines = [line for line in fallback.values("same") if "Queue(" in line]
    assert 'Queue(puente-${IF($["${PUENTE_QUEUE}" != ""]?${PUENTE_QUEUE}:${PUENTE_FALLBACK_QUEUE})}' in queue_lines[0]
    assert ("PUENTE_FALLBACK_QUEUE", "general") in section(sections, "globals").entries


def test_callback_context_passes_the_id() -> None:
    cb = section(parse_conf(CONF_DIR / "extensions.conf"), "callback-agi")
    lines = cb.values("exten") + cb.values("same")
    assert any("AGI(agi://127.0.0.1:4573/callback,${CALLBACK_ID})" in line for line in lines)


def test_fallback_queues_have_the_agents() -> None:
    queues = parse_conf(CONF_DIR / "queues.conf")
    names = {s.name for s in queues}
    # "[general]" is queues.conf's settings section, so Asterisk's queues carry a prefix
    assert {"puente-billing", "puente-support", "puente-general"} <= names
    for name in ("puente-billing", "puente-support", "puente-general"):
        assert section(queues, name).template == "(fallback-template)"
    members = {m.split(",")[0] for s in queues for m in s.values("member")}
    assert members == {"PJSIP/agent1", "PJSIP/agent2"}  # dialplan/agents.yaml's Asterisk agents
    pjsip = parse_conf(CONF_DIR / "pjsip.conf")
    endpoints = {s.name for s in pjsip if s.template == "(agent-endpoint)"}
    assert endpoints == {"agent1", "agent2"}


def test_manager_user_is_local_with_originate() -> None:
    puente = section(parse_conf(CONF_DIR / "manager.conf"), "puente")
    assert puente.values("permit") == ["127.0.0.1/255.255.255.255"]
    assert puente.values("deny") == ["0.0.0.0/0.0.0.0"]
    assert "originate" in puente.values("write")[0].split(",")
    general = section(parse_conf(CONF_DIR / "manager.conf"), "general")
    assert general.values("bindaddr") == ["127.0.0.1"]


def test_modules_needed_by_puente_are_loaded() -> None:
    loads = section(parse_conf(CONF_DIR / "modules.conf"), "modules").values("load")
    for module in ("res_agi.so", "app_dial.so", "app_queue.so", "res_musiconhold.so", "app_audiosocket.so"):
        assert module in loads


def test_the_answer_hook_context_reports_to_puente_and_returns() -> None:
    """Dial's U() answer hook (round3/dial-answer-hook-*.txt): the context the AGI channel names,
    one AGI to the agent-answered script with the token, then Return() so the bridge goes on."""
    from ivr.channels.agi.answer_hook import ANSWER_HOOK_SCRIPT

    sections = parse_conf(CONF_DIR / "extensions.conf")
    hook = section(sections, AgiSettings().answer_hook_context)
    steps = [v for k, v in hook.entries if k in ("exten", "same")]
    assert steps[0].startswith("s,1,AGI(")
    url = steps[0][len("s,1,AGI("):].rstrip(")")
    address, _, args = url.partition(",")
    assert parse_route(address).script == ANSWER_HOOK_SCRIPT and args == "${ARG1}"
    assert steps[-1] == "n,Return()"
