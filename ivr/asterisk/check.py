"""``ivr asterisk check``: does this Asterisk configuration fit this Puente? One finding per
mismatch, each naming the file and line to change and how (``file:line: problem — fix``).

Every check is a small pure function of parsed files and settings, so each is tested on its own
with a broken copy of the shipped configuration.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ivr.acd.config import AgentConfig, QueueConfig
from ivr.asterisk import dialplan as dp
from ivr.asterisk.conf import ConfError, ConfFile, Entry, Section, load
from ivr.asterisk.modules import (
    APP_MODULES,
    BUILTIN_APPS,
    FUNC_MODULES,
    PUENTE_NEEDS,
    Need,
    module_name,
    requirement_path,
    with_requirements,
)
from ivr.asterisk.render import AGENT_CONTEXT, FALLBACK_PREFIX, pjsip_endpoint
from ivr.settings import Settings

REQUIRED_FILES = ("modules.conf", "extensions.conf", "pjsip.conf", "queues.conf", "manager.conf",
                  "musiconhold.conf", "indications.conf", "rtp.conf")
# AMI classes Puente needs: read = the events it follows (DeviceStateChange/Hangup/Dial*/Originate
# responses: call; Queue*: agent; FullyBooted/Shutdown: system); write = the actions it sends
# (Originate: originate; DeviceStateList: call/reporting; CoreShowChannels, ModuleCheck,
# PJSIPShowEndpoints: system; Hangup/Redirect: call).
AMI_READ = ("system", "call", "agent")
AMI_WRITE = ("system", "call", "originate", "reporting")
G711 = ("ulaw", "alaw")
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
ANY_HOSTS = {"0.0.0.0", "::", ""}


class Severity(enum.StrEnum):
    PROBLEM = "problem"
    NOTE = "note"


@dataclass(frozen=True, slots=True)
class Finding:
    file: str
    line: int  # 0: the file as a whole
    problem: str
    fix: str
    severity: Severity = Severity.PROBLEM

    def render(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        tag = "" if self.severity is Severity.PROBLEM else "note: "
        return f"{where}: {tag}{self.problem} — {self.fix}"


@dataclass(frozen=True)
class Inputs:
    """What the checks read: the Asterisk directory's files, and this Puente's side."""

    conf_dir: Path
    files: Mapping[str, ConfFile]
    settings: Settings
    agents: Mapping[str, AgentConfig]
    queues: Mapping[str, QueueConfig]
    agents_path: Path
    data_dir: Path | None = None
    prompt_keys: tuple[str, ...] = ()
    read_errors: tuple[Finding, ...] = field(default=())

    def file(self, name: str) -> ConfFile:
        return self.files.get(name) or ConfFile(str(self.conf_dir / name))

    def path(self, name: str) -> str:
        return str(self.conf_dir / name)


def read_dir(conf_dir: Path) -> tuple[dict[str, ConfFile], list[Finding]]:
    files: dict[str, ConfFile] = {}
    findings: list[Finding] = []
    for name in (*REQUIRED_FILES, "asterisk.conf"):
        path = conf_dir / name
        if not path.is_file():
            if name != "asterisk.conf":
                findings.append(Finding(str(path), 0, f"{name} is missing",
                                        f"copy it from Puente's dialplan/asterisk/{name}"))
            continue
        try:
            files[name] = load(path)
        except ConfError as exc:
            findings.append(Finding(str(path), 0, str(exc), "fix the file (or run as a user who can read it)"))
    return files, findings


# ------------------------------------------------------------------------------------------ modules


def needed_modules(extensions: ConfFile) -> tuple[dict[str, Need], list[Finding]]:
    """Module -> why, for Puente itself and for each application and function the dialplan uses."""
    needs = {n.module: n for n in PUENTE_NEEDS}
    notes: list[Finding] = []
    for use in dp.applications(extensions):
        name = use.name.lower()
        if name in BUILTIN_APPS:
            continue
        module = APP_MODULES.get(name)
        if module is None:
            notes.append(Finding(use.entry.file, use.entry.line, f"application {use.name}() is not in Puente's "
                                 "module table, its module is not checked", "make sure its module is loaded",
                                 Severity.NOTE))
            continue
        needs.setdefault(module, Need(module, f"{use.name}() at {Path(use.entry.file).name}:{use.entry.line}"))
    for use in dp.functions(extensions):
        module = FUNC_MODULES.get(use.name.lower())
        if module is not None:
            needs.setdefault(module, Need(module, f"${{{use.name}()}} at {Path(use.entry.file).name}:{use.entry.line}"))
    return needs, notes


def check_modules(inp: Inputs) -> list[Finding]:
    modules = inp.file("modules.conf")
    section = modules.first("modules")
    path = inp.path("modules.conf")
    if section is None:
        return [Finding(path, 0, "no [modules] section", "use Puente's dialplan/asterisk/modules.conf")]
    needs, findings = needed_modules(inp.file("extensions.conf"))
    autoload = section.get("autoload")
    autoload_on = autoload is not None and autoload.value.lower() in ("yes", "true", "1", "on")
    loaded = {module_name(e.value): e for e in section.entries
              if e.key.lower() in ("load", "require", "preload", "preload-require")}
    noload = {module_name(e.value): e for e in section.entries if e.key.lower() == "noload"}
    where = autoload.line if autoload is not None else section.line
    # what Puente needs, and what every listed module requires (else that one does not load either)
    for module in with_requirements([*needs, *loaded]):
        if module in noload:
            entry = noload[module]
            findings.append(Finding(entry.file, entry.line, f"{module} is not loaded ({_why(module, needs, loaded)})",
                                    f"remove 'noload => {module}.so'"))
        elif not autoload_on and module not in loaded:
            findings.append(Finding(path, _requirer_line(module, loaded) or where,
                                    f"{module} is not loaded ({_why(module, needs, loaded)})",
                                    f"add 'load => {module}.so'"))
    return findings


def _why(module: str, needs: Mapping[str, Need], loaded: Mapping[str, Entry]) -> str:
    if module in needs:
        return needs[module].why
    for root in [*needs, *loaded]:
        chain = requirement_path(root, module)
        if chain:
            why = f"{' -> '.join(chain)}: Asterisk refuses to load {chain[-2]} without it"
            return f"{why}; {root}: {needs[root].why}" if root in needs else why
    return "needed"


def _requirer_line(module: str, loaded: Mapping[str, Entry]) -> int | None:
    """The line of a loaded module that requires ``module`` (where Asterisk's error will point)."""
    for name, entry in loaded.items():
        chain = requirement_path(name, module)
        if chain and len(chain) > 1:
            return entry.line
    return None


# ------------------------------------------------------------------------------------------ addresses


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
    endpoints = {s.name for s in _typed(inp.file("pjsip.conf"), "endpoint")}
    trunk = re.fullmatch(r"PJSIP/\{number\}@([A-Za-z0-9_.-]+)", cb.customer_dial)
    if trunk and trunk.group(1) not in endpoints:
        findings.append(Finding(inp.path("pjsip.conf"), 0, f"no endpoint {trunk.group(1)}, which "
                                f"IVR_CALLBACKS__CUSTOMER_DIAL ({cb.customer_dial}) dials customers through",
                                "define it in pjsip_site.conf"))
    return findings


# ------------------------------------------------------------------------------------------ pjsip


def _typed(conf: ConfFile, kind: str) -> list[Section]:
    return [s for s in conf.resolved() if s.value("type").lower() == kind]


def _yaml_line(path: Path, key: str) -> int:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return 0
    pattern = re.compile(rf"^\s+{re.escape(key)}\s*:")
    return next((i for i, line in enumerate(lines, start=1) if pattern.match(line)), 0)


def check_agents(inp: Inputs) -> list[Finding]:
    pjsip = inp.file("pjsip.conf")
    endpoints = {s.name: s for s in _typed(pjsip, "endpoint")}
    auths = {s.name: s for s in _typed(pjsip, "auth")}
    aors = {s.name for s in _typed(pjsip, "aor")}
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
    for section in _typed(inp.file("pjsip.conf"), "endpoint"):
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


# ------------------------------------------------------------------------------------------ queues


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
    endpoints = {s.name for s in _typed(inp.file("pjsip.conf"), "endpoint")}
    for section in queues_conf.resolved():
        for member in section.all("member"):
            interface = member.value.split(",", 1)[0].strip()
            endpoint = pjsip_endpoint(interface)
            if endpoint is not None and endpoint not in endpoints:
                findings.append(Finding(member.file, member.line, f"queue member {interface} is not a pjsip.conf "
                                        "endpoint", f"run: ivr asterisk render {inp.conf_dir}"))
    return findings


# ------------------------------------------------------------------------------------------ manager


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


# ------------------------------------------------------------------------------------------ sounds


def data_dir_of(files: Mapping[str, ConfFile], given: Path | None) -> Path | None:
    if given is not None:
        return given
    conf = files.get("asterisk.conf")
    section = conf.first("directories") if conf is not None else None
    value = section.value("astdatadir") if section is not None else ""
    return Path(value) if value else None


def _no_data_dir(inp: Inputs, what: str) -> list[Finding]:
    return [Finding(inp.path("asterisk.conf"), 0, f"{what} not checked: no astdatadir known",
                    "pass --data-dir (e.g. /var/lib/asterisk)", Severity.NOTE)]


def check_prompts(inp: Inputs) -> list[Finding]:
    if inp.data_dir is None:
        return _no_data_dir(inp, "prompts")
    sounds = inp.data_dir / "sounds" / inp.settings.agi.sound_prefix
    missing = [k for k in inp.prompt_keys if not (sounds / f"{k}.wav").is_file()]
    if not missing:
        return []
    return [Finding(str(sounds), 0, f"{len(missing)} of {len(inp.prompt_keys)} prompts are not where Asterisk "
                    f"plays them (first: {missing[0]}.wav)",
                    f"run: ivr prompts build --asterisk-dir {inp.data_dir / 'sounds'}")]


def check_moh(inp: Inputs) -> list[Finding]:
    if inp.data_dir is None:
        return _no_data_dir(inp, "music on hold files")
    findings = []
    for section in inp.file("musiconhold.conf").resolved():
        if section.name == "general" or section.value("mode", "files") != "files":
            continue
        directory = Path(section.value("directory", "moh"))
        folder = directory if directory.is_absolute() else inp.data_dir / directory
        if not folder.is_dir() or not any(p.is_file() for p in folder.iterdir()):
            findings.append(Finding(section.file, section.line, f"music class {section.name} has no files in "
                                    f"{folder}", "install the music (Debian: asterisk-moh-opsound-wav; a source "
                                    "build: make install) or point 'directory' at yours"))
    return findings


def check_music(inp: Inputs) -> list[Finding]:
    moh = inp.file("musiconhold.conf")
    classes = {s.name for s in moh.resolved()} - {"general"}
    findings = []
    wanted = {inp.settings.agi.moh_class: "IVR_AGI__MOH_CLASS"} | {
        q.music_class: f"queue {q.name}'s music_class" for q in inp.queues.values()}
    for name, who in sorted(wanted.items()):
        if name not in classes:
            findings.append(Finding(inp.path("musiconhold.conf"), 0, f"no music class [{name}] ({who})",
                                    f"add [{name}] with mode = files"))
    for section in moh.resolved():
        entry = section.get("random")
        if entry is not None:
            findings.append(Finding(entry.file, entry.line, "'random' is deprecated", "use 'sort = random'"))
    return findings


def check_indications(inp: Inputs) -> list[Finding]:
    conf = inp.files.get("indications.conf")
    if conf is None:
        return []  # reported as a missing file
    general = conf.first("general")
    country = general.value("country") if general is not None else ""
    if not country or conf.first(country) is None:
        return [Finding(inp.path("indications.conf"), general.line if general else 0,
                        f"default country {country or '(none)'} has no tone zone: callers hear silence where "
                        "Asterisk should play ringback", "set [general] country to a zone defined in this file")]
    return []


def check_additions(inp: Inputs) -> list[Finding]:
    """``[x](+)`` adds to an earlier ``[x]``, ``#include`` names a file: without them Asterisk
    refuses the whole file."""
    findings = []
    for name, conf in sorted(inp.files.items()):
        for inc in conf.includes:
            if inc.key == "#include" and not (Path(conf.path).parent / inc.value).is_file():
                findings.append(Finding(inc.file, inc.line, f"#include {inc.value}: no such file, Asterisk refuses "
                                        f"to load {name}", f"copy Puente's dialplan/asterisk/{inc.value}"))
        seen: set[str] = set()
        for section in conf.sections:
            if section.inherits == ("+",) and section.name not in seen:
                findings.append(Finding(section.file, section.line, f"[{section.name}](+) adds to a section "
                                        f"{name} does not define: Asterisk refuses to load {name}",
                                        "define it first, or render the secrets again (ivr asterisk render DIR "
                                        "--secrets writes only the current agents)"))
            seen.add(section.name)
    return findings


ALL_CHECKS = (check_additions, check_modules, check_addresses, check_originate, check_agents, check_codecs,
              check_queues, check_manager, check_music, check_indications, check_prompts, check_moh)


Check = Callable[[Inputs], list[Finding]]


def run_checks(inp: Inputs, checks: Iterable[Check] = ALL_CHECKS) -> list[Finding]:
    findings = list(inp.read_errors)
    for check in checks:
        findings += check(inp)
    return findings


def problems(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity is Severity.PROBLEM]
