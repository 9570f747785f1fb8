"""Where Puente sends calls in Asterisk: the contexts and the trunk it dials into exist, and so do
the queues the dialplan names and each Puente queue's fallback queue (with endpoints as members)."""

from __future__ import annotations

import re

from ivr.asterisk import dialplan as dp
from ivr.asterisk.checkfiles import Inputs, typed_sections
from ivr.asterisk.findings import Finding
from ivr.asterisk.render import FALLBACK_PREFIX, pjsip_endpoint


def check_originate(inp: Inputs) -> list[Finding]:
    """What Puente dials into must exist: Dial's answer-hook context, the desk's hold context, the
    callbacks' AGI context, the Local/ dial-out context, and the trunk endpoint customers are dialled through."""
    cb = inp.settings.callbacks
    contexts = {s.name for s in inp.file("extensions.conf").sections}
    extensions = inp.path("extensions.conf")
    findings = []
    wanted = {cb.ami_context: "IVR_CALLBACKS__AMI_CONTEXT"}
    if inp.settings.agi.answer_hook_context:
        # Dial's U() names it on every bridge; Puente learns that the agent answered from it.
        wanted[inp.settings.agi.answer_hook_context] = "IVR_AGI__ANSWER_HOOK_CONTEXT"
    if inp.settings.agi.agent_hold_context:
        # The desk's hold redirects the agent's channel there (AMI Redirect).
        wanted[inp.settings.agi.agent_hold_context] = "IVR_AGI__AGENT_HOLD_CONTEXT"
    local = re.fullmatch(r"Local/[^@]+@([^/,]+)", cb.customer_originate)
    if local:
        wanted[local.group(1)] = "IVR_CALLBACKS__CUSTOMER_ORIGINATE"
    for context, setting in wanted.items():
        if context not in contexts:
            findings.append(Finding(extensions, 0, f"no context [{context}], which Puente dials into "
                                    f"({setting})", f"add [{context}] from Puente's dialplan/asterisk/extensions.conf"))
    endpoints = {s.name for s in typed_sections(inp.file("pjsip.conf"), "endpoint")}
    trunk = re.fullmatch(r"PJSIP/\{number\}@([A-Za-z0-9_.-]+)", cb.customer_dial)
    if trunk and trunk.group(1) not in endpoints:
        findings.append(Finding(inp.path("pjsip.conf"), 0, f"no endpoint {trunk.group(1)}, which "
                                f"IVR_CALLBACKS__CUSTOMER_DIAL ({cb.customer_dial}) dials customers through",
                                "define it in pjsip_site.conf"))
    return findings


def check_queues(inp: Inputs) -> list[Finding]:
    queues_conf = inp.file("queues.conf")
    defined = {s.name for s in queues_conf.resolved()} - {"general"}
    findings = []
    for name in sorted(inp.queues):
        if FALLBACK_PREFIX + name not in defined:
            findings.append(Finding(inp.path("queues.conf"), 0, f"no fallback queue {FALLBACK_PREFIX}{name} for "
                                    f"Puente's queue {name}: a caller who chose it gets Queue() UNKNOWN",
                                    f"run: ivr asterisk render {inp.conf_dir}"))
    for name, entry in dp.queue_names(inp.file("extensions.conf")):
        if name not in defined:
            findings.append(Finding(entry.file, entry.line, f"Queue({name}) is not in queues.conf",
                                    f"define [{name}] in queues.conf or change the queue name"))
    endpoints = {s.name for s in typed_sections(inp.file("pjsip.conf"), "endpoint")}
    for section in queues_conf.resolved():
        for member in section.all("member"):
            interface = member.value.split(",", 1)[0].strip()
            endpoint = pjsip_endpoint(interface)
            if endpoint is not None and endpoint not in endpoints:
                findings.append(Finding(member.file, member.line, f"queue member {interface} is not a pjsip.conf "
                                        "endpoint", f"run: ivr asterisk render {inp.conf_dir}"))
    return findings
