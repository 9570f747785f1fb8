"""``ivr asterisk check --ami``: the same questions asked of a running Asterisk over AMI.

``ModuleCheck`` for every module Puente needs (with what they require), ``PJSIPShowEndpoints``
for every agent's endpoint. The session is Puente's own supervised AMI client, used once.
"""

from __future__ import annotations

from collections.abc import Iterable

from ivr.ami.client import AmiClient
from ivr.ami.errors import AmiNotConnected, AmiTimeout
from ivr.asterisk.findings import Finding
from ivr.settings import AmiSettings


async def live_findings(settings: AmiSettings, modules: Iterable[str], endpoints: Iterable[str], *,
                        timeout: float = 5.0) -> list[Finding]:
    where = f"AMI {settings.host}:{settings.port}"
    client = AmiClient(settings, connect_timeout=timeout, action_timeout=timeout)
    async with client:
        try:
            await client.wait_connected(timeout)
        except TimeoutError:
            return [Finding(where, 0, f"cannot log in as {settings.username} within {timeout:g} s",
                            "check that Asterisk runs, manager.conf's bindaddr/port and the user's secret "
                            "(IVR_AMI__HOST/PORT/USERNAME/SECRET)")]
        try:
            return await _ask(client, where, modules, endpoints)
        except (AmiNotConnected, AmiTimeout) as exc:
            return [Finding(where, 0, f"the AMI session failed: {exc}", "check Asterisk's log and try again")]


async def _ask(client: AmiClient, where: str, modules: Iterable[str], endpoints: Iterable[str]) -> list[Finding]:
    findings: list[Finding] = []
    for module in modules:
        answer = await client.send_action({"Action": "ModuleCheck", "Module": module})
        first = answer[0] if answer else None
        if first is None or (first.response or "").lower() != "success":
            why = first.get("Message", "no answer") if first is not None else "no answer"
            findings.append(Finding(where, 0, f"module {module} is not loaded ({why})",
                                    f"add 'load => {module}.so' to modules.conf, then: "
                                    f"asterisk -rx 'module load {module}.so'"))
    listed = await client.send_action({"Action": "PJSIPShowEndpoints"})
    if listed and (listed[0].response or "").lower() == "error":
        refused = Finding(where, 0, f"PJSIPShowEndpoints refused: {listed[0].get('Message')}",
                          "give the AMI user 'write = system' and load res_pjsip")
        return [*findings, refused]
    names = {m.get("ObjectName") for m in listed if (m.event or "").lower() == "endpointlist"}
    for endpoint in endpoints:
        if endpoint not in names:
            findings.append(Finding(where, 0, f"Asterisk has no PJSIP endpoint {endpoint} (an agent Puente rings)",
                                    "copy the rendered pjsip.conf and run: asterisk -rx 'module reload res_pjsip.so'"))
    return findings
