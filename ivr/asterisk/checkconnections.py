"""Puente's connections to Asterisk: the dialplan's AGI and AudioSocket addresses reach Puente's
listeners, and AMI listens where Puente connects, with a user Puente can log in as and act with."""

from __future__ import annotations

from pathlib import Path

from ivr.asterisk import dialplan as dp
from ivr.asterisk.checkfiles import Inputs
from ivr.asterisk.conf import Section
from ivr.asterisk.findings import Finding

# AMI classes Puente needs: read = the events it follows (DeviceStateChange/Hangup/Dial*/Originate
# responses: call; Queue*: agent; FullyBooted/Shutdown: system); write = the actions it sends
# (Originate: originate; DeviceStateList: call/reporting; CoreShowChannels, ModuleCheck,
# PJSIPShowEndpoints: system; Hangup/Redirect: call).
AMI_READ = ("system", "call", "agent")
AMI_WRITE = ("system", "call", "originate", "reporting")
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
ANY_HOSTS = {"0.0.0.0", "::", ""}


def _reaches(host: str, port: int, bind_host: str, bind_port: int) -> bool:
    if port != bind_port:
        return False
    if bind_host in ANY_HOSTS:
        return True
    if host == bind_host:
        return True
    return host in LOCAL_HOSTS and bind_host in LOCAL_HOSTS


def check_addresses(inp: Inputs) -> list[Finding]:
    findings = []
    agi = inp.settings.agi
    for target in dp.agi_targets(inp.file("extensions.conf")):
        if not _reaches(target.host, target.port, agi.host, agi.port):
            findings.append(Finding(target.entry.file, target.entry.line,
                                    f"AGI goes to {target.host}:{target.port}, Puente's FastAGI listens on "
                                    f"{agi.host}:{agi.port}",
                                    f"write agi://{_reachable(agi.host)}:{agi.port}/ here, or set "
                                    "IVR_AGI__HOST / IVR_AGI__PORT"))
    audio = inp.settings.audiosocket
    for use in dp.applications(inp.file("extensions.conf")):
        if use.name.lower() != "audiosocket":
            continue
        address = use.args.split(",")[1].strip() if "," in use.args else ""
        a_host, _, a_port = address.rpartition(":")
        if not (a_port.isdigit() and _reaches(a_host, int(a_port), audio.host, audio.port)):
            findings.append(Finding(use.entry.file, use.entry.line, f"AudioSocket goes to {address or '(nothing)'}, "
                                    f"Puente's AudioSocket listens on {audio.host}:{audio.port}",
                                    f"write {_reachable(audio.host)}:{audio.port} here"))
    host, _, port = audio.advertised.rpartition(":")
    if audio.enabled and not (port.isdigit() and _reaches(host, int(port), audio.host, audio.port)):
        findings.append(Finding("IVR_AUDIOSOCKET__ADVERTISED", 0,
                                f"Asterisk is told to connect to {audio.advertised}, Puente's AudioSocket listens on "
                                f"{audio.host}:{audio.port}",
                                "make IVR_AUDIOSOCKET__ADVERTISED an address that reaches IVR_AUDIOSOCKET__HOST/PORT"))
    return findings


def _reachable(bind_host: str) -> str:
    return "127.0.0.1" if bind_host in ANY_HOSTS else bind_host


def _classes(value: str) -> set[str]:
    return {c.strip().lower() for c in value.split(",") if c.strip()}


def check_manager(inp: Inputs) -> list[Finding]:
    manager = inp.file("manager.conf")
    path = inp.path("manager.conf")
    ami = inp.settings.ami
    general = manager.first("general")
    findings = []
    if general is None or general.value("enabled").lower() not in ("yes", "true", "1", "on"):
        findings.append(Finding(path, general.line if general else 0, "AMI is not enabled ([general] enabled)",
                                "set 'enabled = yes'"))
    if general is not None:
        bind = general.get("bindaddr")
        bind_host = bind.value if bind is not None else "0.0.0.0"
        line = bind.line if bind is not None else general.line
        if bind_host in ANY_HOSTS:
            findings.append(Finding(path, line, f"AMI listens on every interface ({bind_host or 'default'}): it can "
                                    "originate calls", "set 'bindaddr = 127.0.0.1' (or a private address)"))
        port = int(general.value("port", "5038") or 5038)
        if ami.enabled and not _reaches(ami.host, ami.port, bind_host, port):
            findings.append(Finding(path, line, f"Puente connects to AMI at {ami.host}:{ami.port}, Asterisk listens "
                                    f"on {bind_host}:{port}", "make bindaddr/port and IVR_AMI__HOST/PORT agree"))
    users = {s.name: s for s in manager.resolved() if s.name != "general"}
    user = users.get(ami.username)
    if user is None:
        findings.append(Finding(path, 0, f"no AMI user [{ami.username}] (IVR_AMI__USERNAME)",
                                "add the [puente] section of Puente's manager.conf"))
        return findings
    findings += _manager_user(user, ami.secret)
    return findings


def _manager_user(user: Section, secret: str) -> list[Finding]:
    findings = []
    secret_entry = user.get("secret")
    if secret_entry is None or not secret_entry.value:
        findings.append(Finding(user.file, user.line, f"AMI user {user.name} has no secret: Puente cannot log in",
                                f"run: ivr asterisk render {Path(user.file).parent} --secrets "
                                "(writes manager_secrets.conf from IVR_AMI__SECRET)"))
    elif secret and secret_entry.value != secret:
        findings.append(Finding(secret_entry.file, secret_entry.line, f"AMI user {user.name}'s secret is not "
                                "IVR_AMI__SECRET", "render --secrets again, or set IVR_AMI__SECRET to match"))
    for key, needed in (("read", AMI_READ), ("write", AMI_WRITE)):
        entry = user.get(key)
        have = _classes(entry.value) if entry is not None else set()
        missing = [c for c in needed if c not in have and "all" not in have]
        if missing:
            findings.append(Finding(user.file, entry.line if entry else user.line,
                                    f"AMI user {user.name} lacks {key} permission {', '.join(missing)}",
                                    f"'{key} = {','.join(sorted(have | set(missing)))}'"))
    permits = [e.value.strip() for e in user.all("permit")]
    if not permits or any(p.startswith("0.0.0.0/0") for p in permits):
        findings.append(Finding(user.file, user.line, f"AMI user {user.name} may log in from anywhere",
                                "add 'deny = 0.0.0.0/0.0.0.0' and 'permit = 127.0.0.1/255.255.255.255'"))
    return findings
