"""pjsip.conf: each Puente agent's phone is an endpoint with its aor and a password, no agent phone
is left over, the trunk's credentials are there, and every endpoint allows G.711."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from ivr.asterisk.checkfiles import Inputs, typed_sections
from ivr.asterisk.conf import Section
from ivr.asterisk.findings import Finding, Severity
from ivr.asterisk.render import AGENT_CONTEXT, pjsip_endpoint

G711 = ("ulaw", "alaw")


def _yaml_line(path: Path, key: str) -> int:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return 0
    pattern = re.compile(rf"^\s+{re.escape(key)}\s*:")
    return next((i for i, line in enumerate(lines, start=1) if pattern.match(line)), 0)


def check_agents(inp: Inputs) -> list[Finding]:
    pjsip = inp.file("pjsip.conf")
    endpoints = {s.name: s for s in typed_sections(pjsip, "endpoint")}
    auths = {s.name: s for s in typed_sections(pjsip, "auth")}
    aors = {s.name for s in typed_sections(pjsip, "aor")}
    findings: list[Finding] = []
    agents_file = str(inp.agents_path)
    rung: set[str] = set()
    for agent_id in sorted(inp.agents):
        agent = inp.agents[agent_id]
        line = _yaml_line(inp.agents_path, agent_id)
        endpoint = pjsip_endpoint(agent.endpoint)
        if endpoint is None:
            findings.append(Finding(agents_file, line, f"agent {agent_id} rings {agent.endpoint}, which only the "
                                    "built-in SIP endpoint can ring (Asterisk cannot)",
                                    f"on Asterisk give it 'endpoint: PJSIP/{agent_id}' and run ivr asterisk render",
                                    Severity.NOTE))
            continue
        rung.add(endpoint)
        section = endpoints.get(endpoint)
        if section is None:
            findings.append(Finding(agents_file, line, f"agent {agent_id} rings PJSIP/{endpoint}, which pjsip.conf "
                                    "does not define (Dial answers CHANUNAVAIL)",
                                    f"run: ivr asterisk render {inp.conf_dir}"))
            continue
        findings += _endpoint_parts(section, auths, aors)
    for name, section in sorted(endpoints.items()):
        if name not in rung and section.value("context") != AGENT_CONTEXT:
            findings += _endpoint_parts(section, auths, aors)  # the trunk: its credentials
        elif section.value("context") == AGENT_CONTEXT and name not in rung:
            findings.append(Finding(section.file, section.line, f"endpoint {name} is an agent phone no Puente "
                                    "agent rings", f"add it to {agents_file} and run ivr asterisk render, "
                                    "or remove it"))
    return findings


def _endpoint_parts(endpoint: Section, auths: Mapping[str, Section], aors: set[str]) -> list[Finding]:
    findings = []
    for aor in (a.strip() for a in endpoint.value("aors").split(",") if a.strip()):
        if aor not in aors:
            findings.append(Finding(endpoint.file, endpoint.line, f"endpoint {endpoint.name} names aor {aor}, "
                                    "which is not defined", "run ivr asterisk render"))
    if not endpoint.value("aors"):
        findings.append(Finding(endpoint.file, endpoint.line, f"endpoint {endpoint.name} has no aors: it cannot "
                                "register or be rung", "run ivr asterisk render"))
    names = endpoint.value("auth").split(",") + endpoint.value("outbound_auth").split(",")
    for name in (a.strip() for a in names if a.strip()):
        auth = auths.get(name)
        if auth is None:
            findings.append(Finding(endpoint.file, endpoint.line, f"endpoint {endpoint.name} names auth {name}, "
                                    "which is not defined", "run ivr asterisk render"))
        elif not auth.value("password") and not auth.value("md5_cred") and not auth.value("password_digest"):
            findings.append(Finding(auth.file, auth.line, f"auth {name} has no password: Asterisk refuses it "
                                    f"(endpoint {endpoint.name} cannot authenticate)",
                                    f"run: ivr asterisk render {Path(auth.file).parent} --secrets "
                                    "(writes pjsip_secrets.conf)"))
    return findings


def check_codecs(inp: Inputs) -> list[Finding]:
    findings = []
    for section in typed_sections(inp.file("pjsip.conf"), "endpoint"):
        allowed: set[str] = set()
        for entry in section.entries:
            codecs = {c.strip().lower() for c in entry.value.split(",")}
            if entry.key.lower() == "disallow" and "all" in codecs:
                allowed.clear()
            elif entry.key.lower() == "allow":
                allowed |= codecs
            elif entry.key.lower() == "disallow":
                allowed -= codecs
        if not allowed & set(G711):
            findings.append(Finding(section.file, section.line, f"endpoint {section.name} allows neither ulaw nor "
                                    "alaw (Puente's prompts and AudioSocket are 8 kHz)", "add 'allow = ulaw,alaw'"))
    return findings
